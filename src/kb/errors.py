"""Exceptions of kb. Each carries a one-line message fit to show a user."""

from __future__ import annotations

from pathlib import Path


def printable(path: str | Path) -> str:
    """`path` fit for a one-line message (kb.names.display: undecodable bytes and control
    characters shown readably)."""
    from kb.names import display

    return display(path)


class KbError(Exception):
    """Base of every error kb reports to a user without a traceback."""

    def __reduce__(self):
        # Errors cross process boundaries (extraction workers). The default rebuilds them
        # as `cls(*args)`, but subclasses take other arguments than the one formatted
        # message `args` holds (ExtractError: path, reason): rebuild without __init__.
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls, args, state):
    err = cls.__new__(cls, *args)      # BaseException.__new__ sets `args`
    err.__dict__.update(state)
    return err


class ExtractError(KbError):
    """A file could not be extracted; names the file and the cause.

    `path` is the path as given (it may hold surrogate escapes); the message shows it
    with `printable`."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{printable(self.path)}: {reason}")


class UnsupportedFormat(ExtractError):
    """The file's format is not one kb reads."""


class FileTooLarge(ExtractError):
    """The file (or its unpacked content) exceeds the configured limit."""


class TooComplex(ExtractError):
    """The file's structure is beyond what kb parses safely (nesting depth, element count)."""


class LimitExceeded(ExtractError):
    """Extraction ran over its per-file time or memory bound and was stopped."""


class MissingTool(ExtractError):
    """An external program needed for the format is not installed."""


class IndexLocked(KbError):
    """Another process is writing the index."""


class IndexDamaged(KbError):
    """The index's files or manifest are damaged; `kb index` repairs them."""


class QueryError(KbError):
    """The query cannot be run (malformed, too long, too broad)."""
