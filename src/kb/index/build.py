"""`kb index`: bring the index in line with the corpus, touching only what changed."""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kb import analysis
from kb.enrich.copies import copy_groups, signature
from kb.enrich.sidecar import read_sidecar, sidecar_path
from kb.errors import ExtractError, IndexDamaged, KbError
from kb.extract import Document, extract_many, iter_files, scan_corpus
from kb.extract.consultations import is_consultations_file, read_consultations
from kb.index import _engine as engine
from kb.index import access, store
from kb.index._schema import version as schema_version
from kb.index.lock import WriteLock
from kb.index.manifest import FILE as MANIFEST_FILE
from kb.index.manifest import Entry, Manifest
from kb.index.records import consultation_records, doc_id_for, enrich_document, passage_records
from kb.names import display, dumps, readable
from kb.procs import forked_children_die_with_parent
from kb.progress import Events, Progress, Silent
from kb.segment import segment

# Bump when extraction output changes, so cached extractions are not reused.
EXTRACT_CACHE = "extract-v5"   # v5: PDF columns a few pt apart, tables not split (v4: legal-database notes)
# Above this many bytes of changed files, the index is written by all cores.
BULK_BYTES = 2_000_000


@dataclass
class Report:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)   # bad rows of record files ("path, строка N: ...")
    skipped: list[tuple[str, str]] = field(default_factory=list)   # not regular files inside the corpus
    repaired: list[str] = field(default_factory=list)   # damage found in the index and mended
    # Doubts about who may see a document (an unreadable sidecar or rules file): each hides
    # documents from anonymous visitors until fixed, and is reported at every run (access.problems).
    access_errors: list[tuple[str, str]] = field(default_factory=list)
    unchanged: int = 0
    passages: int = 0
    # Scans: pages read by OCR in the documents written by this run, and in how many files.
    ocr_pages: int = 0
    ocr_files: int = 0
    rebuilt: str | None = None      # why the whole index was rebuilt, if it was
    # The collection after the run (access.counts): files, documents, staff-only, passages.
    collection: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        """Files not indexed, and files indexed but hidden for a doubt about their access."""
        return len(self.failed) + len(self.access_errors)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.renamed)

    def lines(self) -> list[str]:
        d = display
        out = [f"восстановлено: {r}" for r in self.repaired]
        if self.rebuilt:
            out.append(f"Полная перестройка индекса: {self.rebuilt}")
        out += [f"добавлен: {d(p)}" for p in self.added]
        out += [f"обновлён: {d(p)}" for p in self.updated]
        out += [f"переименован: {d(old)} -> {d(new)}" for old, new in self.renamed]
        out += [f"удалён: {d(p)}" for p in self.removed]
        out += [f"пропущен: {d(p)}: {why}" for p, why in self.skipped]
        out += [f"ошибка: {d(p)}: {d(why)}" for p, why in self.failed]
        out += [f"предупреждение: {d(w)}" for w in self.warnings]
        out += [access_error_line(p, why) for p, why in self.access_errors]
        if self.ocr_pages:
            out.append(f"Распознано (OCR): страниц {self.ocr_pages} в файлах: {self.ocr_files}")
        out.append(
            f"Итого файлов: добавлено {len(self.added)}, обновлено {len(self.updated)}, "
            f"переименовано {len(self.renamed)}, удалено {len(self.removed)}, "
            f"без изменений {self.unchanged}, пропущено {len(self.skipped)}, ошибок {self.errors}; "
            f"фрагментов записано {self.passages}; {self.seconds:.1f} с"
        )
        if self.collection:
            out.append(collection_line(self.collection))
        return out

    def to_json(self) -> dict:
        d = readable        # JSON carries newlines; names with bad bytes as text
        return {"added": [d(p) for p in self.added], "updated": [d(p) for p in self.updated],
                "removed": [d(p) for p in self.removed],
                "renamed": [[d(a), d(b)] for a, b in self.renamed],
                "failed": [{"path": d(p), "reason": d(r)} for p, r in self.failed],
                "skipped": [{"path": d(p), "reason": r} for p, r in self.skipped],
                "warnings": [d(w) for w in self.warnings], "repaired": self.repaired,
                "access_errors": [{"path": d(p), "reason": d(r)} for p, r in self.access_errors],
                "errors": self.errors,
                "unchanged": self.unchanged, "passages": self.passages,
                "ocr": {"pages": self.ocr_pages, "files": self.ocr_files},
                "rebuilt": self.rebuilt, "seconds": round(self.seconds, 2), "collection": self.collection}


def access_error_line(path: str, why: str) -> str:
    """One doubt about access, as `kb index` and `kb check` both say it."""
    return f"ошибка доступа: {display(path)}: {display(why)} — документ скрыт от посетителей без входа"


def collection_line(c: dict) -> str:
    """The collection in the words the home page and `kb check` use too."""
    staff = f" (из них только для сотрудников: {c['staff']})" if c.get("staff") else ""
    return (f"В индексе: документов {c['documents']}{staff}, фрагментов {c['passages']}; "
            f"файлов {c['files']}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ExtractCache:
    """Extraction results by content hash: a new analyzer re-indexes without re-reading PDFs."""

    def __init__(self, index_dir: Path):
        self.dir = Path(index_dir) / "cache" / EXTRACT_CACHE
        self.damaged: list[str] = []

    def _file(self, sha: str) -> Path:
        return self.dir / sha[:2] / f"{sha}.json"

    def get(self, sha: str, path: Path) -> Document | None:
        """The cached extraction, or None; a damaged entry is removed (`self.damaged` counts)."""
        f = self._file(sha)
        try:
            text = f.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError):
            return self._drop(f)
        doc = _cached_document(text, sha)
        if doc is None:
            return self._drop(f)
        doc.path = path
        return doc

    def _drop(self, f: Path) -> None:
        self.damaged.append(f.name[:12])
        try:
            f.unlink()
        except OSError:
            pass
        return None

    def put(self, doc: Document) -> None:
        f = self._file(doc.sha256)
        f.parent.mkdir(parents=True, exist_ok=True)
        tmp = f.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(dumps(doc.to_json()), encoding="utf-8")
        os.replace(tmp, f)

    def entries(self) -> list[Path]:
        return sorted(self.dir.glob("*/*.json")) if self.dir.is_dir() else []

    def check(self) -> list[str]:
        """Names of entries that are not sound extractions of their hash (for `kb check`)."""
        bad = []
        for f in self.entries():
            try:
                ok = _cached_document(f.read_text(encoding="utf-8"), f.stem) is not None
            except (OSError, UnicodeDecodeError):
                ok = False
            if not ok:
                bad.append(f.name)
        return bad


def _cached_document(text: str, sha: str) -> Document | None:
    """The document of a cache entry when it has the shape `Document.to_json` writes."""
    try:
        data = json.loads(text)
        doc = Document.from_json(data)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if doc.sha256 != sha or not isinstance(doc.format, str) or not isinstance(doc.title, str) \
            or not all(isinstance(p, str) for p in doc.pages) or not isinstance(doc.size, int) \
            or not all(isinstance(x, list) for x in (doc.warnings, doc.needs_ocr, doc.headings, doc.dates)) \
            or not all(0 < n <= len(doc.pages) for n in doc.ocr):
        return None
    return doc


def verify(index_dir: Path, deep: bool = True) -> list[str]:
    """What is wrong with the published index: its pointer, files against their seal, what
    whoosh reads (TOC, segments, passage count) and the manifest's shape. [] when sound or
    when there is no index at all (see `store.current`)."""
    index_dir = Path(index_dir)
    gen = store.current(index_dir)
    if gen is None:
        if (index_dir / store.CURRENT).exists():
            return [f"{store.CURRENT} указывает на отсутствующее поколение индекса (dangling pointer)"]
        return []
    problems = store.check_files(gen, deep=deep)
    if not problems:
        problems = engine.check_generation(gen)
    try:
        Manifest.read(gen / MANIFEST_FILE)
    except IndexDamaged as e:
        problems.append(str(e))
    return problems


def _rebuild_reason(index_dir: Path, man: Manifest, corpus: Path, damage: list[str]) -> str | None:
    if damage:
        return "индекс повреждён (что именно, см. «восстановлено»), он построен заново из документов (damaged index)"
    if not engine.exists(index_dir):
        if store.has_legacy_files(index_dir):
            return "индекс записан прежней версией kb (old index layout)"
        return "индекса ещё нет (new index)" if man.files else None
    if man.version != schema_version():
        was = man.version or "неизвестна"
        return f"изменилась версия схемы или анализатора: {was} -> {schema_version()}"
    if man.corpus and man.corpus != str(corpus.resolve()):
        return f"другая папка документов: {man.corpus} -> {corpus.resolve()}"
    return None


def update_index(corpus: Path, index_dir: Path, *, workers: int | None = None,
                 show_progress: bool = True, stream=None, rebuild: bool = False,
                 events: bool = False) -> Report:
    """Index new and changed files of `corpus`, drop deleted ones; one writer at a time.

    The index is checked first and rebuilt when damaged; the changes go into a new
    generation published at the end (kb.index.store), so readers never see a half-written
    index and a killed run changes nothing."""
    t0 = time.monotonic()
    corpus, index_dir = Path(corpus), Path(index_dir)
    if not corpus.is_dir():
        raise ExtractError(corpus, "папка документов не найдена (corpus folder not found)")
    stream = stream or sys.stderr
    workers = workers or os.cpu_count() or 1
    forked_children_die_with_parent()      # whoosh's writer processes, when we are killed
    report = Report()
    with WriteLock(index_dir):
        left = store.discard_unpublished(index_dir)
        if left:
            report.repaired.append(f"удалены остатки прерванной индексации ({', '.join(left)})")
        damage = verify(index_dir)
        try:
            man = Manifest.load(index_dir) if not damage else Manifest()
        except IndexDamaged as e:       # pragma: no cover - verify() has read it already
            damage, man = [str(e)], Manifest()
        report.repaired += damage
        report.rebuilt = _rebuild_reason(index_dir, man, corpus, damage) or (
            "по запросу (--rebuild)" if rebuild and store.current(index_dir) else None)
        base = store.current(index_dir)
        # The dates documents were added survive a rebuild, even of a damaged index when its
        # manifest can still be read.
        previous = man if man.files else _readable_manifest(index_dir)
        if report.rebuilt or base is None:
            man, base = Manifest(), None
        man.version, man.corpus = schema_version(), str(corpus.resolve())
        _apply(corpus, index_dir, man, base, report, workers,
               Events if events else Progress if show_progress else Silent, stream, previous)
        report.access_errors = access.problems(corpus=corpus, man=man)
        report.collection = access.counts(man)
    engine.forget_readers()
    report.seconds = time.monotonic() - t0
    return report


def _readable_manifest(index_dir: Path) -> Manifest:
    gen = store.current(index_dir)
    try:
        return Manifest.read(gen / MANIFEST_FILE) if gen else Manifest()
    except IndexDamaged:
        return Manifest()


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _run_stamp(previous: Manifest) -> str:
    """The date added given by this run: now, or a second after the newest date the collection
    already holds, so that a run's documents sort after an earlier run's even within one
    second (the Atom feed and saved searches order by it; stamps are whole seconds)."""
    now = now_utc()
    stamps = [e.added for e in previous.files.values()]
    stamps += [r.get("added") or "" for e in previous.files.values() for r in e.meta.get("records") or ()]
    newest = max(stamps, default="")
    if newest < now:
        return now
    try:
        t = calendar.timegm(time.strptime(newest, "%Y-%m-%dT%H:%M:%SZ")) + 1
    except ValueError:
        return now
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _date_added(man: Manifest, previous: Manifest, current: set[str], now: str) -> bool:
    """Give every entry (and consultation record) without one the date it was added: its own
    from the previous manifest, a renamed file's from its old path (same content, old path
    gone), else `now`. True when some entry got one."""
    by_rel = {rel: e for rel, e in previous.files.items()}
    moved = {e.sha256: e for rel, e in previous.files.items() if rel not in current}
    changed = False
    for rel, e in man.files.items():
        old = by_rel.get(rel) or moved.get(e.sha256)
        if not e.added:
            e.added = (old.added if old else "") or now
            changed = True
        records = e.meta.get("records")
        if records:
            # Records by their own id: the same in a renamed file (their doc ids are not).
            old_rec = {_record_id(r): r.get("added", "") for r in (old.meta.get("records") or [])} if old else {}
            for r in records:
                if not r.get("added"):
                    r["added"] = old_rec.get(_record_id(r)) or (now if old else e.added)
                    changed = True
    return changed


def _record_id(r: dict) -> str:
    return str((r.get("meta", {}).get("consultation") or {}).get("id") or r["doc_id"])


def _apply(corpus: Path, index_dir: Path, man: Manifest, base: Path | None, report: Report,
           workers: int, progress, stream, previous: Manifest | None = None) -> None:
    """Compare the corpus with the manifest; write what changed into a new generation."""
    previous = Manifest(files=dict(man.files)) if previous is None or previous is man else previous
    now = _run_stamp(previous)
    scan = scan_corpus(corpus)
    report.skipped = [(_rel(p, corpus), why) for p, why in scan.skipped]
    current = {p.relative_to(corpus).as_posix(): p for p in scan.files}
    todo: list[tuple[str, Path, str]] = []          # rel, path, sha
    stamps: dict[str, str] = {}
    touched = False
    for rel, path in current.items():
        st = path.stat()
        e = man.files.get(rel)
        stamps[rel] = stamp = sidecar_stamp(path)
        if _looks_unchanged(e, st, stamp):
            report.unchanged += 1
            continue
        sha = _sha256(path)
        if e and e.sha256 == sha and e.sidecar == stamp:
            e.mtime = st.st_mtime
            report.unchanged += 1
            touched = True
            continue
        todo.append((rel, path, sha))
    gone = [rel for rel in man.files if rel not in current]
    if base is not None and not todo and not gone:
        # Nothing to write to the index: the manifest alone takes the new file times (and
        # the dates added of entries from a manifest older than them).
        if _date_added(man, previous, set(current), now) or touched:
            man.save(index_dir)
        return
    gen = store.new_generation(index_dir, base)
    try:
        ix = engine.open_dir(gen) if base is not None else engine.create(gen)
        _write(corpus, index_dir, ix, man, todo, gone, stamps, report, workers, progress, stream)
        link_copies(man)
        _date_added(man, previous, set(current), now)
        man.write(gen / MANIFEST_FILE)
        store.publish(index_dir, gen, engine.passage_count(gen))
    except BaseException:
        store.discard(gen)
        raise


def _rel(path: Path, corpus: Path) -> str:
    try:
        return Path(path).relative_to(corpus).as_posix()
    except ValueError:
        return str(path)


def _write(corpus, index_dir, ix, man: Manifest, todo, gone, stamps, report: Report, workers: int,
           progress, stream) -> None:
    gone_by_sha = {man.files[rel].sha256: rel for rel in gone}
    cache = ExtractCache(index_dir)
    bulk = sum(path.stat().st_size for _, path, _ in todo) > BULK_BYTES
    writer = engine.Writer(ix, bulk=bulk)
    try:
        for rel in gone:
            _delete(writer, man.files[rel])
        # Files of consultation records are read here, not by the extractors.
        record_files = {rel for rel, path, _ in todo if is_consultations_file(path)}
        docs: dict[str, Document] = {}
        missing = []
        for rel, path, sha in todo:
            if rel in record_files:
                continue
            doc = cache.get(sha, path)
            if doc is None:
                missing.append(path)
            else:
                docs[rel] = doc
        report.repaired += [f"кэш извлечения: запись {sha} повреждена, файл извлечён заново"
                            for sha in cache.damaged]
        bar = progress(len(todo), "Индексация", stream)
        for rel in list(docs) + sorted(record_files):
            bar.step(display(rel))
        by_path = {path: rel for rel, path, _ in todo}
        for path, res in extract_many(missing, workers=min(workers, max(1, len(missing)))):
            rel = by_path[path]
            bar.step(display(rel))
            if isinstance(res, ExtractError):
                report.failed.append((rel, res.reason))
                continue
            if not res.needs_ocr:
                # Pages left unread (no Tesseract, KB_OCR=0, out of time) are not cached, so
                # that `kb index --rebuild` once the cause is gone reads them.
                cache.put(res)
            docs[rel] = res
        bar.close()
        for rel, path, sha in todo:
            if rel in record_files:
                records = _read_records(rel, path, report)
                if records is None:
                    continue
            else:
                doc = docs.get(rel)
                if doc is None:
                    continue      # failed: whatever was indexed for it stays
            old = man.files.get(rel)
            if old:
                _delete(writer, old)
                report.updated.append(rel)
            elif sha in gone_by_sha:
                report.renamed.append((gone_by_sha.pop(sha), rel))
            else:
                report.added.append(rel)
            if rel in record_files:
                report.passages += _add_records(writer, man, rel, path, sha, *records)
            else:
                report.passages += _add_document(writer, man, corpus, rel, doc)
                _report_scans(report, rel, doc)
            man.files[rel].sidecar = stamps[rel]
        renamed_from = {old for old, _ in report.renamed}
        for rel in gone:
            if rel not in renamed_from:
                report.removed.append(rel)
            man.files.pop(rel, None)
        man.failed = dict(report.failed)
        writer.commit()
    except BaseException:
        writer.cancel()
        raise


def is_stale(corpus: Path, index_dir: Path) -> bool:
    """True when the index is missing, of another version, or the corpus has changed files."""
    if not engine.exists(Path(index_dir)):
        return True
    try:
        man = Manifest.load(Path(index_dir))
    except IndexDamaged:
        return True
    if man.version != schema_version():
        return True
    corpus = Path(corpus)
    current = {p.relative_to(corpus).as_posix(): p for p in iter_files(corpus)}
    # Files that failed stay out of the manifest: they make the index stale only when new.
    if set(current) - set(man.files) - set(man.failed) or set(man.files) - set(current):
        return True
    # A file that failed counts again once it was changed after the last run (fixed in place).
    written = (store.current(Path(index_dir)) / MANIFEST_FILE).stat().st_mtime
    if any(current[rel].stat().st_mtime > written for rel in man.failed if rel in current):
        return True
    return not all(_looks_unchanged(e, current[rel].stat(), sidecar_stamp(current[rel]))
                   for rel, e in man.files.items())


def _looks_unchanged(e: Entry | None, st: os.stat_result, stamp: str) -> bool:
    """Same size, mtime and sidecar as when indexed: unchanged, without reading the file."""
    return e is not None and e.size == st.st_size and e.mtime == st.st_mtime and e.sidecar == stamp


def sidecar_stamp(path: Path) -> str:
    """The document's sidecar file with its size and mtime ("" when it has none)."""
    side = sidecar_path(path)
    if side is None:
        return ""
    try:
        st = side.stat()
    except OSError:
        return ""
    return f"{side.name}:{st.st_size}:{st.st_mtime}"


def _add_document(writer, man: Manifest, corpus: Path, rel: str, doc: Document) -> int:
    shown = readable(rel)       # the index stores names as text; the manifest the real one
    doc.title = readable(doc.title)
    seg = segment(doc)
    info = enrich_document(doc, shown, corpus, seg)
    sig = signature(doc.text)
    if sig:
        info["meta"]["minhash"] = sig
    langs = languages(seg)
    if langs:
        info["meta"]["lang"] = langs
    if doc.ocr:
        # Shown on the document's page: its text was recognised, with what confidence.
        info["meta"]["ocr"] = {"pages": sorted(doc.ocr), "of": doc.page_count,
                               "confidence": round(sum(doc.ocr.values()) / len(doc.ocr), 1)}
    doc_id = doc_id_for(rel)
    n = 0
    for rec in passage_records(doc_id, shown, doc, seg, info):
        writer.add_passage(rec)
        n += 1
    man.files[rel] = Entry(
        doc_id=doc_id, size=doc.size, mtime=doc.mtime, sha256=doc.sha256, title=info["title"],
        format=doc.format, doc_type=info["doc_type"], year=info["year"], pages=doc.page_count,
        passages=n, warnings=doc.warnings, meta=info["meta"],
    )
    return n


def languages(seg) -> list[str]:
    """The languages of a document's passages, for the language facet: "ky" for passages
    kb.analysis judges Kyrgyz (the same judgement that chose their index terms), "ru" for
    the others; a language of under a tenth of the passages of a long document is noise
    (a Kyrgyz name quoted in a Russian code)."""
    texts = [p.text for p in seg.passages if p.text.strip()]
    if not texts:
        return []
    ky = sum(1 for t in texts if analysis.is_kyrgyz(t))
    share = ky / len(texts)
    out = []
    if ky and (share >= 0.1 or len(texts) < 10):
        out.append("ky")
    if ky < len(texts) and (1 - share >= 0.1 or len(texts) < 10):
        out.append("ru")
    return out


def _report_scans(report: Report, rel: str, doc: Document) -> None:
    """Say what OCR did: pages recognised are counted; the warnings of a document with
    scanned pages (empty, low confidence, unread) or with no text at all are listed, so a
    scan is never indexed as a silent success."""
    if doc.ocr:
        report.ocr_pages += len(doc.ocr)
        report.ocr_files += 1
    if doc.ocr or doc.needs_ocr or not any(p.strip() for p in doc.pages):
        report.warnings += [f"{rel}: {w}" for w in doc.warnings]
        if not doc.warnings:
            report.warnings.append(f"{rel}: в документе не найдено текста")


def link_copies(man: Manifest) -> None:
    """Mark the documents that are copies of one another (the same act as DOCX and HTML):
    each gets `meta["copies"]`, the doc ids of the others, from the MinHash signatures kept
    in the manifest (kb.enrich.copies). Recomputed over the whole collection at every run,
    so a copy added or removed later updates its twin too."""
    by_id = {e.doc_id: e for e in man.files.values() if "records" not in e.meta}
    for e in by_id.values():
        e.meta.pop("copies", None)
    for group in copy_groups({d: e.meta.get("minhash") for d, e in by_id.items()}):
        for d in group:
            by_id[d].meta["copies"] = [o for o in group if o != d]


def _delete(writer, entry: Entry) -> None:
    """Remove a file's passages from the index: its own, or those of each of its records."""
    writer.delete_doc(entry.doc_id)
    for r in entry.meta.get("records", []):
        writer.delete_doc(r["doc_id"])


def _read_records(rel: str, path: Path, report: Report):
    """(records, errors) of a consultations file; bad rows become warnings with their line numbers."""
    try:
        records, errors = read_consultations(path)
    except OSError as e:
        report.failed.append((rel, f"не удаётся прочитать файл: {e.strerror}"))
        return None
    report.warnings += [f"{rel}, {e}" for e in errors]
    if not records:
        why = "; ".join(str(e) for e in errors[:3]) or "нет записей"
        report.failed.append((rel, f"ни одной корректной записи консультации ({why})"))
        return None
    return records, errors


def _add_records(writer, man: Manifest, rel: str, path: Path, sha: str, records, errors) -> int:
    """A file of consultation records: each record its own document (doc id from path + record id)."""
    st = path.stat()
    n, kept = 0, []
    for doc_id, info, seg in consultation_records(rel, records):
        count = 0
        for rec in passage_records(doc_id, rel, None, seg, info):
            writer.add_passage(rec)
            count += 1
        n += count
        kept.append({"doc_id": doc_id, "title": info["title"], "doc_type": info["doc_type"],
                     "year": info["year"], "passages": count, "meta": info["meta"]})
    man.files[rel] = Entry(
        doc_id=doc_id_for(rel), size=st.st_size, mtime=st.st_mtime, sha256=sha, title=Path(rel).name,
        format=path.suffix.lower().lstrip("."), doc_type="консультация", year=None, pages=0, passages=n,
        warnings=[str(e) for e in errors], meta={"records": kept, **_file_access(path)},
    )
    return n


def _file_access(path: Path) -> dict:
    """The `access` of a consultations file's sidecar ({"access": ...} or {}): its records are
    staff documents unless the file says otherwise (kb.index.access)."""
    try:
        value = read_sidecar(path).get("access")
    except KbError as e:
        # A sidecar that cannot be read never opens the records; reported like a document's.
        return {"access": "staff", "access_error": f"{Path(getattr(e, 'path', path)).name}: {getattr(e, 'reason', e)}"}
    return {"access": value} if value else {}
