"""Records of legal consultations: CSV, JSON Lines, or Markdown files with a front-matter header.

Each record: date, question, answer, category, region, and optionally lawyer, acts (the
acts and articles the answer relies on), id and title. Column and key names may be English
or Russian (`вопрос`, `ответ`, `дата`, `категория`, `регион`, `юрист`, `акты`). A bad row is
reported with its line number and skipped; the good rows are read (docs/consultations.md).

    is_consultations_file(path) -> bool
    read_consultations(path)    -> (records, errors)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date as Date
from pathlib import Path

RECORD_SUFFIXES = {".csv", ".jsonl", ".ndjson"}
MAX_FIELD_CHARS = 50_000

ALIASES = {
    "question": "question", "вопрос": "question",
    "answer": "answer", "ответ": "answer",
    "date": "date", "дата": "date",
    "category": "category", "категория": "category", "тема": "category",
    "region": "region", "регион": "region", "область": "region",
    "lawyer": "lawyer", "юрист": "lawyer", "консультант": "lawyer",
    "acts": "acts", "акты": "acts", "нормы": "acts", "cited_acts": "acts",
    "id": "id", "номер": "id", "№": "id",
    "title": "title", "заголовок": "title",
    "type": "type", "тип": "type",
}


@dataclass
class Consultation:
    id: str
    line: int                       # first line of the record in its file (1-based)
    question: str
    answer: str
    date: str | None = None         # ISO: 2023-05-16, 2023-05 or 2023
    category: str = ""
    region: str = ""
    lawyer: str = ""
    acts: list[str] = field(default_factory=list)
    title: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date else None

    def to_json(self) -> dict:
        return {"id": self.id, "line": self.line, "date": self.date, "question": self.question,
                "answer": self.answer, "category": self.category, "region": self.region,
                "lawyer": self.lawyer, "acts": self.acts, "title": self.title, "extra": self.extra}


@dataclass
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"строка {self.line}: {self.reason}"


class _Bad(ValueError):
    pass


def _key(k) -> str:
    k = str(k or "").strip().lower().lstrip("\ufeff")
    return ALIASES.get(k, k)


def _date(raw) -> str | None:
    s = str(raw or "").strip()
    if not s:
        return None
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", s) or None
    if m:
        y, mo, d = map(int, m.groups())
    elif m := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", s):
        d, mo, y = map(int, m.groups())
    elif m := re.fullmatch(r"(\d{4})-(\d{2})", s):
        y, mo = map(int, m.groups())
        if not 1 <= mo <= 12:
            raise _Bad(f"неверная дата «{s}»")
        return f"{y:04d}-{mo:02d}"
    elif re.fullmatch(r"\d{4}", s):
        return s
    else:
        raise _Bad(f"неверная дата «{s}» (ожидается ГГГГ-ММ-ДД или ДД.ММ.ГГГГ)")
    try:
        return Date(y, mo, d).isoformat()
    except ValueError:
        raise _Bad(f"неверная дата «{s}»") from None


def _acts(raw) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list):
        items = raw
    else:
        items = re.split(r"[;|\n]", str(raw))
    return [" ".join(str(a).split()) for a in items if str(a).strip()]


def _category(raw) -> str:
    """`Жильё` and `жильё` are one category; abbreviations (`НКО`) keep their capitals."""
    words = str(raw or "").split()
    return " ".join(w if len(w) > 1 and w.isupper() else w.lower() for w in words)


def _record(data: dict, line: int) -> Consultation:
    d = {}
    for k, v in data.items():
        if k is None:           # a CSV row with more cells than the header
            raise _Bad("лишние ячейки в строке")
        d[_key(k)] = v
    for k in ("question", "answer"):
        v = d.get(k)
        if not isinstance(v, str) or not v.strip():
            raise _Bad(f"нет поля {'question (вопрос)' if k == 'question' else 'answer (ответ)'}")
        if len(v) > MAX_FIELD_CHARS:
            raise _Bad(f"поле {k} длиннее {MAX_FIELD_CHARS} символов")
    for k, v in d.items():
        if k != "acts" and v is not None and not isinstance(v, (str, int, float)):
            raise _Bad(f"поле {k}: ожидается текст")
    question, answer = d["question"].strip(), d["answer"].strip()
    rid = str(d.get("id") or "").strip()
    if not rid:
        rid = hashlib.sha1(f"{d.get('date') or ''}\n{question}".encode("utf-8")).hexdigest()[:10]
    if not re.fullmatch(r"[\w.-]{1,64}", rid):
        raise _Bad(f"недопустимый id «{rid[:40]}»")
    known = {"question", "answer", "date", "category", "region", "lawyer", "acts", "id", "title", "type"}
    return Consultation(
        id=rid, line=line, question=question, answer=answer, date=_date(d.get("date")),
        category=_category(d.get("category")),
        region=" ".join(str(d.get("region") or "").split()),
        lawyer=" ".join(str(d.get("lawyer") or "").split()),
        acts=_acts(d.get("acts")), title=" ".join(str(d.get("title") or "").split()),
        extra={k: v for k, v in d.items() if k not in known and v not in (None, "")},
    )


def _text(path: Path) -> str:
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1251")


def _has_qa(keys) -> bool:
    ks = {_key(k) for k in keys}
    return {"question", "answer"} <= ks


def _dialect(head: str):
    first = head.splitlines()[0] if head else ""
    delim = max([",", ";", "\t"], key=first.count)
    return delim


def _front_matter(text: str) -> tuple[dict, str, int, list[RowError]] | None:
    """(keys, body, line of the body, errors) of a `---`-headed Markdown file, or None."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    meta, errors = {}, []
    for i, ln in enumerate(lines[1:], start=2):
        if ln.strip() == "---":
            return meta, "\n".join(lines[i:]), i + 1, errors
        if not ln.strip() or ln.lstrip().startswith("#"):
            continue
        k, sep, v = ln.partition(":")
        if not sep or not k.strip():
            errors.append(RowError(i, f"строка заголовка без «ключ: значение»: «{ln.strip()[:60]}»"))
            continue
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        elif v.startswith("[") and v.endswith("]"):
            v = [x.strip().strip("\"'") for x in v[1:-1].split(",") if x.strip()]
        meta[_key(k)] = v
    return None     # no closing ---


_HEAD = re.compile(r"^\s*#{1,6}\s*(вопрос|ответ|question|answer)\s*:?\s*$", re.I)
_LABEL = re.compile(r"^\s*(?:\*\*)?(вопрос|ответ|question|answer)(?:\*\*)?\s*:(?:\*\*)?\s*(.*)$", re.I)


def _md_sections(body: str) -> dict:
    """`## Вопрос` / `## Ответ` sections (or `Вопрос:` / `Ответ:` lines) of a Markdown body."""
    out: dict[str, list[str]] = {}
    cur = None
    for ln in body.splitlines():
        m = _HEAD.match(ln) or _LABEL.match(ln)
        if m:
            cur = _key(m.group(1).lower())
            out.setdefault(cur, [])
            rest = m.group(2).strip() if m.re is _LABEL else ""
            if rest:
                out[cur].append(rest)
            continue
        if cur:
            out[cur].append(ln)
    return {k: "\n".join(v).strip() for k, v in out.items()}


def is_consultations_file(path: Path) -> bool:
    """A CSV/JSONL file whose header or first object has question and answer, or a Markdown
    file whose front matter marks a consultation (type: консультация, or question/answer)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in RECORD_SUFFIXES | {".md"}:
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(64 * 1024)
    except OSError:
        return False
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = head.decode("cp1251", errors="replace")
    if suffix == ".csv":
        first = text.splitlines()[0] if text else ""
        return _has_qa(next(csv.reader([first], delimiter=_dialect(first)), []))
    if suffix in (".jsonl", ".ndjson"):
        for ln in text.splitlines():
            if ln.strip():
                try:
                    obj = json.loads(ln)
                except ValueError:
                    return False
                return isinstance(obj, dict) and _has_qa(obj)
        return False
    fm = _front_matter(text)
    if fm is None:
        return False
    meta, body = fm[0], fm[1]
    kind = str(meta.get("type", "")).lower()
    return kind.startswith("консультац") or kind == "consultation" or _has_qa(list(meta) + list(_md_sections(body)))


def read_consultations(path: Path) -> tuple[list[Consultation], list[RowError]]:
    """The good records of a consultations file, and each bad one's line and reason."""
    path = Path(path)
    text = _text(path)
    suffix = path.suffix.lower()
    records: list[Consultation] = []
    errors: list[RowError] = []

    def add(data: dict, line: int) -> None:
        try:
            rec = _record(data, line)
        except _Bad as e:
            errors.append(RowError(line, str(e)))
            return
        if any(r.id == rec.id for r in records):
            errors.append(RowError(line, f"повторяется id «{rec.id}»"))
            return
        records.append(rec)

    if suffix == ".csv":
        rows = csv.DictReader(io.StringIO(text, newline=""), delimiter=_dialect(text))
        if not _has_qa(rows.fieldnames or []):
            return [], [RowError(1, "в заголовке нет столбцов question и answer (вопрос, ответ)")]
        prev = 1
        try:
            for row in rows:
                line = prev + 1
                prev = rows.line_num
                if not any((v or "").strip() for k, v in row.items() if k is not None):
                    continue
                add(row, line)
        except csv.Error as e:
            errors.append(RowError(rows.line_num, f"ошибка CSV: {e}"))
    elif suffix in (".jsonl", ".ndjson"):
        for n, ln in enumerate(text.splitlines(), start=1):
            if not ln.strip():
                continue
            try:
                obj = json.loads(ln)
            except ValueError as e:
                errors.append(RowError(n, f"неверный JSON: {e.msg}"))
                continue
            if not isinstance(obj, dict):
                errors.append(RowError(n, "ожидается объект JSON"))
                continue
            add(obj, n)
    else:
        fm = _front_matter(text)
        if fm is None:
            return [], [RowError(1, "нет заголовка между строками ---")]
        meta, body, body_line, fm_errors = fm
        errors.extend(fm_errors)
        data = dict(meta)
        for k, v in _md_sections(body).items():
            data.setdefault(k, v)
        if not data.get("id"):
            data["id"] = re.sub(r"[^\w.-]", "-", path.stem)[:64] or "1"
        if not fm_errors:
            add(data, 1)
    return records, errors
