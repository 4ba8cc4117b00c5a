"""bench/security.py, the attacks of issue 26 against a real `kb serve`, runs in CI: every attack held."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT


def test_every_attack_of_issue_26_is_held(tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "security.py"), "--work", str(tmp_path / "work"),
                        "--json"], capture_output=True, text=True, timeout=900)
    assert p.stdout.strip(), p.stderr[-3000:]         # the bench itself could not run
    rows = json.loads(p.stdout)
    for r in rows:              # the table, in the CI log (pytest -rA / -s)
        print(f"{r['attack']:<36} {r['expected']:<44} {r['got'][:72]:<72} {'OK' if r['pass'] else 'FAIL'}")
    failed = [f"{r['attack']}: expected {r['expected']}, got {r['got']}" for r in rows if not r["pass"]]
    assert len(rows) >= 40 and not failed, "\n".join(failed)
    assert p.returncode == 0, p.stderr[-3000:]
