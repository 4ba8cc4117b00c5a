"""Which files of a folder kb reads, and reading one without ever blocking.

Only regular files inside the corpus are read: a symlink to `/etc/passwd` would put a
system file in the index, and opening a FIFO or a device blocks forever. The type of
every entry is taken with `lstat`/`stat`, which never block, before anything is opened.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import ExtractError
from kb.extract.consultations import RECORD_SUFFIXES, is_consultations_file

SUPPORTED_SUFFIXES = {".pdf", ".docx", ".doc", ".rtf", ".html", ".htm", ".txt", ".md",
                      ".jpg", ".jpeg", ".png", ".tif", ".tiff"}

IGNORE_FILE = ".kbignore"
# Never documents, whatever the folder: notes about the folder itself and licences of what
# it holds (compared case-insensitively with the file name). A `.kbignore` line `!README.md`
# brings one back.
DEFAULT_IGNORE = ["readme", "readme.*", "license", "license[-_.]*", "licence", "licence[-_.]*",
                  "copying", "copying.*"]

OUTSIDE = "ссылка ведёт за пределы папки документов (link points outside the corpus)"
# A linked folder is what a newcomer makes to add a collection kept elsewhere: say how to add it.
OUTSIDE_DIR = ("папка-ссылка ведёт за пределы папки документов, её файлы не читаются: укажите эту "
               "папку в --corpus или скопируйте файлы внутрь (folder link points outside the corpus)")
BROKEN = "битая ссылка: её цель не найдена (broken link)"
LOOP = "ссылка зацикливается (symlink loop)"
UNREADABLE = "нет прав на чтение файла (permission denied)"

_KINDS = [
    (stat.S_ISFIFO, "FIFO (именованный канал)", "FIFO"),
    (stat.S_ISSOCK, "сокет", "socket"),
    (stat.S_ISCHR, "символьное устройство", "character device"),
    (stat.S_ISBLK, "блочное устройство", "block device"),
    (stat.S_ISDIR, "папка", "directory"),
]


def not_regular(mode: int) -> str | None:
    """Why a file of this `st_mode` is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, ru, en in _KINDS:
        if test(mode):
            return f"не обычный файл: {ru} (not a regular file: {en})"
    return "не обычный файл (not a regular file)"


@dataclass
class Scan:
    """What `scan_corpus` found: the files to read, and what it left out and why."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _wanted(name: str) -> bool | None:
    """True: a document; None: a record file if its head says so; False: not kb's."""
    if name.startswith(".") or ".meta." in name:
        return False                        # hidden files and sidecars: silently ignored
    suffix = os.path.splitext(name)[1].lower()
    if suffix in SUPPORTED_SUFFIXES:
        return True
    return None if suffix in RECORD_SUFFIXES else False


class Ignore:
    """Which paths of a corpus are left out: DEFAULT_IGNORE, then the `.kbignore` files
    (gitignore syntax, read with `pathspec`) of the corpus and of its folders, a deeper file
    overriding a shallower one and a later line an earlier one, as git does."""

    def __init__(self, root: Path):
        import pathspec

        self._pathspec = pathspec
        self.root = Path(root)
        self._defaults = pathspec.GitIgnoreSpec.from_lines(DEFAULT_IGNORE)
        self._specs: list[tuple[str, object]] = []      # (folder relative to root, spec)

    def enter(self, rel_dir: str) -> None:
        """Read the `.kbignore` of a folder (relative to the root, "" for the root itself)."""
        f = self.root / rel_dir / IGNORE_FILE
        try:
            if not f.is_file() or f.is_symlink():
                return
            lines = f.read_text(encoding="utf-8-sig", errors="replace").splitlines()
        except OSError:
            return
        self._specs.append((rel_dir, self._pathspec.GitIgnoreSpec.from_lines(lines)))

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        """True when the corpus path `rel` ("a/b.txt", posix) is left out."""
        name = rel.rsplit("/", 1)[-1]
        out = not is_dir and self._defaults.match_file(name.lower())
        for base, spec in self._specs:
            if base and not rel.startswith(base + "/"):
                continue
            sub = rel[len(base) + 1:] if base else rel
            res = spec.check_file(sub + "/" if is_dir else sub)
            if res.include is not None:
                out = res.include
        return out


def _inside(target: Path, root: Path) -> bool:
    return target == root or root in target.parents


def _check(path: Path, root: Path | None) -> str | None:
    """Why `path` is not read (None: it is), from its metadata only."""
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            try:
                target = path.resolve(strict=True)
            except FileNotFoundError:
                return BROKEN
            except RuntimeError:          # Python 3.11 raises it for a loop
                return LOOP
            except OSError as e:
                return LOOP if e.errno == 40 else f"ссылка не читается: {e.strerror}"
            if root is not None and not _inside(target, root):
                return OUTSIDE
            st = os.stat(path)
    except OSError as e:
        return f"не удаётся прочитать файл: {e.strerror}"
    reason = not_regular(st.st_mode)
    if reason:
        return reason
    if not os.access(path, os.R_OK):
        return UNREADABLE
    return None


def scan_corpus(root: str | Path) -> Scan:
    """The files under `root` that kb reads, sorted (a folder's own files, then its
    subfolders), and the entries it will not read with a Russian reason.

    Hidden files, hidden folders and sidecars (`*.meta.*`) are ignored, as are files of
    other types (`.png`) and what `.kbignore` files and DEFAULT_IGNORE leave out (`Ignore`). Links to folders are not followed (a folder inside the corpus is
    read where it is); a link to a folder outside is reported. A `root` that is a file is
    returned as it is: `extract` checks it.
    """
    root = Path(root)
    scan = Scan()
    if not root.is_dir():
        scan.files.append(root)
        return scan
    real_root = root.resolve()
    ignore = Ignore(root)

    def unreadable_dir(e: OSError) -> None:
        scan.skipped.append((Path(e.filename), f"папка не читается: {e.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable_dir):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        ignore.enter(rel_dir)
        keep = []
        for d in sorted(dirnames):
            if d.startswith(".") or ignore.ignored(f"{rel_dir}/{d}" if rel_dir else d, is_dir=True):
                continue
            sub = Path(dirpath) / d
            if sub.is_symlink():
                # os.walk does not enter it; say so when it points out of the corpus.
                if _check_dir_link(sub, real_root):
                    scan.skipped.append((sub, OUTSIDE_DIR))
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            wanted = _wanted(name)
            if wanted is False or ignore.ignored(f"{rel_dir}/{name}" if rel_dir else name):
                continue
            path = Path(dirpath) / name
            reason = _check(path, real_root)
            if reason:
                scan.skipped.append((path, reason))
            elif wanted or is_consultations_file(path):   # consultation records (CSV, JSON Lines)
                scan.files.append(path)
    return scan


def _check_dir_link(path: Path, root: Path) -> bool:
    """True when a link to a folder leads out of the corpus."""
    try:
        return not _inside(path.resolve(strict=True), root)
    except (OSError, RuntimeError):
        return False


def iter_files(root: str | Path) -> list[Path]:
    """Files under `root` that kb reads, sorted: `scan_corpus(root).files`."""
    return scan_corpus(root).files


def read_regular(path: Path, limit: int) -> tuple[os.stat_result, bytes]:
    """The stat and bytes of a regular file; raises `ExtractError` for anything else.

    Opened with O_NONBLOCK and checked again on the open descriptor: a file swapped for a
    FIFO after the caller's `stat` still cannot block. Reads its size plus one byte (to see
    it grow), at most `limit + 1`: `read(n)` reserves n bytes first, which would count
    against a worker's memory bound.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ExtractError(path, "файл не найден (file not found)") from None
    except OSError as e:
        raise ExtractError(path, f"не удаётся прочитать файл: {e.strerror}") from None
    with open(fd, "rb", closefd=True) as f:
        st = os.fstat(fd)
        reason = not_regular(st.st_mode)
        if reason:
            raise ExtractError(path, reason)
        try:
            return st, f.read(min(st.st_size, limit) + 1)
        except OSError as e:
            raise ExtractError(path, f"не удаётся прочитать файл: {e.strerror}") from None
