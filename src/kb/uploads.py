"""Files added, replaced and deleted from the browser: where they go in the corpus folder.

    place(corpus, folder, name, data, replace=False, sidecar=None) -> "folder/name"
    to_trash(corpus, trash, rel) -> the path in the trash;  empty_trash(trash) -> files removed

The web layer only passes what the person sent; the rules live here, beside nothing else:
a name is a plain file name (no folders, no leading dot, no control characters), the folder is
a relative path of plain names inside the corpus (no `..`, no hidden parts, no link leading
out), the format is read from the content (kb.extract.sniff), not trusted from the name or
the browser's Content-Type, and an existing file is replaced only when asked. Deleted
originals (with their sidecars) go to a trash folder outside the corpus, so `kb index` drops
them and an admin can restore or empty it.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import unicodedata
from pathlib import Path

from kb.errors import ExtractError, KbError
from kb.extract.files import SUPPORTED_SUFFIXES
from kb.extract.sniff import detect_format

ACCEPTED = sorted(SUPPORTED_SUFFIXES | {".csv", ".jsonl"})
MAX_UPLOAD_MB = int(os.environ.get("KB_MAX_UPLOAD_MB", "50"))
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


class UploadError(KbError):
    """A file refused, with the reason in Russian (one line)."""


class Exists(UploadError):
    """The file is there already: replace it only when asked."""


def clean_name(name: str) -> str:
    name = unicodedata.normalize("NFC", (name or "").strip())
    name = name.replace("\\", "/").rsplit("/", 1)[-1]          # a browser may send a whole path
    if not name or name.startswith(".") or _BAD_NAME.search(name) or len(os.fsencode(name)) > 200:
        raise UploadError(f"недопустимое имя файла «{name[:80]}» (bad file name)")
    if Path(name).suffix.lower() not in ACCEPTED:
        raise UploadError(f"{name}: формат не принимается; можно {', '.join(ACCEPTED)} (format not accepted)")
    if ".meta." in name.lower():
        raise UploadError(f"{name}: это имя файла метаданных (sidecar name)")
    return name


def folder_path(corpus: Path, folder: str) -> Path:
    """The folder inside the corpus (created); UploadError when it would leave it."""
    parts = [p for p in (folder or "").replace("\\", "/").split("/") if p not in ("", ".")]
    for p in parts:
        if p == ".." or p.startswith(".") or _BAD_NAME.search(p) or len(p) > 100:
            raise UploadError(f"недопустимая папка «{folder[:80]}» (bad folder)")
    root = Path(corpus).resolve()
    target = root.joinpath(*parts)
    target.mkdir(parents=True, exist_ok=True)
    if not target.resolve().is_relative_to(root):
        raise UploadError(f"папка «{folder[:80]}» ведёт за пределы коллекции (folder outside the corpus)")
    return target


def check_content(name: str, data: bytes) -> str:
    """The format read from the content; UploadError when it is not a document of that kind."""
    if not data:
        raise UploadError(f"{name}: пустой файл (empty file)")
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        raise UploadError(f"{name}: больше {MAX_UPLOAD_MB} МБ (file too large)")
    suffix = Path(name).suffix.lower()
    if suffix in (".csv", ".jsonl"):
        try:
            data[:65536].decode("utf-8")
        except UnicodeDecodeError as e:
            if e.start < 65530:
                raise UploadError(f"{name}: записи консультаций должны быть в UTF-8 (not UTF-8)") from None
        return suffix[1:]
    try:
        fmt = detect_format(Path(name), data)
    except ExtractError as e:
        raise UploadError(f"{name}: {e.reason if hasattr(e, 'reason') else e}") from None
    if fmt is None:
        raise UploadError(f"{name}: формат не распознан (unknown format)")
    return fmt


def _yaml_value(v: str) -> str:
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def place(corpus: Path, folder: str, name: str, data: bytes, *, replace: bool = False,
          sidecar: dict | None = None) -> str:
    """Write the file into the corpus (atomically: a temp file renamed), with a sidecar of the
    given fields; its path relative to the corpus. Exists when it is there and not `replace`."""
    name = clean_name(name)
    check_content(name, data)
    target = folder_path(corpus, folder) / name
    if (target.exists() or target.is_symlink()) and not replace:
        raise Exists(f"{name}: такой файл уже есть в папке; отметьте «заменить», чтобы заменить его (file exists)")
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise UploadError(f"{name}: на этом месте не обычный файл (not a regular file)")
    tmp = target.with_name(f".{name}.{os.getpid()}.upload")
    tmp.write_bytes(data)
    fields = {k: v for k, v in (sidecar or {}).items() if v}
    side = target.with_name(name + ".meta.yml")
    if fields:
        side.write_text("".join(f"{k}: {_yaml_value(v)}\n" for k, v in fields.items()), encoding="utf-8")
    os.replace(tmp, target)
    return str(target.relative_to(Path(corpus).resolve()))


def to_trash(corpus: Path, trash: Path, rel: str) -> Path:
    """Move a document of the corpus (and its sidecars) into the trash, under a dated folder."""
    root = Path(corpus).resolve()
    src = (root / rel)
    if src.is_symlink() or not src.resolve().is_relative_to(root) or not src.is_file():
        raise UploadError(f"{rel}: нет такого файла в коллекции (no such file)")
    dest_dir = Path(trash) / time.strftime("%Y%m%d-%H%M%S") / Path(rel).parent
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / src.name
    shutil.move(str(src), dest)
    for side in src.parent.glob(src.name + ".meta.*"):
        shutil.move(str(side), dest_dir / side.name)
    return dest


def trash_files(trash: Path) -> list[Path]:
    return sorted(p for p in Path(trash).rglob("*") if p.is_file()) if Path(trash).is_dir() else []


def empty_trash(trash: Path) -> int:
    n = len(trash_files(trash))
    if Path(trash).is_dir():
        shutil.rmtree(trash)
    return n
