"""Files added, replaced and deleted from the browser: where they go in the corpus folder.

    place(corpus, folder, name, data, replace=False, sidecar=None, trash=None) -> Placed("folder/name", replaced)
    to_trash(corpus, trash, rel) -> the path in the trash;  empty_trash(trash) -> files removed

The web layer only passes what the person sent; the rules live here, beside nothing else:
a name is a plain file name (no folders, no leading dot, no control or bidirectional
characters), the folder is a relative path of plain names inside the corpus (no `..`, no
hidden parts, no link leading out: checked before any folder is made; a name the file system
refuses is an UploadError, never an OSError), the format is read from the content (kb.extract.sniff), not trusted from the name or
the browser's Content-Type, and an existing file is replaced only when asked. Deleted
originals (with their sidecars) go to a trash folder outside the corpus, so `kb index` drops
them and an admin can restore or empty it; so does the old version of a replaced file.

Sidecars are written by PyYAML, never by hand: any title a person can paste (line
separators, quotes, `#`, a leading `-`) reads back as it was written, because a sidecar
that cannot be read makes its document staff-only (kb.enrich.sidecar), and one that read
differently could change who sees it. A new file keeps the fields it does not set of the
sidecar that applied to its name (a replacement's, or a `NAME.meta.yml` of its stem).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import time
import unicodedata
from pathlib import Path
from typing import NamedTuple


from kb.errors import ExtractError, KbError
from kb.extract.files import SUPPORTED_SUFFIXES
from kb.enrich.sidecar import SidecarError, dump_sidecar, read_sidecar, sidecar_path
from kb.extract.sniff import detect_format

ACCEPTED = sorted(SUPPORTED_SUFFIXES | {".csv", ".jsonl"})
MAX_UPLOAD_MB = int(os.environ.get("KB_MAX_UPLOAD_MB", "50"))
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")
# Bidirectional controls make a name display other than it is (`отчёт\u202efdp.exe` shows as
# `отчётexe.pdf`): refused in file and folder names.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Bytes of one name on the file systems kb runs on (ext4, XFS, NTFS through a mount: 255).
_NAME_BYTES = 255


class UploadError(KbError):
    """A file refused, with the reason in Russian (one line)."""


class Exists(UploadError):
    """The file is there already: replace it only when asked."""


def _shown(text: str) -> str:
    """A name for a message: bidirectional controls shown as their code, so the message itself
    is not turned around."""
    return _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", text[:80])


def _check_bidi(text: str, what: str) -> None:
    if _BIDI.search(text):
        raise UploadError(f"{what} «{_shown(text)}» содержит невидимый символ направления письма "
                          "(например U+202E), из-за которого имя показывается не таким, какое оно есть; "
                          "уберите его (bidirectional control character in the name)")


def _encoded_len(text: str) -> int | None:
    """Bytes of a name on disk; None when it cannot be written at all (a lone surrogate)."""
    try:
        return len(os.fsencode(text))
    except UnicodeEncodeError:
        return None


def clean_name(name: str) -> str:
    name = unicodedata.normalize("NFC", (name or "").strip())
    name = name.replace("\\", "/").rsplit("/", 1)[-1]          # a browser may send a whole path
    _check_bidi(name, "имя файла")
    size = _encoded_len(name)
    if not name or name.startswith(".") or _BAD_NAME.search(name) or size is None or size > 200:
        raise UploadError(f"недопустимое имя файла «{name[:80]}» (bad file name)")
    if Path(name).suffix.lower() not in ACCEPTED:
        raise UploadError(f"{name}: формат не принимается; можно {', '.join(ACCEPTED)} (format not accepted)")
    if ".meta." in name.lower():
        raise UploadError(f"{name}: это имя файла метаданных (sidecar name)")
    return name


def _inside(path: Path, root: Path) -> bool:
    """`path`, its links followed, is `root` or inside it (a link loop or an unreadable folder: no)."""
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def folder_path(corpus: Path, folder: str) -> Path:
    """The folder inside the corpus (created); UploadError when it would leave it or the file
    system refuses it."""
    parts = [p for p in (folder or "").replace("\\", "/").split("/") if p not in ("", ".")]
    for p in parts:
        _check_bidi(p, "папка")
        if p == ".." or p.startswith(".") or _BAD_NAME.search(p) or _encoded_len(p) is None:
            raise UploadError(f"недопустимая папка «{folder[:80]}» (bad folder)")
        if len(p) > 100 or _encoded_len(p) > _NAME_BYTES:
            raise UploadError(f"имя папки «{p[:40]}…» слишком длинное: не больше 100 знаков и {_NAME_BYTES} "
                              "байт, как допускает файловая система; сократите его (folder name too long)")
    root = Path(corpus).resolve()
    target = root.joinpath(*parts)
    outside = UploadError(f"папка «{folder[:80]}» ведёт за пределы коллекции (folder outside the corpus)")
    # Before anything is made: mkdir through a link (corpus/out -> /elsewhere) would create
    # folders outside the corpus even if the upload is then refused.
    if not _inside(target, root):
        raise outside
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        if e.errno == errno.ENAMETOOLONG:
            raise UploadError(f"папка «{folder[:80]}»: путь длиннее, чем допускает файловая система; "
                              "выберите папку покороче (folder name too long)") from None
        raise UploadError(f"не удаётся создать папку «{folder[:80]}»: {e.strerror or e} "
                          "(cannot create the folder)") from None
    if not _inside(target, root):          # a link put in its place meanwhile
        raise outside
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


_OWN_SIDECARS = (".meta.json", ".meta.yml", ".meta.yaml")     # NAME.meta.*: the file's own (kb.enrich.sidecar)


def _current_fields(target: Path) -> dict:
    """The fields the sidecar that applies to `target` gives it now (its own or its stem's),
    to keep those a new upload does not set. One that cannot be read gives access: staff, as
    the index reads it: a new sidecar must not make public what was staff-only."""
    if sidecar_path(target) is None:
        return {}
    try:
        return read_sidecar(target)
    except (SidecarError, OSError, ValueError):
        return {"access": "staff"}


def _trash_folder(trash: Path, rel: str) -> Path:
    """trash/DATE-TIME/folder of `rel`, a new one (-2, -3...) when that second's holds the name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    parent, name = Path(rel).parent, Path(rel).name
    for n in range(1, 1000):
        dest = Path(trash) / (stamp if n == 1 else f"{stamp}-{n}") / parent
        if not (dest / name).exists():
            return dest
    raise UploadError(f"{rel}: в корзине нет места для ещё одной копии (trash slot taken)")


def _sidecars_of(path: Path) -> list[Path]:
    """The sidecars kb would read for `path` that are regular files: its own and its stem's."""
    own = [path.with_name(path.name + s) for s in _OWN_SIDECARS]
    applied = sidecar_path(path)
    return [p for p in dict.fromkeys(own + ([applied] if applied else [])) if p.is_file() and not p.is_symlink()]


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class Placed(NamedTuple):
    path: str           # relative to the corpus
    replaced: bool      # a file of that name was there


def place(corpus: Path, folder: str, name: str, data: bytes, *, replace: bool = False,
          sidecar: dict | None = None, trash: Path | None = None) -> Placed:
    """Write the file into the corpus (atomically: a temp file renamed), with a sidecar of the
    given fields over those the file had (empty fields: not changed). Exists when it is there and not `replace`; a replaced file's old version and its
    sidecars are copied into `trash` first (when given), as `to_trash` would put them."""
    name = clean_name(name)
    check_content(name, data)
    root = Path(corpus).resolve()
    target = folder_path(corpus, folder) / name
    existed = target.exists() or target.is_symlink()
    if existed and not replace:
        raise Exists(f"{name}: такой файл уже есть в папке; отметьте «заменить», чтобы заменить его (file exists)")
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise UploadError(f"{name}: на этом месте не обычный файл (not a regular file)")
    given = {k: v.strip() if isinstance(v, str) else v for k, v in (sidecar or {}).items()}
    given = {k: v for k, v in given.items() if v}
    current = _current_fields(target)
    fields = {**current, **given}
    side = target.with_name(name + ".meta.yml")
    tmp = target.with_name(f".{name}.{os.getpid()}.upload")
    rel = str(target.relative_to(root))
    rewrite = fields != current
    # The file's other own sidecars are read before NAME.meta.yml: they go when it is written.
    # (a dangling link among them too: the reader would stop at it and hide the file).
    shadowing = [p for p in (target.with_name(name + s) for s in _OWN_SIDECARS)
                 if p != side and (p.is_symlink() or p.is_file())]
    try:
        tmp.write_bytes(data)
        old_sides = _sidecars_of(target)
        if trash is not None and (existed or (rewrite and old_sides)):
            dest = _trash_folder(trash, rel)
            dest.mkdir(parents=True, exist_ok=True)
            for p in ([target] if existed else []) + old_sides:
                shutil.copy2(p, dest / p.name)
        if rewrite:
            _write_atomic(side, dump_sidecar(fields))
            for p in shadowing:
                p.unlink()
        os.replace(tmp, target)
    except OSError as e:
        raise UploadError(f"{name}: не удаётся записать файл в папку ({e.strerror or e}) (cannot write the file)") \
            from None
    finally:
        tmp.unlink(missing_ok=True)
    return Placed(rel, existed)


def to_trash(corpus: Path, trash: Path, rel: str) -> Path:
    """Move a document of the corpus (and its own sidecars) into the trash, under a dated folder."""
    root = Path(corpus).resolve()
    src = (root / rel)
    if src.is_symlink() or not src.resolve().is_relative_to(root) or not src.is_file():
        raise UploadError(f"{rel}: нет такого файла в коллекции (no such file)")
    dest_dir = _trash_folder(trash, rel)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / src.name
    shutil.move(str(src), dest)
    for side in (src.with_name(src.name + s) for s in _OWN_SIDECARS):
        if side.is_file():
            shutil.move(str(side), dest_dir / side.name)
    return dest


def trash_files(trash: Path) -> list[Path]:
    return sorted(p for p in Path(trash).rglob("*") if p.is_file()) if Path(trash).is_dir() else []


def empty_trash(trash: Path) -> int:
    n = len(trash_files(trash))
    if Path(trash).is_dir():
        shutil.rmtree(trash)
    return n
