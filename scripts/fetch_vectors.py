"""Install kb's word vectors: navec's news model, taken from the `natasha` wheel on PyPI.

The file (26 MB, MIT) goes to <venv>/share/kb/, where kb.analysis.vectors looks for it.
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
        return 0
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
