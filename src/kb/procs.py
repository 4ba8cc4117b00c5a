"""Child processes that end with their parent (Linux): no worker outlives a killed `kb index`."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
_parent_pid: int | None = None
_hooked = False


def die_with_parent(parent_pid: int | None = None) -> None:
    """Ask the kernel to SIGKILL this process when its parent ends.

    `parent_pid`: the parent as it was before the fork or spawn; if it has already gone
    (the signal would never come), exit at once."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)


def dies_with_us():
    """A `preexec_fn` for `subprocess`: the program gets SIGKILL when this process ends
    (catdoc under an extraction worker killed for its time). PR_SET_PDEATHSIG is not
    inherited across fork, so it is set in the child; libc is looked up here, in the
    parent, so that between fork and exec only the prctl call runs. None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return hook


def _before_fork() -> None:
    global _parent_pid
    _parent_pid = os.getpid()


def _after_fork_in_child() -> None:
    die_with_parent(_parent_pid)


def forked_children_die_with_parent() -> None:
    """Every child this process forks from now on (whoosh's writer processes, pools) gets
    `die_with_parent`. Idempotent; fork+exec children (`subprocess`) are not affected."""
    global _hooked
    if not _hooked:
        os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
        _hooked = True
