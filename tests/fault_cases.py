"""Faults the tests and bench/faults.py inflict: messy folders, damaged index files, killed runs.

Shared by tests/test_index_faults.py (assertions) and bench/faults.py (the table CI prints),
so both inflict exactly the same damage.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Real documents of ../shared/data for a messy folder that still indexes in seconds:
# a report, codes in TXT, DOCX and HTML, and a 173-page PDF.
REAL = [
    "reports/interbilim-annual-report-2019.txt",
    "kg-codes-txt/Семейный кодекс Кыргызской Республики.txt",
    "kg-codes-txt/Водный кодекс Кыргызской Республики.txt",
    "rf-housing-docx/Федеральный закон от 27.07.2006 № 152-ФЗ-О персональных данных.docx",
    "rf-housing-docx/ПП РФ от 13.08.2006 № 491-Об утверждении Правил содержания общего имущества в МКД.docx",
    "rf-codes-html/102027595_konstitutsiya_rf.html",
    "kg-civil-code-pdf/civil_code_KR_part1.pdf",
]
# For repeated kills: the same kinds of file without the 173-page PDF (a build in ~10 s, not ~30).
QUICK = [r for r in REAL if not r.endswith(".pdf")]


def kb_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("kb")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "kb.cli"]


def kb(*args: str, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*kb_cmd(), *args], capture_output=True, text=True, timeout=timeout, **kw)


def copy_real(shared: Path, dst: Path, names=REAL) -> list[str]:
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for rel in names:
        target = dst / Path(rel).name
        shutil.copyfile(shared / rel, target)
        out.append(target.name)
    return out


def add_broken_files(dst: Path, outside: Path) -> dict[str, str]:
    """Files a real archive holds that must not stop a run. Returns name -> expected outcome
    ("failed", "skipped" or "indexed")."""
    dst.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    out = {}
    (dst / "пустой.txt").write_bytes(b"")
    out["пустой.txt"] = "failed"
    (dst / "обрезанный.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\n" + b"\x00" * 300)
    out["обрезанный.pdf"] = "failed"
    (dst / "мусор.docx").write_bytes(os.urandom(4096))
    out["мусор.docx"] = "failed"
    secret = outside / "secret.txt"
    secret.write_text("Секретный документ вне папки: пароль от сервера.", encoding="utf-8")
    (dst / "ссылка-наружу.txt").symlink_to(secret)
    out["ссылка-наружу.txt"] = "skipped"
    (dst / "битая-ссылка.txt").symlink_to(outside / "нет-такого.txt")
    out["битая-ссылка.txt"] = "skipped"
    os.mkfifo(dst / "канал.txt")
    out["канал.txt"] = "skipped"
    bad = os.fsdecode(b"bad\xffname.txt")
    (dst / bad).write_text("Документ с именем не в UTF-8 о праве на жилище.", encoding="utf-8")
    out[bad] = "indexed"
    cp1251 = os.fsdecode("Отчёт 2018.txt".encode("cp1251"))
    (dst / cp1251).write_text("Отчёт за 2018 год о консультациях по жилью.", encoding="utf-8")
    out[cp1251] = "indexed"
    (dst / "имя\nс переводом строки.txt").write_text("Документ о выселении из общежития.", encoding="utf-8")
    out["имя\nс переводом строки.txt"] = "indexed"
    return out


# --- damage to an index ------------------------------------------------------------------

def current_gen(index: Path) -> Path:
    return index / (index / "CURRENT").read_text().strip()


def _biggest_segment(gen: Path) -> Path:
    return max((f for f in gen.iterdir() if f.suffix == ".seg"), key=lambda f: f.stat().st_size)


def _toc(gen: Path) -> Path:
    return next(f for f in gen.iterdir() if f.name.endswith(".toc"))


def damage(index: Path, kind: str) -> None:
    """Damage the published index as a disk, a user or a crash might."""
    gen = current_gen(index)
    if kind == "truncated segment":
        seg = _biggest_segment(gen)
        os.truncate(seg, seg.stat().st_size // 2)
    elif kind == "deleted segment":
        _biggest_segment(gen).unlink()
    elif kind == "truncated TOC":
        toc = _toc(gen)
        os.truncate(toc, toc.stat().st_size // 3)
    elif kind == "garbled TOC":
        toc = _toc(gen)
        data = bytearray(toc.read_bytes())
        for i in range(40, len(data), 7):
            data[i] ^= 0x5A
        toc.write_bytes(bytes(data))
    elif kind == "garbled segment":
        seg = _biggest_segment(gen)
        with open(seg, "r+b") as f:
            f.seek(seg.stat().st_size // 2)
            f.write(os.urandom(4096))
    elif kind == "manifest of wrong shape":
        (gen / "manifest.json").write_text(json.dumps({"version": 8, "files": ["a", "b"]}), encoding="utf-8")
    elif kind == "manifest not JSON":
        (gen / "manifest.json").write_text("{ это не JSON", encoding="utf-8")
    elif kind == "deleted manifest":
        (gen / "manifest.json").unlink()
    elif kind == "dangling CURRENT":
        (index / "CURRENT").write_text("g999999\n")
    elif kind == "malformed cache entry":
        entries = sorted((index / "cache").glob("*/*/*.json"))
        entries[0].write_text(json.dumps({"path": 1, "pages": "не список"}), encoding="utf-8")
        entries[-1].write_text("{ обрезано", encoding="utf-8")
    else:
        raise ValueError(kind)


DAMAGE = ["truncated segment", "deleted segment", "truncated TOC", "garbled TOC", "garbled segment",
          "manifest of wrong shape", "manifest not JSON", "deleted manifest", "dangling CURRENT",
          "malformed cache entry"]


# --- processes --------------------------------------------------------------------------

def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_after(args: list[str], seconds: float, sig: int = signal.SIGKILL) -> tuple[int, set[int], bool]:
    """Start `kb ARGS`, send `sig` after `seconds` (or when it ends): (exit code, the processes
    it had started, whether it had already finished by itself)."""
    p = subprocess.Popen([*kb_cmd(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + seconds
    kids: set[int] = set()
    while time.monotonic() < deadline and p.poll() is None:
        kids |= descendants(p.pid)
        time.sleep(0.05)
    finished = p.poll() is not None
    if not finished:
        kids |= descendants(p.pid)
        p.send_signal(sig)
    return p.wait(timeout=120), kids, finished


def survivors(pids: set[int], wait: float = 5.0) -> set[int]:
    """Those of `pids` still running after up to `wait` seconds."""
    end = time.monotonic() + wait
    while time.monotonic() < end:
        left = {p for p in pids if alive(p)}
        if not left:
            return set()
        time.sleep(0.1)
    return {p for p in pids if alive(p)}
