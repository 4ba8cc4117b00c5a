"""`kb check`: the state of an index, read without changing anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import IndexDamaged, KbError
from kb.extract import iter_files
from kb.index import _engine as engine
from kb.index import access, replica, store
from kb.index.build import (ExtractCache, _looks_unchanged, access_error_line, collection_line, sidecar_stamp,
                            verify)
from kb.index.manifest import Manifest
from kb.names import display


@dataclass
class Health:
    index_dir: str
    generation: str | None = None
    passages: int | None = None
    documents: int = 0
    collection: dict = field(default_factory=dict)      # access.counts(): files, documents, staff, passages
    problems: list[str] = field(default_factory=list)
    legacy: bool = False                 # written by a kb before generations: `kb index` rebuilds it
    unpublished: list[str] = field(default_factory=list)   # a running or killed writer's folders
    cache_entries: int = 0
    cache_damaged: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)        # corpus files not in the index
    changed: list[str] = field(default_factory=list)    # size, time or sidecar differ
    removed: list[str] = field(default_factory=list)    # indexed, gone from the corpus
    failed: dict[str, str] = field(default_factory=dict)
    # Doubts about who may see a document (kb.index.access.problems): each hides documents.
    access_errors: list[tuple[str, str]] = field(default_factory=list)
    vectors: dict | None = None          # kb.index.vectors.health(); None: the semantic layer is off
    follow: dict | None = None           # a follower's lag (kb.index.replica.lag); None: not a follower

    @property
    def vectors_state(self) -> str:
        """"off", "damaged", "ready", "building" or "missing" (not built for this generation)."""
        v = self.vectors
        if v is None:
            return "off"
        if v["problems"]:
            return "damaged"
        if v["ready"]:
            return "ready"
        return "building" if v["building"] else "missing"

    @property
    def state(self) -> str:
        if self.problems:
            return "damaged"
        if self.generation is None:
            return "missing"
        if self.new or self.changed or self.removed:
            return "stale"
        if self.access_errors:
            return "access"
        return "ok"

    def lines(self) -> list[str]:
        out = [f"Индекс: {self.index_dir}"]
        if self.generation:
            out.append(f"Поколение: {self.generation}")
            out.append(collection_line({**self.collection, "passages": "?" if self.passages is None else self.passages}
                                       if self.collection else {"documents": self.documents, "files": "?",
                                                                "passages": self.passages or "?"}))
        elif self.legacy:
            out.append("Индекс записан прежней версией kb: `kb index` перестроит его")
        else:
            out.append("Индекса нет: выполните `kb index`")
        out += [f"повреждение: {p}" for p in self.problems]
        if self.unpublished:
            out.append(f"незавершённая индексация: {', '.join(self.unpublished)} "
                       "(идёт сейчас, или её остатки удалит следующий `kb index`)")
        out.append(f"Кэш извлечения: записей {self.cache_entries}, повреждённых {len(self.cache_damaged)}")
        out += [f"повреждена запись кэша: {n}" for n in self.cache_damaged[:20]]
        if self.generation:
            out.append(f"Папка документов: новых {len(self.new)}, изменённых {len(self.changed)}, "
                       f"удалённых {len(self.removed)}")
            for label, names in (("новый", self.new), ("изменён", self.changed), ("удалён", self.removed)):
                out += [f"  {label}: {display(n)}" for n in names[:20]]
        out += [f"не проиндексирован (ошибка при последнем запуске): {display(p)}: {r}" for p, r in self.failed.items()]
        out += [access_error_line(p, r) for p, r in self.access_errors]
        out += self.vector_lines()
        out += self.follow_lines()
        verdict = {"ok": "в порядке", "stale": "в порядке, но папка документов изменилась: выполните `kb index`",
                   "missing": "индекса нет",
                   "access": "в порядке, но есть ошибки доступа (см. выше): исправьте файлы метаданных "
                             "или правил, до тех пор эти документы видят только сотрудники",
                   "damaged": "ПОВРЕЖДЁН: `kb index` восстановит его из документов"}
        out.append(f"Состояние: {verdict[self.state]}")
        return out

    def follow_lines(self) -> list[str]:
        f = self.follow
        if f is None:
            return []
        behind = f.get("behind")
        since = f.get("since_success")
        out = [f"Копия индекса сервера-индексатора {f.get('indexer')}: "
               + ("отставание неизвестно" if behind is None else
                  "поколение то же, что у индексатора" if behind == 0 else f"отстаёт на {behind} покол.")
               + ("; успешной синхронизации ещё не было" if since is None else
                  f"; последняя успешная синхронизация {since:.0f} с назад")]
        if f.get("last_error"):
            out.append(f"  последняя ошибка: {f['last_error']}")
        return out

    def vector_lines(self) -> list[str]:
        v = self.vectors
        if v is None:
            return ["Векторы смысла: выключены (KB_EMBEDDER=off)"]
        state = self.vectors_state
        head = f"Векторы смысла ({v['model']}): "
        if state == "ready":
            head += f"готовы: {v['with_vectors']} из {v.get('with_text', v['passages'])} фрагментов"
        elif state == "building":
            b = v["building"]
            head += (f"строятся: готово {b['done']} из {b['total']} фрагментов{minutes_left(b.get('minutes_left'))} "
                     "(поиск пока по словам; `kb index` продолжит)")
        elif state == "missing":
            head += "не построены для этого поколения (поиск по словам; выполните `kb index`)"
        else:
            head += "ПОВРЕЖДЕНЫ: поиск только по словам; `kb index` построит недостающие заново"
        out = [head]
        if v["stale"] or v["old_maps"]:
            out.append(f"  устаревших векторов {v['stale']}, карт прежних поколений {v['old_maps']} "
                       "(удаляются при следующем слиянии)")
        out += [f"  {p}" for p in v["problems"]]
        graph = v.get("graph")
        if graph:
            out.append({"ready": "  приближённый индекс (HNSW): построен",
                        "due": "  приближённый индекс (HNSW) ещё не построен: поиск по смыслу точный, "
                               "медленнее; `kb index` построит его",
                        "damaged": "  приближённый индекс (HNSW) не читается: поиск по смыслу точный; "
                                   "`kb index` построит его заново"}[graph])
        return out

    def to_json(self) -> dict:
        return {"state": self.state, "vectors_state": self.vectors_state, "vectors": self.vectors, "index": self.index_dir, "generation": self.generation,
                "passages": self.passages, "documents": self.documents, "collection": self.collection,
                "problems": self.problems, "follow": self.follow,
                "legacy": self.legacy, "unpublished": self.unpublished,
                "cache": {"entries": self.cache_entries, "damaged": self.cache_damaged},
                "corpus": {"new": [display(p) for p in self.new], "changed": [display(p) for p in self.changed],
                           "removed": [display(p) for p in self.removed]},
                "failed": [{"path": display(p), "reason": r} for p, r in self.failed.items()],
                "access_errors": [{"path": display(p), "reason": r} for p, r in self.access_errors]}


def _vectors(index_dir: Path) -> dict | None:
    from kb.analysis import embed
    from kb.index import vectors

    try:
        key = embed.configured_key()
    except KbError as e:
        return {"model": "?", "ready": False, "building": None, "passages": None, "with_vectors": 0,
                "stored": 0, "stale": 0, "old_maps": 0, "problems": [str(e)]}
    if key is None:
        return None
    try:
        return vectors.health(index_dir, key)
    except Exception as e:      # noqa: BLE001 - whatever the files hold, one line
        return {"model": key, "ready": False, "building": None, "passages": None, "with_vectors": 0,
                "stored": 0, "stale": 0, "old_maps": 0,
                "problems": [f"векторы не читаются: {type(e).__name__}: {e}"[:300]]}


def check(corpus: Path | None, index_dir: Path) -> Health:
    """Verify the published generation (files by hash, whoosh, manifest), the extraction
    cache, and compare the manifest with the corpus folder (by size and time, no hashing)."""
    index_dir = Path(index_dir)
    h = Health(index_dir=str(index_dir))
    gen = store.current(index_dir)
    h.legacy = gen is None and store.has_legacy_files(index_dir)
    h.problems = verify(index_dir, deep=True)
    cur_n = int(gen.name[1:]) if gen else 0
    h.unpublished = [d.name for n, d in store.generations(index_dir) if n > cur_n]
    cache = ExtractCache(index_dir)
    h.cache_entries = len(cache.entries())
    h.cache_damaged = cache.check()
    h.vectors = _vectors(index_dir)
    h.follow = replica.lag(replica.read_state(index_dir), index_dir)
    if gen is None:
        return h
    h.generation = gen.name
    try:
        h.passages = engine.passage_count(gen)
    except Exception:       # noqa: BLE001 - already among the problems verify() found
        h.passages = None
    try:
        man = Manifest.load(index_dir)
    except IndexDamaged:
        return h
    h.collection = access.counts(man)
    h.documents = h.collection["documents"]
    h.failed = dict(man.failed)
    h.access_errors = access.problems(corpus=corpus or man.corpus, man=man)
    if corpus is not None and Path(corpus).is_dir():
        corpus = Path(corpus)
        files = {p.relative_to(corpus).as_posix(): p for p in iter_files(corpus)}
        for rel, path in files.items():
            e = man.files.get(rel)
            if e is None:
                if rel not in man.failed:
                    h.new.append(rel)
            elif not _looks_unchanged(e, path.stat(), sidecar_stamp(path)):
                h.changed.append(rel)
        h.removed = [rel for rel in man.files if rel not in files]
    return h


def minutes_left(m) -> str:
    """", осталось ~N мин" from the builder's pace, or "" before it has one."""
    if m is None:
        return ""
    return ", осталось меньше минуты" if m < 1 else f", осталось ~{round(m)} мин"
