"""Sidecar metadata beside a document: `NAME.meta.json`, `NAME.meta.yml`, `NAME.meta.yaml`.

NAME is the document's file name with or without its extension (`report.pdf.meta.json`
or `report.meta.json`). YAML is read by PyYAML's safe loader (so that any title kb itself
writes with `safe_dump` reads back, whatever characters it holds), with one strictness
added: a key given twice is an error, not "the last one wins".

A sidecar decides who may see its document (`access`), so it is read strictly: anything
kb cannot read with certainty (bad syntax, a key it does not know, a value outside the
known ones, a file it cannot open) raises `SidecarError`, and the index treats the
document as staff-only (kb.index.access) and reports it. Custom fields go under `extra:`
(a mapping), where a typo cannot be mistaken for an unknown key such as `acess`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from pathlib import Path

import yaml

from kb.errors import KbError

__all__ = ["SidecarError", "read_sidecar", "sidecar_path", "is_sidecar", "FIELDS", "dump_sidecar", "access_word"]

FIELDS = ("title", "type", "date", "organisation", "language", "access", "tags")
_ALIASES = {"organization": "organisation", "org": "organisation", "doc_type": "type", "lang": "language"}
_SUFFIXES = (".meta.json", ".meta.yml", ".meta.yaml")


# The words of `access` (a sidecar's, a consultation record's, a rules line's): anything else
# is a doubt, and a doubt hides (kb.index.access).
PUBLIC_WORDS = frozenset({"public", "open", "все", "всем", "открытый", "открытый доступ", "публичный"})
STAFF_WORDS = frozenset({"staff", "internal", "private", "сотрудники", "закрытый", "внутренний",
                         "для сотрудников"})


def access_word(value) -> str | None:
    """"public" or "staff" for a known access word (any case and spacing), else None."""
    if value is None or isinstance(value, bool):
        return None
    v = " ".join(str(value).lower().split())
    return "public" if v in PUBLIC_WORDS else "staff" if v in STAFF_WORDS else None


class SidecarError(KbError):
    """A sidecar metadata file is malformed or unreadable; the message names the file."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def is_sidecar(path: str | Path) -> bool:
    return str(path).lower().endswith(_SUFFIXES)


def sidecar_path(doc_path: str | Path) -> Path | None:
    """The sidecar file of a document, if there is one (full name first, then stem).

    Anything at a sidecar's name counts, a dangling link or a folder included: it cannot be
    read, and a sidecar kb cannot read must hide its document, not be overlooked."""
    doc_path = Path(doc_path)
    for base in (doc_path.name, doc_path.stem):
        for suffix in _SUFFIXES:
            p = doc_path.with_name(base + suffix)
            if os.path.lexists(p):
                return p
    return None


def read_sidecar(doc_path: str | Path) -> dict:
    """Metadata of the sidecar beside `doc_path`, normalised; `{}` when there is none.

    Keys: any of title, type (one of the document types), date (ISO, `YYYY`,
    `YYYY-MM` or `YYYY-MM-DD`), organisation, language, access (`public` or `staff`, or one
    of their Russian words), tags (list of str), and `extra` (a dict of the sidecar's own
    fields). Raises `SidecarError` when the file cannot be read or holds anything else."""
    path = sidecar_path(doc_path)
    if path is None:
        return {}
    if not path.is_file():
        raise SidecarError(path, "файл метаданных не является обычным файлом (битая ссылка или папка)")
    try:
        raw_text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise SidecarError(path, f"не удаётся прочитать файл метаданных: {e}") from None
    if path.name.lower().endswith(".json"):
        try:
            data = json.loads(raw_text, object_pairs_hook=_json_object)
        except json.JSONDecodeError as e:
            raise SidecarError(path, f"неверный JSON (строка {e.lineno}): {e.msg}") from None
        except _Duplicate as e:
            raise SidecarError(path, f"ключ {e.key!r} повторяется") from None
    else:
        data = load_yaml(raw_text, path)
    if data is None:
        return {}                        # an empty file says nothing
    if not isinstance(data, dict):
        raise SidecarError(path, "ожидался объект с полями (title, type, date...)")
    return _normalise(data, path)


class _SidecarDumper(yaml.SafeDumper):
    """yaml.safe_dump's dumper, except that text holding a line break other than a space or
    an invisible character is written double-quoted, where each is escaped (\\N, \\L, \\r):
    PyYAML's own choice for such text, single quotes, keeps NEL (U+0085) raw, and reading it
    back folds it into a space (tests/test_upload.py's round trip)."""


def _represent_str(dumper: yaml.SafeDumper, value: str):
    plain = all(c.isprintable() and (c == " " or not c.isspace()) for c in value)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=None if plain else '"')


_SidecarDumper.add_representer(str, _represent_str)


def dump_sidecar(fields: dict) -> str:
    """A sidecar's text as kb writes it (upload, replace): YAML that `read_sidecar` reads back
    to exactly these fields, whatever a title holds (line and paragraph separators, NEL, CR,
    quotes, `#`). One line per field however long, so a person can still edit it by hand."""
    return yaml.dump(fields, Dumper=_SidecarDumper, allow_unicode=True, sort_keys=False, width=1 << 20)


class _Duplicate(Exception):
    def __init__(self, key):
        self.key = key


def _json_object(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise _Duplicate(k)
        out[k] = v
    return out


class _StrictLoader(yaml.SafeLoader):
    """The safe loader, refusing a key given twice (`access: staff` then `access: public`)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    out = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "ключ должен быть строкой",
                                                    key_node.start_mark) from None
        if key in out:
            raise yaml.constructor.ConstructorError(None, None, f"ключ {key!r} повторяется", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(text: str, path: str | Path = "<yaml>"):
    """The YAML document of a sidecar; `SidecarError` (with the line) when it does not parse."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f" (строка {mark.line + 1})" if mark is not None else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SidecarError(path, f"неверный YAML{where}: {what}") from None


def _text(value, key: str, path: Path) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, _dt.date)):
        raise SidecarError(path, f"{key}: ожидалась строка")
    if isinstance(value, _dt.date):
        return value.isoformat()[:10]
    return str(value).strip()


def _normalise(data: dict, path: Path) -> dict:
    from kb.enrich.doctype import type_from_name  # late: doctype imports nothing from here at load

    out: dict = {}
    for key, value in data.items():
        name = str(key).strip().lower()
        k = _ALIASES.get(name, name)
        if k == "extra":
            if value is None:
                continue
            if not isinstance(value, dict):
                raise SidecarError(path, "extra: ожидался набор полей «имя: значение»")
            # As JSON holds it (YAML dates become text): the manifest is JSON.
            out["extra"] = json.loads(json.dumps({str(ek): ev for ek, ev in value.items()}, default=str))
            continue
        if k not in FIELDS:
            raise SidecarError(path, f"неизвестное поле {str(key)!r}: известны {', '.join(FIELDS)} "
                                     "(свои поля — внутри extra:)")
        if value is None or value == "":
            if k == "access":
                raise SidecarError(path, "access: пустое значение (ожидается public или staff)")
            continue
        if k == "tags":
            if isinstance(value, str):
                value = [t.strip() for t in value.split(",") if t.strip()]
            elif isinstance(value, list) and all(isinstance(t, (str, int, float)) and not isinstance(t, bool)
                                                 for t in value):
                value = [str(t).strip() for t in value if str(t).strip()]
            else:
                raise SidecarError(path, "tags: ожидался список строк")
        else:
            value = _text(value, k, path)
        if k == "type":
            t = type_from_name(value)
            if t is None:
                raise SidecarError(path, f"type: неизвестный тип документа {value!r}")
            value = t
        elif k == "access":
            if access_word(value) is None:
                raise SidecarError(path, f"access: неизвестное значение {value!r} (ожидается public или staff)")
        elif k == "date":
            value = _date(value, path)
        out[k] = value
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
