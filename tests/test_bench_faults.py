"""bench/faults.py, the fault table of issue 9, runs in CI: every case as promised."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.shared_data
def test_fault_table_has_every_case_as_promised(shared_data, tmp_path):
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "faults.py"), "--data", str(shared_data),
                        "--work", str(tmp_path / "work")], capture_output=True, text=True, timeout=3600)
    print(p.stdout)         # the table, in the CI log (pytest -rA / -s)
    rows = [line for line in p.stdout.splitlines() if line.rstrip().endswith(("OK", "FAIL"))]
    assert p.returncode == 0, p.stdout + p.stderr[-3000:]
    assert len(rows) >= 30 and not [r for r in rows if r.endswith("FAIL")]
    assert "cases as promised" in p.stdout
