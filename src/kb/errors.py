"""Exceptions of kb. Each carries a one-line message fit to show a user."""

from __future__ import annotations

from pathlib import Path


class KbError(Exception):
    """Base of every error kb reports to a user without a traceback."""


class ExtractError(KbError):
    """A file could not be extracted; names the file and the cause."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):
        # Crosses process boundaries (extraction workers): rebuilt from its two fields,
        # not from `args`, which holds the one formatted message.
        return (self.__class__, (self.path, self.reason))


class UnsupportedFormat(ExtractError):
    """The file's format is not one kb reads."""


class FileTooLarge(ExtractError):
    """The file (or its unpacked content) exceeds the configured limit."""


class MissingTool(ExtractError):
    """An external program needed for the format is not installed."""


class IndexLocked(KbError):
    """Another process is writing the index."""


class IndexDamaged(KbError):
    """The index's files or manifest are damaged; `kb index` repairs them."""


class QueryError(KbError):
    """The query cannot be run (malformed, too long, too broad)."""
