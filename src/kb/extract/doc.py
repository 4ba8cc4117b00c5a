"""Legacy Word (.doc, OLE2) through Debian's `catdoc`, or `antiword` when catdoc is absent.

No maintained pure-Python reader of Word 97 text exists; both tools are small, packaged
by Debian, and installed by the project's set-up script.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from kb.errors import ExtractError, MissingTool
from kb.extract.clean import clean_chars, tidy_lines
from kb.extract.document import RawText
from kb.procs import dies_with_us

TIMEOUT_S = 60


def _command(path: Path) -> list[str]:
    catdoc = shutil.which("catdoc")
    if catdoc:
        # -w: no wrapping at 72 columns (paragraphs stay lines); -d utf-8: output charset.
        return [catdoc, "-w", "-d", "utf-8", str(path)]
    antiword = shutil.which("antiword")
    if antiword:
        # -w 0: no wrapping; UTF-8.txt is antiword's UTF-8 output mapping.
        return [antiword, "-w", "0", "-m", "UTF-8.txt", str(path)]
    raise MissingTool(path, "для файлов DOC нужен catdoc или antiword (apt-get install catdoc)")


def read_doc(path: Path, data: bytes) -> RawText:
    cmd = _command(path)
    tool = Path(cmd[0]).name
    try:
        # The tool dies with its worker: a worker killed for its time takes it along.
        proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S, check=False,
                              preexec_fn=dies_with_us())
    except subprocess.TimeoutExpired:
        raise ExtractError(path, f"{tool} не успел за {TIMEOUT_S} с (timed out)") from None
    except OSError as e:
        raise MissingTool(path, f"не удаётся запустить {tool}: {e.strerror}") from None
    if proc.returncode != 0:
        err = " ".join(proc.stderr.decode("utf-8", "replace").split())[:200]
        raise ExtractError(path, f"{tool} не смог прочитать файл DOC (код {proc.returncode}): {err}"
                           .rstrip(": "))
    # A form feed is a manual page break, not a laid-out page: one page, like DOCX.
    text = proc.stdout.decode("utf-8", "replace").replace("\f", "\n")
    return RawText(pages=[tidy_lines(clean_chars(text))])
