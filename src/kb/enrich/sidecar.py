"""Sidecar metadata beside a document: `NAME.meta.json`, `NAME.meta.yml`, `NAME.meta.yaml`.

NAME is the document's file name with or without its extension (`report.pdf.meta.json`
or `report.meta.json`). YAML is read by a small safe subset parser (no PyYAML
dependency): `key: value` scalars, quoted strings, `[a, b]` flow lists, `- item`
block lists and `#` comments. Anything else is an error naming the file and line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kb.errors import KbError

__all__ = ["SidecarError", "read_sidecar", "sidecar_path", "is_sidecar", "FIELDS"]

FIELDS = ("title", "type", "date", "organisation", "language", "access", "tags")
_ALIASES = {"organization": "organisation", "org": "organisation", "doc_type": "type", "lang": "language"}
_SUFFIXES = (".meta.json", ".meta.yml", ".meta.yaml")


class SidecarError(KbError):
    """A sidecar metadata file is malformed; the message names the file."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def is_sidecar(path: str | Path) -> bool:
    return str(path).lower().endswith(_SUFFIXES)


def sidecar_path(doc_path: str | Path) -> Path | None:
    """The sidecar file of a document, if there is one (full name first, then stem)."""
    doc_path = Path(doc_path)
    for base in (doc_path.name, doc_path.stem):
        for suffix in _SUFFIXES:
            p = doc_path.with_name(base + suffix)
            if p.is_file():
                return p
    return None


def read_sidecar(doc_path: str | Path) -> dict:
    """Metadata of the sidecar beside `doc_path`, normalised; `{}` when there is none.

    Keys: any of title, type (one of the document types), date (ISO, `YYYY`,
    `YYYY-MM` or `YYYY-MM-DD`), organisation, language, access, tags (list of str),
    and `extra` (a dict of any other keys). Raises `SidecarError` when malformed."""
    path = sidecar_path(doc_path)
    if path is None:
        return {}
    try:
        raw_text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise SidecarError(path, f"не удаётся прочитать файл метаданных: {e}") from None
    if path.name.lower().endswith(".json"):
        try:
            data = json.loads(raw_text)
        except json.JSONDecodeError as e:
            raise SidecarError(path, f"неверный JSON (строка {e.lineno}): {e.msg}") from None
    else:
        data = parse_simple_yaml(raw_text, path)
    if not isinstance(data, dict):
        raise SidecarError(path, "ожидался объект с полями (title, type, date...)")
    return _normalise(data, path)


def _normalise(data: dict, path: Path) -> dict:
    from kb.enrich.doctype import type_from_name  # late: doctype imports nothing from here at load

    out: dict = {}
    extra: dict = {}
    for key, value in data.items():
        k = _ALIASES.get(str(key).strip().lower(), str(key).strip().lower())
        if k not in FIELDS:
            extra[str(key)] = value
            continue
        if value is None or value == "":
            continue
        if k == "tags":
            if isinstance(value, str):
                value = [t.strip() for t in value.split(",") if t.strip()]
            elif isinstance(value, list) and all(isinstance(t, (str, int, float)) for t in value):
                value = [str(t).strip() for t in value if str(t).strip()]
            else:
                raise SidecarError(path, "tags: ожидался список строк")
        elif not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise SidecarError(path, f"{k}: ожидалась строка")
        else:
            value = str(value).strip()
        if k == "type":
            t = type_from_name(value)
            if t is None:
                raise SidecarError(path, f"type: неизвестный тип документа {value!r}")
            value = t
        if k == "date":
            value = _date(value, path)
        out[k] = value
    if extra:
        out["extra"] = extra
    return out


def _date(value: str, path: Path) -> str:
    v = value.strip()
    if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", v):
        return v
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", v)
    if m:
        return f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}"
    from kb.enrich._text import one_date

    iso = one_date(v)
    if iso:
        return iso
    raise SidecarError(path, f"date: не распознана дата {value!r} (ожидается ГГГГ-ММ-ДД)")


_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:(?:\s+(.*))?$")


def _scalar(s: str, path: Path, lineno: int):
    s = s.strip()
    if not s:
        return None
    if s[0] in "\"'":
        if len(s) < 2 or s[-1] != s[0]:
            raise SidecarError(path, f"строка {lineno}: незакрытая кавычка")
        inner = s[1:-1]
        return inner.replace('\\"', '"') if s[0] == '"' else inner.replace("''", "'")
    if s[0] in "{&*!|>":
        raise SidecarError(path, f"строка {lineno}: такая запись YAML не поддерживается, используйте key: value")
    s = re.sub(r"\s+#.*$", "", s)
    if s in ("null", "~"):
        return None
    return s


def _flow_list(s: str, path: Path, lineno: int) -> list:
    inner = s.strip()[1:-1]
    if "[" in inner or "{" in inner:
        raise SidecarError(path, f"строка {lineno}: вложенные списки не поддерживаются")
    return [v for v in (_scalar(p, path, lineno) for p in inner.split(",")) if v is not None]


def parse_simple_yaml(text: str, path: str | Path = "<yaml>") -> dict:
    """Parse the flat YAML subset sidecars use; `SidecarError` on anything else."""
    path = Path(path)
    out: dict = {}
    current_list: list | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped == "---":
            continue
        if stripped.startswith("- ") or stripped == "-":
            if current_list is None:
                raise SidecarError(path, f"строка {lineno}: элемент списка без ключа")
            v = _scalar(stripped[1:], path, lineno)
            if v is not None:
                current_list.append(v)
            continue
        if line[:1].isspace():
            raise SidecarError(path, f"строка {lineno}: вложенные поля не поддерживаются")
        m = _KEY_LINE.match(stripped)
        if not m:
            raise SidecarError(path, f"строка {lineno}: ожидается 'ключ: значение'")
        key, value = m.group(1), (m.group(2) or "").strip()
        if key in out:
            raise SidecarError(path, f"строка {lineno}: ключ {key!r} повторяется")
        current_list = None
        if not value or value.startswith("#"):
            out[key] = current_list = []
        elif value.startswith("["):
            if not value.rstrip().endswith("]"):
                raise SidecarError(path, f"строка {lineno}: незакрытый список")
            out[key] = _flow_list(value, path, lineno)
        else:
            out[key] = _scalar(value, path, lineno)
    # A key with nothing under it is empty, not an empty list.
    return {k: (None if v == [] else v) for k, v in out.items()}
