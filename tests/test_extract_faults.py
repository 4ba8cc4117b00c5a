"""A real archive's worst (issue 9): every bad file fails alone with its reason; nothing
hangs, takes the batch down, or outlives it. Format bounds: test_extract_bounds.py.

Hangs would block the suite, so every test that could hang runs under `within`, an
alarm that fails it instead.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pickle
import pkgutil
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

import kb
from kb.errors import ExtractError, FileTooLarge, KbError, LimitExceeded, printable
from kb.extract import Document, Limits, extract, extract_file, extract_many, iter_files, scan_corpus
from kb.extract.pool import Pool
from hostile_files import bomb_docx, docx_streamed, nested_html, text_pdf

ROOT = Path(__file__).resolve().parents[1]
KB = ROOT / ".venv" / "bin" / "kb"
CIVIL_1 = Path("kg-civil-code-pdf") / "civil_code_KR_part1.pdf"     # 173 pages, ~20 s here
CIVIL_2 = Path("kg-civil-code-pdf") / "civil_code_KR_part2.pdf"     # 303 pages, ~35 s here


# --- helpers -------------------------------------------------------------------------------

@contextmanager
def within(seconds: int):
    """Fail the test, instead of hanging the suite, when the block runs over `seconds`."""

    def hung(signum, frame):
        raise TimeoutError(f"no answer within {seconds} s: something hangs")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of a process, None when it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[1])


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")     # a zombie runs nothing


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def _children(pid: int) -> list[int]:
    return [p for p in _pids() if (_stat(p) or ("", 0))[1] == pid and _alive(p)]


def _workers(pid: int) -> list[int]:
    """Live extraction workers of `pid` (spawned interpreters)."""
    return [p for p in _children(pid) if "spawn_main" in _cmdline(p)]


def _with_marker(marker: str) -> list[int]:
    """Live processes whose environment holds `marker` (a test's whole process tree)."""
    found = []
    for p in _pids():
        try:
            env = Path(f"/proc/{p}/environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in env and _alive(p):
            found.append(p)
    return found


# --- every KbError crosses a process boundary --------------------------------------------

def _kb_error_classes() -> set[type]:
    for mod in pkgutil.walk_packages(kb.__path__, "kb."):
        importlib.import_module(mod.name)
    found, todo = set(), [KbError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("kb.") and cls not in found:
            found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def _instance(cls: type) -> KbError:
    if cls.__init__ in (KbError.__init__, Exception.__init__):
        return cls("сообщение об ошибке (message)")
    args = []
    for name, param in list(inspect.signature(cls.__init__).parameters.items())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or param.default is not param.empty:
            continue
        # A path with a byte that is not UTF-8 and a newline: both must survive.
        args.append(os.fsdecode(b"/corpus/\xd0\xb4\xd0\xbe\xd0\xba bad\xff\nname.txt")
                    if name == "path" else f"значение {name}")
    return cls(*args)


def test_every_kb_error_pickles_with_its_fields():
    classes = _kb_error_classes()
    names = {c.__name__ for c in classes}
    # Found dynamically; these must be among them, or the search itself is broken.
    assert {"KbError", "ExtractError", "FileTooLarge", "TooComplex", "LimitExceeded", "MissingTool",
            "UnsupportedFormat", "NotText", "IndexLocked", "QueryError", "SidecarError",
            "LexiconError"} <= names, names
    for cls in sorted(classes, key=lambda c: c.__qualname__):
        err = _instance(cls)
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            back = pickle.loads(pickle.dumps(err, protocol))
            assert type(back) is cls, (cls, protocol)
            assert str(back) == str(err) and back.args == err.args, (cls, protocol)
            assert vars(back) == vars(err), (cls, protocol)


def test_error_message_prints_any_file_name():
    path = os.fsdecode(b"/corpus/bad\xffname\nnext.txt")
    err = ExtractError(path, "пустой файл (empty file)")
    assert err.path == path                     # the real name, for the index
    msg = str(err)
    assert msg == "/corpus/bad\ufffdname\\nnext.txt: пустой файл (empty file)"
    msg.encode("utf-8")                         # printable: no lone surrogate left
    assert printable("/corpus/Закон № 5.txt") == "/corpus/Закон № 5.txt"


# --- only regular files inside the corpus -----------------------------------------------

def test_scan_reads_only_regular_files_inside_the_corpus(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("чужой файл", encoding="utf-8")
    d = tmp_path / "corpus"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "real.txt").write_text("текст", encoding="utf-8")
    (d / "alias.txt").symlink_to(d / "sub" / "real.txt")         # inside: read
    (d / "passwd.txt").symlink_to("/etc/passwd")
    (d / "secret.txt").symlink_to(outside / "secret.txt")
    (d / "up.txt").symlink_to("../outside/secret.txt")            # relative, still outside
    (d / "dangling.txt").symlink_to(d / "missing.txt")
    (d / "loop.txt").symlink_to(d / "loop.txt")
    (d / "outdir").symlink_to(outside, target_is_directory=True)
    os.mkfifo(d / "pipe.txt")
    os.mkfifo(d / "records.csv")          # a record suffix: its head is never sniffed
    (d / "zero.txt").symlink_to("/dev/zero")
    (d / ".hidden.txt").write_text("скрытый", encoding="utf-8")
    (d / "doc.meta.json").write_text("{}", encoding="utf-8")
    (d / "image.gif").write_bytes(b"GIF89a")
    os.mkfifo(d / "pipe-without-suffix")  # not a type kb reads: ignored like image.gif
    with within(20):
        scan = scan_corpus(d)
    assert scan.files == [d / "alias.txt", d / "sub" / "real.txt"]
    assert iter_files(d) == scan.files
    skipped = {p.name: reason for p, reason in scan.skipped}
    assert set(skipped) == {"passwd.txt", "secret.txt", "up.txt", "dangling.txt", "loop.txt",
                            "outdir", "pipe.txt", "records.csv", "zero.txt"}
    for name in ("passwd.txt", "secret.txt", "up.txt", "outdir", "zero.txt"):
        assert "за пределы папки документов" in skipped[name], name
    assert "--corpus" in skipped["outdir"] and "--corpus" not in skipped["secret.txt"]   # how to add it
    assert "битая ссылка" in skipped["dangling.txt"]
    assert "зацикливается" in skipped["loop.txt"]
    assert skipped["pipe.txt"] == "не обычный файл: FIFO (именованный канал) (not a regular file: FIFO)"
    assert "FIFO" in skipped["records.csv"]


def test_scan_reports_devices_and_unreadable_files(tmp_path, monkeypatch):
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "null.txt").symlink_to("/dev/null")
    (d / "locked.txt").write_text("тайна", encoding="utf-8")
    # Deny reading as the kernel would for a user: the tests may run as root, whom chmod
    # does not stop.
    monkeypatch.setattr(os, "access", lambda p, mode: not str(p).endswith("locked.txt"))
    scan = scan_corpus(d)
    reasons = {p.name: r for p, r in scan.skipped}
    assert reasons["locked.txt"] == "нет прав на чтение файла (permission denied)"
    assert "за пределы папки документов" in reasons["null.txt"]
    # A device inside the corpus (were the corpus "/"): named by its type.
    from kb.extract.files import _check

    assert _check(d / "null.txt", Path("/")) == ("не обычный файл: символьное устройство "
                                                 "(not a regular file: character device)")


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/dev/null", "/dev/tty"])
def test_extract_refuses_a_special_file_before_opening_it(tmp_path, special):
    if special == "fifo":
        path = tmp_path / "pipe.txt"
        os.mkfifo(path)
    else:
        path = Path(special)
        if not path.exists():
            pytest.fail(f"{special} is missing: the test needs it")
    t = time.monotonic()
    with within(10), pytest.raises(ExtractError) as e:
        extract(path)
    assert "не обычный файл" in str(e.value) and str(path) in str(e.value)
    assert time.monotonic() - t < 2


def test_kb_extract_of_a_fifo_does_not_hang(tmp_path):
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)
    kb_cmd = [str(KB)] if KB.exists() else [sys.executable, "-m", "kb.cli"]
    proc = subprocess.run(kb_cmd + ["extract", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == f"kb: ошибка: {path}: не обычный файл: FIFO (именованный канал) (not a regular file: FIFO)\n"


# --- the pool: a messy folder with the default worker count -------------------------------

GOOD = {
    "docx": Path("rf-housing-docx") / "ПП РФ от 15.05.2013 № 416-О порядке осуществления деятельности по управлению многоквартирными домами.docx",
    "html": Path("rf-codes-html") / "102027595_konstitutsiya_rf.html",
    "txt": Path("kg-codes-txt") / "Семейный кодекс Кыргызской Республики.txt",
}
BAD = {                     # name -> words of its reason
    "empty.txt": ["пустой файл"],
    "truncated.pdf": ["обрезанный PDF"],
    "garbage.docx": ["не является файлом DOCX"],
    "bomb.docx": ["распакованный DOCX слишком велик", "zip bomb"],
    "nested.html": ["слишком глубокая вложенность HTML"],
    "new\nline.txt": ["пустой файл"],
}
SKIPPED = {
    "pipe.txt": "FIFO",
    "passwd.txt": "за пределы папки документов",
    "outside.txt": "за пределы папки документов",
    "dangling.txt": "битая ссылка",
}
ODD_NAME = b"bad\xffname.txt"       # not UTF-8


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.docx"
    bomb_docx(path)
    return path


@pytest.fixture
def messy(tmp_path, shared_data, bomb) -> Path:
    d = tmp_path / "messy"
    (d / "sub").mkdir(parents=True)
    for kind, rel in GOOD.items():
        shutil.copy(shared_data / rel, d / ("sub" if kind == "html" else "") / rel.name)
    (d / "good.pdf").write_bytes(text_pdf())
    with open(os.path.join(os.fsencode(d), ODD_NAME), "wb") as f:
        f.write("Имя файла не в UTF-8, текст в порядке.".encode("utf-8"))
    (d / "empty.txt").write_bytes(b"")
    (d / "new\nline.txt").write_bytes(b"")
    (d / "truncated.pdf").write_bytes((shared_data / CIVIL_1).read_bytes()[:200_000])
    (d / "garbage.docx").write_bytes(random.Random(9).randbytes(50_000))
    shutil.copy(bomb, d / "bomb.docx")
    (d / "sub" / "nested.html").write_text(nested_html(100_000), encoding="utf-8")
    os.mkfifo(d / "pipe.txt")
    (d / "passwd.txt").symlink_to("/etc/passwd")
    (tmp_path / "secret.txt").write_text("не из корпуса", encoding="utf-8")
    (d / "outside.txt").symlink_to(tmp_path / "secret.txt")
    (d / "dangling.txt").symlink_to(d / "gone.txt")
    return d


def test_messy_folder_with_default_workers(messy):
    scan = scan_corpus(messy)
    assert {p.name: r for p, r in scan.skipped}.keys() == SKIPPED.keys()
    for path, reason in scan.skipped:
        assert SKIPPED[path.name] in reason, (path, reason)
    odd = Path(os.fsdecode(os.path.join(os.fsencode(messy), ODD_NAME)))
    assert odd in scan.files
    # The FIFO and the dangling link given directly: refused by the worker, not hung on.
    given = scan.files + [messy / "pipe.txt", messy / "dangling.txt"]
    t = time.monotonic()
    with within(180):
        results = list(extract_many(given))        # the default: all cores, default bounds
    assert time.monotonic() - t < 120
    assert sorted(p for p, _ in results) == sorted(given)       # each exactly once
    by_name = {p.name: r for p, r in results}
    for kind, rel in GOOD.items():
        doc = by_name[rel.name]
        assert isinstance(doc, Document) and doc.format == kind and len(doc.text) > 1000, doc
    assert isinstance(by_name["good.pdf"], Document) and "Article 1" in by_name["good.pdf"].text
    assert by_name[odd.name].text == "Имя файла не в UTF-8, текст в порядке."
    for name, words in BAD.items():
        err = by_name[name]
        assert isinstance(err, ExtractError), (name, err)
        msg = str(err)
        assert "\n" not in msg and all(w in msg for w in words), msg
        msg.encode("utf-8")
    assert isinstance(by_name["bomb.docx"], FileTooLarge)
    assert "FIFO" in str(by_name["pipe.txt"]) and "не найден" in str(by_name["dangling.txt"])
    assert _workers(os.getpid()) == []          # none left behind


def test_kb_extract_folder_one_line_per_failure(messy):
    kb_cmd = [str(KB)] if KB.exists() else [sys.executable, "-m", "kb.cli"]
    proc = subprocess.run(kb_cmd + ["extract", str(messy)], capture_output=True, timeout=240)
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")   # strict: valid UTF-8
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "Traceback" not in out
    failures = [l for l in err.splitlines() if l.startswith(("ошибка: ", "пропущен: "))]
    assert len(failures) == len(BAD) + len(SKIPPED), err
    for name in list(BAD) + list(SKIPPED):
        shown = printable(name)
        assert sum(shown in l for l in failures) == 1, (name, err)
    assert f"{messy}/new\\nline.txt: пустой файл (empty file)" in err
    assert err.splitlines()[-1] == f"Извлечено: {len(GOOD) + 2}; ошибок: {len(BAD) + len(SKIPPED)}"
    printed = [l.split(": ")[0] for l in out.splitlines()]
    assert f"{messy}/bad\ufffdname.txt" in printed and len(printed) == len(GOOD) + 2
    assert printed == sorted(printed, key=lambda p: (Path(p).parent != messy, p))   # scan order


# --- the pool survives its workers ----------------------------------------------------------

def _small_texts(tmp_path: Path, n: int = 3) -> list[Path]:
    paths = []
    for i in range(n):
        p = tmp_path / f"small{i}.txt"
        p.write_text(f"Статья {i}. Небольшой текст номер {i}.", encoding="utf-8")
        paths.append(p)
    return paths


def test_worker_killed_from_outside_fails_its_file_only(shared_data, tmp_path):
    slow = shared_data / CIVIL_2
    small = _small_texts(tmp_path)
    killed: list[int] = []
    with within(180), Pool(2, Limits.defaults()) as pool:
        def kill_the_slow_one():
            end = time.monotonic() + 120
            while time.monotonic() < end and not killed:
                for pid, path in pool.working().items():
                    if path == slow:
                        time.sleep(1.5)                 # well into the file
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                        return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_the_slow_one)
        killer.start()
        results = dict(pool.run([slow] + small))
        killer.join()
    assert killed
    err = results[slow]
    assert type(err) is ExtractError
    assert str(err) == f"{slow}: процесс извлечения аварийно завершился (сигнал 9) (worker crashed: SIGKILL)"
    assert all(isinstance(results[p], Document) for p in small)
    assert not _alive(killed[0]) and _workers(os.getpid()) == []


def test_tiny_time_limit_times_out_the_slow_file(shared_data, tmp_path):
    slow = shared_data / CIVIL_1
    small = _small_texts(tmp_path, 2)
    t = time.monotonic()
    with within(90):
        results = dict(extract_many([slow] + small, limits=Limits(seconds=2, memory_mb=1024)))
    assert time.monotonic() - t < 30            # not the ~20 s+ the PDF takes, plus start-up
    err = results[slow]
    assert isinstance(err, LimitExceeded)
    assert str(err) == f"{slow}: превышено время извлечения: 2 с (time limit exceeded; KB_FILE_SECONDS)"
    assert all(isinstance(results[p], Document) for p in small)
    assert _workers(os.getpid()) == []


def test_low_memory_limit_stops_big_files(tmp_path):
    # Two ways to run out: BeautifulSoup's Python objects (MemoryError), and lxml under
    # python-docx, which reports a failed allocation as "XMLSyntaxError: unknown error".
    wide = tmp_path / "wide.html"
    wide.write_text("<html><body>" + "".join(f"<p>абзац {i}</p>" for i in range(300_000)),
                    encoding="utf-8")
    rng = random.Random(1)
    big = tmp_path / "big.docx"
    docx_streamed(big, lambda: b"".join(b"<w:p><w:r><w:t>%d</w:t></w:r></w:p>" % rng.getrandbits(40)
                                         for _ in range(2000)), 60 * 1024 * 1024)
    small = _small_texts(tmp_path, 2)
    with within(240):
        results = dict(extract_many([wide, big] + small, workers=2,
                                    limits=Limits(seconds=200, memory_mb=150)))
    for path in (wide, big):
        err = results[path]
        assert isinstance(err, LimitExceeded), err
        assert str(err) == f"{path}: превышен лимит памяти 150 МБ (memory limit exceeded; KB_FILE_MEMORY_MB)"
    assert all(isinstance(results[p], Document) for p in small)
    assert _workers(os.getpid()) == []


def test_extract_file_runs_in_a_worker_with_limits(tmp_path):
    path = _small_texts(tmp_path, 1)[0]
    assert extract_file(path).text == "Статья 0. Небольшой текст номер 0."
    with pytest.raises(ExtractError) as e:
        extract_file(tmp_path / "нет.txt")
    assert "не найден" in str(e.value)
    assert _workers(os.getpid()) == []


def test_workers_zero_is_in_process(tmp_path):
    paths = _small_texts(tmp_path)
    results = []
    for item in extract_many(paths, workers=0):
        assert _workers(os.getpid()) == []
        results.append(item)
    assert [p for p, _ in results] == paths     # in the given order
    assert list(extract_many([])) == []


_PARENT = """
import sys
from pathlib import Path
from kb.extract import extract_many

if __name__ == "__main__":
    for path, result in extract_many([Path(p) for p in sys.argv[1:]], workers=2):
        print(path, type(result).__name__, flush=True)
"""


def test_no_worker_outlives_a_killed_parent(shared_data, tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(_PARENT, encoding="utf-8")
    marker = f"KB_TEST_MARKER_{uuid.uuid4().hex}"
    env = dict(os.environ, KB_TEST_MARKER=marker)
    parent = subprocess.Popen([sys.executable, str(script), str(shared_data / CIVIL_1),
                               str(shared_data / CIVIL_2)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 60
        while len(_workers(parent.pid)) < 2 and time.monotonic() < end:
            time.sleep(0.1)
        workers = _workers(parent.pid)
        assert len(workers) == 2, "the pool did not start"
        tree = _with_marker(marker)
        assert set(workers) | {parent.pid} <= set(tree)
        time.sleep(1.0)                         # both at work on a PDF
        parent.kill()
        parent.wait(10)
    finally:
        if parent.poll() is None:
            parent.kill()
    end = time.monotonic() + 15
    while time.monotonic() < end and (any(_alive(p) for p in tree) or _with_marker(marker)):
        time.sleep(0.1)
    assert [p for p in tree if _alive(p)] == [], [(p, _cmdline(p)) for p in tree if _alive(p)]
    assert _with_marker(marker) == []


_TOOL_PARENT = """
import subprocess, sys, time
from kb.procs import dies_with_us

tool = subprocess.Popen(["sleep", "60"], preexec_fn=dies_with_us())
print(tool.pid, flush=True)
time.sleep(60)
"""


def test_a_tool_run_by_a_worker_dies_with_it():
    # catdoc/antiword under a worker killed for its time: the same mechanism, with sleep.
    worker = subprocess.Popen([sys.executable, "-c", _TOOL_PARENT], stdout=subprocess.PIPE, text=True)
    try:
        tool = int(worker.stdout.readline())
        assert _alive(tool)
    finally:
        worker.kill()
        worker.wait(10)
    end = time.monotonic() + 10
    while _alive(tool) and time.monotonic() < end:
        time.sleep(0.05)
    assert not _alive(tool)
