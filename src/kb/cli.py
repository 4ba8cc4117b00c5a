"""The `kb` command: thin wrappers over the stages; errors become one line and exit 1."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from kb import config
from kb.errors import KbError


def _add_paths(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", type=Path, default=None,
                   help="папка с документами (по умолчанию corpus/ или $KB_CORPUS)")
    p.add_argument("--index", type=Path, default=None,
                   help="папка индекса (по умолчанию index/ или $KB_INDEX)")


def _add_database(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database", metavar="URL", default=None,
                   help="учётные записи, журнал, пределы входа и очередь загрузок в PostgreSQL, общем для "
                        "нескольких серверов: postgresql://пользователь@сервер/база (также $KB_DATABASE_URL; "
                        "по умолчанию — файлы SQLite в папке индекса)")


def _corpus(args) -> Path:
    return args.corpus or config.default_corpus()


def _index(args) -> Path:
    return args.index or config.default_index()


def _print_json(obj) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


# --- extract -----------------------------------------------------------------

def _in_order(paths, results):
    """`results` (path, result) pairs coming in any order, given back in the order of `paths`,
    each as soon as it and all before it are done."""
    order = iter(paths)
    want = next(order, None)
    pending = {}
    for path, res in results:
        pending[path] = res
        while want is not None and want in pending:
            yield want, pending.pop(want)
            want = next(order, None)


def cmd_extract(args) -> int:
    from kb.errors import printable
    from kb.extract import extract_file, extract_many, scan_corpus

    target = Path(args.file)
    if target.is_dir():
        scan = scan_corpus(target)
        for path, reason in scan.skipped:
            print(f"пропущен: {printable(path)}: {reason}", file=sys.stderr)
        failed, done = len(scan.skipped), 0
        results = []
        for path, res in _in_order(scan.files, extract_many(scan.files, workers=args.workers or None)):
            if isinstance(res, KbError):
                failed += 1
                print(f"ошибка: {res}", file=sys.stderr)
                continue
            done += 1
            if args.json:
                results.append(dict(res.to_json(), path=printable(path)))
            else:
                print(f"{printable(path)}: {res.format}, {res.page_count} стр., {len(res.text)} симв."
                      + (f"; предупреждения: {'; '.join(res.warnings)}" if res.warnings else ""),
                      flush=True)
        if args.json:
            _print_json(results)
        print(f"Извлечено: {done}; ошибок: {failed}", file=sys.stderr)
        return 1 if failed else 0
    doc = extract_file(target)
    if args.json:
        _print_json(dict(doc.to_json(), path=printable(doc.path)))
    else:
        for w in doc.warnings:
            print(f"предупреждение: {w}", file=sys.stderr)
        sys.stdout.write(doc.text + "\n")
    return 0


# --- index / search / eval ---------------------------------------------------

class Terminated(KeyboardInterrupt):
    """SIGTERM (a service stopped, a container shut down): unwound like Ctrl-C, so that the
    unpublished generation is dropped and the summary is still written."""


def _on_sigterm(signum, frame):
    raise Terminated()


def cmd_index(args) -> int:
    import signal

    from kb import progress as progress_mod
    from kb.index import update_index
    from kb.index.replica import read_state

    follows = read_state(_index(args))
    if follows is not None:
        # Its generations are the indexer's: one built here would be replaced at the next round.
        raise KbError(f"индекс {_index(args)} — копия индекса сервера {follows.get('source')} (kb serve --follow): "
                      f"индексируйте на нём; если этот сервер больше не копирует его, удалите "
                      f"{_index(args) / 'follow.json'} (this index follows another server)")
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:          # not the main thread (kb.cli.main called by a test's thread)
        pass
    try:
        report = update_index(_corpus(args), _index(args), workers=args.workers,
                              show_progress=not args.quiet, rebuild=args.rebuild, events=args.events)
    except KeyboardInterrupt as e:
        bar = progress_mod.current
        read = f"прочитано файлов {bar.done} из {bar.total}; " if bar is not None and bar.total else ""
        how = "SIGTERM" if isinstance(e, Terminated) else "Ctrl-C"
        msg = (f"kb index остановлен ({how}) во время индексации: {read}опубликованный индекс не изменён; "
               "прочитанное сохранено в кэше, следующий `kb index` продолжит с него")
        if args.json:
            _print_json({"interrupted": how, "read": bar.done if bar else 0, "total": bar.total if bar else 0,
                         "message": msg})
        else:
            print(msg, flush=True)
        return 143 if isinstance(e, Terminated) else 130
    vec = None
    if not args.no_vectors:
        vec = _build_vectors(_index(args), quiet=args.quiet)
    if args.json:
        out = report.to_json()
        if vec is not None:
            out["vectors"] = vec
        _print_json(out)
    else:
        for line in report.lines():
            print(line)
        if vec is not None:
            print(_vectors_line(vec))
    if vec is not None and vec.get("interrupted"):
        return 143 if vec.get("signal") == "SIGTERM" else 130
    return 1 if report.failed and args.strict else 0


def _build_vectors(index_dir: Path, quiet: bool = False) -> dict | None:
    """After the lexical index is published (search already works with it): the passage
    vectors it still lacks. Ctrl-C or a kill stops it; the next `kb index` goes on."""
    from kb.analysis import embed
    from kb.index import vectors
    from kb.progress import Progress, Silent

    if not embed.enabled():
        return None
    threads = int(os.environ.get("KB_EMBED_THREADS", "").strip() or 0) or (os.cpu_count() or 1)
    model = embed.make_embedder(threads=threads)
    bar: list = []

    def progress(done: int, total: int, seconds_left: float | None = None) -> None:
        if not bar:
            if not quiet and done < total:
                # Counted as `kb check` and the results page count them: done of all passages.
                print(f"Поиск по словам уже работает; строятся векторы смысла: готово {done} из {total} "
                      "фрагментов (сколько осталось, покажет строка прогресса; прервать можно в любой "
                      "момент, продолжится при следующем `kb index`)", file=sys.stderr)
            bar.append((Silent if quiet else Progress)(total, "векторы", every=64, told=True))
            bar[0].done = done
            return
        p = bar[0]
        p.done = done - 1
        p.step(seconds_left=seconds_left)      # the builder's, by characters: passages differ

    try:
        res = vectors.build(index_dir, model, progress=progress,
                            say=None if quiet else (lambda line: print(line, file=sys.stderr, flush=True)))
    except vectors.Busy as e:
        return {"ready": False, "busy": True, "message": str(e)}
    except KeyboardInterrupt as e:
        st = vectors.status(index_dir, model.key)
        return {"ready": False, "interrupted": True, "done": st["done"], "total": st["total"],
                "signal": "SIGTERM" if isinstance(e, Terminated) else "SIGINT"}
    finally:
        if bar:
            bar[0].close()
    return {"ready": res["ready"], "embedded": res["embedded"], "total": res["total"],
            "graph": bool(res.get("graph")), "reused": res.get("reused", 0)}


def _vectors_line(vec: dict) -> str:
    if vec.get("busy"):
        return f"векторы смысла: {vec['message']}"
    if vec.get("interrupted"):
        return (f"векторы смысла: прервано на {vec['done']} из {vec['total']}; поиск пока по словам, "
                "`kb index` продолжит")
    if vec.get("ready"):
        return (f"векторы смысла: готовы ({vec['total']} фрагментов, новых {vec['embedded']}"
                + (f", из общего кэша {vec['reused']}" if vec.get("reused") else "")
                + ("; приближённый индекс построен" if vec.get("graph") else "") + ")")
    return "векторы смысла: не построены"


def cmd_check(args) -> int:
    from kb.index.health import check

    health = check(_corpus(args), _index(args))
    if args.json:
        _print_json(health.to_json())
    else:
        for line in health.lines():
            print(line)
    return 0 if health.state in ("ok", "stale") and health.vectors_state != "damaged" and not health.access_errors else 1


def cmd_search(args) -> int:
    from kb.search import Filters, added_since, parse_since, search
    from kb.search.fill import coverage_line

    since = parse_since(args.since) if args.since else ""
    if not args.query:
        if not since:
            raise KbError("укажите запрос или --since ДАТА (give a query or --since DATE)")
        return _list_added(added_since(_index(args), since, doc_type=args.type, year=args.year), since, args)
    filters = Filters(doc_type=args.type or [], year=args.year or [], lang=args.lang or [], since=since)
    res = search(_index(args), args.query, per_page=args.limit, page=args.page, filters=filters,
                 sort=args.sort, exact=args.exact, copies=args.copies, facets=bool(args.json and args.full))
    if res.notice:      # cut by the time budget, or an index with no documents: one line, on stderr
        print(f"kb: {res.notice}", file=sys.stderr)
    if cover := coverage_line(res.meaning):    # while the passage vectors are being built
        print(f"kb: {cover}", file=sys.stderr)
    if args.json:
        _print_json(res.to_json()["hits"] if not args.full else res.to_json())
        return 0
    if res.corrected:
        print(f"Показаны результаты по запросу: {res.corrected} (искать точно: --exact)")
    if res.meaning_lang and res.meaning_terms:
        print("Найдено по словарю и по смыслу: запрос на кыргызском языке, искали русские термины "
              f"({', '.join(res.meaning_terms)}) и близкие по смыслу фрагменты.")
    elif res.meaning_lang:
        lang = "английском" if res.meaning_lang == "en" else "кыргызском"
        print(f"Найдено по смыслу: запрос на {lang} языке, фрагменты на русском найдены по близости смысла.")
    if res.latin is not None and (res.latin or not res.meaning_lang):
        print("Запрос набран латиницей, а документы на русском языке. "
              + (f"Русские термины: {', '.join(res.latin)}" if res.latin else "Наберите запрос по-русски."))
    if res.suggestion:
        print(f"Возможно, вы имели в виду: {res.suggestion}")
    docs = f"более {res.total_docs:,}".replace(",", " ") if res.docs_more else res.total_docs
    print(f"Найдено документов: {docs}, фрагментов: {res.total_hits} ({res.took_ms:.0f} мс)")
    for n, g in enumerate(res.groups, start=(res.page - 1) * res.per_page + 1):
        print(f"\n{n}. {g.title}  [{g.doc_type}{', ' + str(g.year) if g.year else ''}]  {g.path}"
              + (f"  (также: {', '.join(c['path'] for c in g.also)})" if g.also else ""))
        for h in g.hits:
            where = ", ".join(x for x in (f"стр. {h.page}" if h.page else "",
                                          f"ст. {h.article}" if h.article else "",
                                          f"п. {h.point}" if h.point else "",
                                          f"табл. {h.table}" if h.table else "") if x)
            print(f"   {('(' + where + ') ') if where else ''}{_starred(h.snippet_text, h.highlights)}")
    return 0


def _starred(text: str, spans) -> str:
    """The plain snippet with its matches between ** (a terminal has no <mark>)."""
    out, at = [], 0
    for s, e in spans:
        out += [text[at:s], "**", text[s:e], "**"]
        at = e
    return "".join(out) + text[at:]


def _list_added(docs, since: str, args) -> int:
    """`kb search --since DATE` without a query: what was added to the collection since."""
    if args.json:
        _print_json([d.to_json() for d in docs])
        return 0
    print(f"Добавлено с {since}: документов {len(docs)}")
    for d in docs:
        when = d.added.replace("T", " ").rstrip("Z")[:16]
        print(f"{when}  {d.title}  [{d.doc_type}{', ' + str(d.year) if d.year else ''}]  {d.path}")
    return 0


def cmd_eval(args) -> int:
    from kb.evaluation import evaluate

    if args.max_queries is not None and args.max_queries < 1:
        raise KbError("--max-queries: число запросов >= 1 (must be >= 1)")
    def progress(done: int, total: int, seconds_left: float | None = None) -> None:
        if done == total or done % 64 < 8:
            print(f"векторы смысла: {done}/{total}", file=sys.stderr, flush=True)

    res = evaluate(Path(args.beir_dir), mode=args.mode, max_queries=args.max_queries,
                   index_dir=Path(args.index) if args.index else None, progress=progress)
    if args.json:
        _print_json(res)
    else:
        for k in ("ndcg@10", "recall@10", "recall@100", "mrr@10"):
            print(f"{k:<12} {res[k]:.4f}")
        print(f"{'median ms':<12} {res['median_query_ms']:.2f}")
        print(f"{'queries':<12} {res['queries']}")
    return 0


def cmd_serve(args) -> int:
    from kb.web import serve

    if args.rescan < 0:
        raise KbError("--rescan: число секунд >= 0 (0 — не следить за папкой) (must be >= 0)")
    if args.max_per_client is not None and args.max_per_client < 0:
        raise KbError("--max-per-client: число запросов >= 0 (0 — без ограничения) (must be >= 0)")
    hosts = list(args.allowed_host or [])
    hosts += [h.strip() for h in os.environ.get("KB_ALLOWED_HOSTS", "").split(",") if h.strip()]
    per_client = args.max_per_client
    if per_client is None and os.environ.get("KB_MAX_PER_CLIENT", "").strip():
        raw = os.environ["KB_MAX_PER_CLIENT"].strip()
        if not raw.isdigit():
            raise KbError(f"KB_MAX_PER_CLIENT: нужно целое число >= 0, а не «{raw}» (must be an integer >= 0)")
        per_client = int(raw)
    if args.workers is not None and args.workers < 1:
        raise KbError("--workers: число процессов >= 1 (must be >= 1)")
    if args.proxy is not None and args.proxy < 1:
        raise KbError("--proxy: число прокси перед kb >= 1 (без --proxy — ни одного) (must be >= 1)")
    if args.follow_every <= 0:
        raise KbError("--follow-every: число секунд > 0 (must be > 0)")
    return serve(_corpus(args), _index(args), host=args.host, port=args.port, debug=args.debug, rescan=args.rescan,
                 allowed_hosts=hosts, access_log=args.access_log, log_queries=args.log_queries,
                 max_per_client=per_client, proxy=args.proxy or 0, workers=args.workers, follow=args.follow,
                 follow_every=args.follow_every)


# --- user, token ---------------------------------------------------------------

def read_new_password(prompt_name: str, stdin=None) -> str:
    """A new password: asked twice at the terminal, or two equal lines of stdin when it is not
    one (as passwd does), so that scripts can create accounts without an echo of the password."""
    from kb.accounts import check_password

    stdin = stdin or sys.stdin
    if stdin.isatty():
        import getpass

        first = getpass.getpass(f"Пароль для {prompt_name}: ")
        second = getpass.getpass("Ещё раз: ")
    else:
        first, second = stdin.readline().rstrip("\r\n"), stdin.readline().rstrip("\r\n")
        if not first:
            raise KbError("пароль не задан: передайте его на stdin дважды, по строке (no password on stdin)")
    if first != second:
        raise KbError("пароли не совпадают (passwords do not match)")
    return check_password(first)


def _accounts(args):
    from kb.accounts import Accounts

    return Accounts(_index(args))


def _when(t: float | None) -> str:
    import time as _time

    return _time.strftime("%Y-%m-%d %H:%M", _time.gmtime(t)) + " UTC" if t else "—"


def cmd_user(args) -> int:
    from kb.audit import record

    acc = _accounts(args)
    if args.action == "list":
        users = acc.users()
        if args.json:
            _print_json([{"name": u.name, "role": u.role, "created": _when(u.created)} for u in users])
        elif not users:
            print("Пользователей нет. Создать: kb user add ИМЯ --role admin")
        for u in users if not args.json else ():
            print(f"{u.name}\t{u.role}\t{_when(u.created)}")
        return 0
    if not args.name:
        raise KbError(f"kb user {args.action}: укажите имя пользователя (user name required)")
    if args.action == "add":
        from kb.accounts import check_name

        check_name(args.name)             # before the password is asked for
        user = acc.add(args.name, read_new_password(args.name), args.role or "staff")
        record(_index(args), "user.add", actor="cli", target=user.name, detail=user.role)
        print(f"Пользователь {user.name} создан, роль {user.role}.")
        return 0
    user = acc.find(args.name)
    if args.action == "remove":
        acc.remove(user.name)
        record(_index(args), "user.remove", actor="cli", target=user.name)
        print(f"Пользователь {user.name} удалён вместе с его токенами; его входы завершены.")
    elif args.action == "passwd":
        acc.passwd(user.name, read_new_password(user.name))
        record(_index(args), "user.passwd", actor="cli", target=user.name)
        print(f"Пароль пользователя {user.name} изменён; его входы в браузере завершены "
              "(API-токены действуют до отзыва).")
    elif args.action == "role":
        if not args.role:
            raise KbError("kb user role: укажите новую роль: --role staff или --role admin (role required)")
        user = acc.set_role(user.name, args.role)
        record(_index(args), "user.role", actor="cli", target=user.name, detail=user.role)
        print(f"Роль пользователя {user.name}: {user.role}; его входы в браузере завершены "
              "(API-токены действуют до отзыва).")
    return 0


def cmd_token(args) -> int:
    from kb.audit import record

    acc = _accounts(args)
    if args.action == "list":
        for t in acc.tokens(args.name):
            print(f"{t.prefix}…\t{t.user}\t{_when(t.created)}")
        return 0
    if not args.name:
        raise KbError(f"kb token {args.action}: укажите имя пользователя или токен (name required)")
    if args.action == "create":
        secret = acc.create_token(args.name)
        record(_index(args), "token.create", actor="cli", target=args.name, detail=secret[:10])
        print(f"Токен для {args.name} (показан один раз; заголовок Authorization: Bearer ТОКЕН):")
        print(secret)
    else:
        n = acc.revoke_token(args.name)
        record(_index(args), "token.revoke", actor="cli", target=args.name[:10])
        print(f"Отозвано токенов: {n}.")
    return 0


def cmd_audit(args) -> int:
    from kb.audit import AuditLog

    rows = AuditLog(_index(args)).read(limit=args.limit, action=args.action, actor=args.user)
    if args.json:
        _print_json([r.to_json() for r in rows])
        return 0
    for r in rows:
        print("\t".join([_when(r.at).replace(" UTC", ""), r.action, r.actor or "-", r.address or "-",
                         r.target or "-", r.detail or ""]))
    return 0


def cmd_state(args) -> int:
    """`kb state copy`: the SQLite state of the index folder into the shared database."""
    from kb import accounts, audit, state
    from kb.search import saved
    from kb.state.copy import copy_tables
    from kb.state.sqlite import SqliteDatabase
    from kb.web import auth, mine

    if not state.shared():
        raise KbError("kb state copy: укажите базу: --database postgresql://… или $KB_DATABASE_URL (no database given)")
    index = _index(args)
    if not any((index / f).exists() for f in (accounts.FILE, audit.FILE, mine.FILE, auth.SECRET_FILE)):
        raise KbError(f"kb state copy: в {index} нет ни учётных записей, ни журнала, ни сохранённых поисков, "
                      "ни ключа сессий: укажите папку индекса сервера (--index) (nothing to copy)")
    done: dict[str, int] = {}
    for part, mod, lock in (("accounts", accounts, "users"), ("audit", audit, "audit")):
        if (index / mod.FILE).exists():
            source = SqliteDatabase(index / mod.FILE, part, mod.MIGRATIONS)
            target = state.database(index, part, mod.MIGRATIONS, file=mod.FILE)
            done.update(copy_tables(source, target, mod.TABLES, lock))
    done["saved_searches"] = saved.SharedSavedSearches(index).copy_from(saved.SavedSearches(index / mine.FILE))
    if (index / auth.SECRET_FILE).exists():
        auth.share_secret_key(index)
        done["secret_key"] = 1
    names = {"users": "учётных записей", "removed_ids": "удалённых номеров", "tokens": "токенов",
             "events": "событий журнала", "saved_searches": "сохранённых поисков", "secret_key": "ключ сессий"}
    print("Скопировано в общую базу: " + ", ".join(f"{names[k]} {n}" for k, n in done.items()))
    return 0


# --- parser ------------------------------------------------------------------

# argparse's own words (headings, -h, its errors) in Russian, like everything else kb prints:
# argparse looks them up through the module's gettext function at the moment it prints.
_ARGPARSE_RU = {
    "usage: ": "использование: ",
    "positional arguments": "аргументы",
    "options": "параметры",
    "show this help message and exit": "показать эту справку и выйти",
    "%(prog)s: error: %(message)s\n": "%(prog)s: ошибка: %(message)s\n",
    "the following arguments are required: %s": "не хватает аргументов: %s",
    "unrecognized arguments: %s": "неизвестные аргументы: %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "недопустимое значение: %(value)r (можно: %(choices)s)",
    "invalid %(type)s value: %(value)r": "неверное значение (%(type)s): %(value)r",
    "expected one argument": "ожидается одно значение",
    "argument %(argument_name)s: %(message)s": "%(argument_name)s: %(message)s",
    "ambiguous option: %(option)s could match %(matches)s": "неоднозначный параметр: %(option)s — это %(matches)s?",
}


def _argparse_ru(message: str) -> str:
    return _ARGPARSE_RU.get(message, message)


def build_parser() -> argparse.ArgumentParser:
    argparse._ = _argparse_ru
    parser = argparse.ArgumentParser(
        prog="kb",
        description="kb — поиск и база знаний по документам НКО и юристов на русском языке: "
                    "отчёты, законы и кодексы, исследования, записи консультаций.",
    )
    sub = parser.add_subparsers(dest="command", metavar="КОМАНДА", title="команды")

    p = sub.add_parser("extract", help="извлечь чистый текст одного файла (или папки)",
                       description="Печатает чистый текст файла (PDF, DOCX, DOC, RTF, HTML, TXT, сканы). "
                                   "Для папки извлекает каждый файл и сообщает о сбоях. Каждый файл "
                                   "читается в отдельном процессе с пределом времени (KB_FILE_SECONDS, 300 с) "
                                   "и памяти (KB_FILE_MEMORY_MB, 1024 МБ).")
    p.add_argument("file", help="путь к файлу или папке")
    p.add_argument("--json", action="store_true", help="вывод в JSON: path, format, title, pages, warnings, metadata")
    p.add_argument("--workers", type=int, default=None,
                   help="процессов для извлечения текста из папки (по умолчанию все ядра)")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("index", help="построить или обновить индекс папки документов",
                       description="Строит или обновляет индекс папки документов: читаются только новые и "
                                   "изменённые файлы; сообщает, что добавлено, обновлено, удалено, что не "
                                   "прочитано и чьи файлы метаданных не читаются (такие документы скрыты "
                                   "от посетителей). Затем строит векторы смысла.")
    _add_paths(p)
    p.add_argument("--workers", type=int, default=None, help="процессов для извлечения текста (по умолчанию все ядра)")
    p.add_argument("--json", action="store_true", help="отчёт в JSON")
    p.add_argument("--quiet", action="store_true", help="без индикатора прогресса")
    p.add_argument("--strict", action="store_true", help="код возврата 1, если какой-то файл не прочитан")
    p.add_argument("--rebuild", action="store_true",
                   help="построить индекс заново (кэш извлечения сохраняется); поиск до конца работает по старому")
    p.add_argument("--no-vectors", action="store_true",
                   help="не строить векторы смысла (поиск только по словам; также KB_EMBEDDER=off)")
    p.add_argument("--events", action="store_true",
                   help="для программ: строка «extracted<TAB>путь» в stderr после чтения каждого файла")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("check", help="проверить индекс, ничего не меняя",
                       description="Сообщает состояние индекса, ничего не меняя: файлы против контрольных "
                                   "сумм, индекс, кэш извлечения, векторы смысла, ошибки доступа и что "
                                   "изменилось в папке документов после последнего kb index. Код 0, когда "
                                   "индекс исправен (даже если папка изменилась); 1, когда он повреждён, "
                                   "отсутствует или есть ошибки доступа.")
    _add_paths(p)
    p.add_argument("--json", action="store_true", help="отчёт в JSON")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("search", help="искать в индексе",
                       description="Ищет в индексе. Синтаксис: слова в любой форме, \"фраза\", !точно, "
                                   "начало*, -исключить, ИЛИ/OR, И/AND, тип:, год:, title:, ссылки вида "
                                   "«ст. 84 ЖК РФ» (docs/query-syntax.md).")
    _add_paths(p)
    p.add_argument("query", nargs="?", default="", help="поисковый запрос (без него с --since: список добавленного)")
    p.add_argument("--limit", type=int, default=10, help="документов на странице (по умолчанию 10)")
    p.add_argument("--page", type=int, default=1, help="номер страницы результатов")
    p.add_argument("--type", action="append", help="только документы этого типа (можно несколько)")
    p.add_argument("--year", action="append", help="только документы этого года (можно несколько)")
    p.add_argument("--lang", action="append", choices=["ky", "ru"],
                   help="только документы на этом языке: ky — кыргызский, ru — русский (можно несколько)")
    p.add_argument("--sort", choices=["relevance", "date"], default="relevance", help="порядок")
    p.add_argument("--since", metavar="ДАТА",
                   help="только документы, добавленные в коллекцию с этой даты (ГГГГ-ММ-ДД, UTC); "
                        "без запроса — список добавленного")
    p.add_argument("--json", action="store_true", help="список найденных фрагментов в JSON")
    p.add_argument("--full", action="store_true", help="с --json: весь ответ (фасеты, документы, страницы)")
    p.add_argument("--exact", action="store_true", help="искать слова как набраны, без исправления опечаток")
    p.add_argument("--copies", action="store_true", help="копии одного документа в разных файлах — отдельно")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("eval", help="оценить качество поиска на наборе BEIR",
                       description="Строит временный индекс из BEIR_DIR/corpus.jsonl, выполняет запросы "
                                   "queries.jsonl и оценивает по qrels/test.tsv: nDCG@10, Recall@10, "
                                   "Recall@100, MRR@10, медианное время запроса.")
    p.add_argument("beir_dir", help="папка с corpus.jsonl, queries.jsonl, qrels/test.tsv")
    p.add_argument("--mode", choices=["lexical", "hybrid", "semantic"], default="lexical",
                   help="ранжирование: lexical (только слова, по умолчанию), hybrid (слова и смысл, как "
                        "`kb search` с построенными векторами), semantic (только смысл); hybrid и semantic "
                        "сначала строят векторы набора (~0,05 с на фрагмент на ядро)")
    p.add_argument("--max-queries", type=int, default=None, metavar="N",
                   help="только первые N запросов с оценками (подвыборка; корпус набора — целиком)")
    p.add_argument("--index", default=None, metavar="DIR",
                   help="папка для индекса и векторов набора (по умолчанию временная); "
                        "повторный запуск с той же папкой не вычисляет векторы заново")
    p.add_argument("--json", action="store_true", help="результат одним объектом JSON")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("serve", help="веб-интерфейс и JSON API поиска",
                       description="Индексирует папку документов, если индекса нет или он устарел, и "
                                   "открывает веб-интерфейс и JSON API (/api/search, /api/documents).")
    _add_paths(p)
    _add_database(p)
    p.add_argument("--host", default="127.0.0.1", help="адрес (по умолчанию 127.0.0.1, только этот компьютер)")
    p.add_argument("--port", type=int, default=5000, help="порт (по умолчанию 5000)")
    p.add_argument("--debug", action="store_true", help="режим разработки: Flask с перезагрузкой при изменении кода")
    p.add_argument("--rescan", type=float, default=60.0, metavar="SECONDS",
                   help="как часто проверять папку с документами и обновлять индекс (по умолчанию 60 с; 0 — никогда)")
    p.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="имя сервера, принимаемое в заголовке Host, кроме localhost, 127.0.0.1 и [::1] "
                        "(можно несколько; также $KB_ALLOWED_HOSTS через запятую)")
    p.add_argument("--access-log", type=Path, metavar="FILE",
                   help="журнал запросов в файл (по умолчанию stderr)")
    p.add_argument("--log-queries", action="store_true",
                   help="писать в журнал тексты запросов (по умолчанию скрыты: q=…)")
    p.add_argument("--max-per-client", type=int, default=None, metavar="N",
                   help="поисковых запросов одновременно с одного адреса (по умолчанию 2 или $KB_MAX_PER_CLIENT; "
                        "0 — без ограничения)")
    p.add_argument("--proxy", type=int, nargs="?", const=1, default=None, metavar="N",
                   help="за обратным прокси с HTTPS (nginx): адрес клиента, схема и имя сервера берутся из "
                        "X-Forwarded-For/-Proto/-Host; N — сколько прокси стоит перед kb (по умолчанию 1), "
                        "cookie только по HTTPS (docs/usage.md)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="процессов сервера (по умолчанию по одному на ядро процессора; 1 — один процесс)")
    p.add_argument("--follow", metavar="URL",
                   help="узел-последователь: не индексировать, а копировать опубликованный индекс сервера-"
                        "индексатора (http://индексатор:5000) и передавать ему загрузки; нужен общий ключ "
                        "$KB_CLUSTER_SECRET (docs/usage.md, «Несколько серверов»)")
    p.add_argument("--follow-every", type=float, default=2.0, metavar="SECONDS",
                   help="с --follow: как часто спрашивать индексатор о новом поколении (по умолчанию 2 с)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("user", help="учётные записи сервера: add, list, remove, passwd, role",
                       description="Учётные записи kb serve (INDEX/accounts.sqlite3 или база --database). Пароль для add и "
                                   "passwd спрашивается в терминале или читается из stdin, если это не "
                                   "терминал: одна и та же строка дважды. Имена сравниваются без учёта "
                                   "регистра и ширины букв (Anna — это anna). remove, passwd и role "
                                   "завершают сеансы этой учётной записи в браузерах; её API-токены "
                                   "действуют, пока не отозваны.")
    _add_paths(p)
    _add_database(p)
    p.add_argument("action", choices=["add", "list", "remove", "passwd", "role"])
    p.add_argument("name", nargs="?", help="имя пользователя")
    p.add_argument("--role", choices=["staff", "admin"], default=None,
                   help="add: роль нового пользователя, staff (сотрудник) или admin (по умолчанию staff); "
                        "role: новая роль")
    p.add_argument("--json", action="store_true", help="list: в JSON")
    p.set_defaults(func=cmd_user)

    p = sub.add_parser("token", help="API-токены: create ИМЯ, revoke ТОКЕН|ИМЯ, list",
                       description="API-токены для /api/* (Authorization: Bearer ТОКЕН). create печатает "
                                   "новый токен последней строкой; хранится только его хеш. revoke принимает "
                                   "токен, его первые 10 знаков (как их показывает list) или имя пользователя "
                                   "(все его токены).")
    _add_paths(p)
    _add_database(p)
    p.add_argument("action", choices=["create", "revoke", "list"])
    p.add_argument("name", nargs="?", help="имя пользователя (create, list) или токен (revoke)")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("audit", help="журнал действий: входы, токены, загрузки, просмотры",
                       description="Журнал действий сервера (INDEX/audit.sqlite3 или база --database), новые сверху.")
    _add_paths(p)
    _add_database(p)
    p.add_argument("--limit", type=int, default=100, help="сколько записей (по умолчанию 100)")
    p.add_argument("--action", help="только это действие (login, login.failed, token.create, ...)")
    p.add_argument("--user", help="только действия этого пользователя")
    p.add_argument("--json", action="store_true", help="в JSON")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("state", help="copy: перенести учётные записи, токены, журнал и сохранённые поиски "
                                     "из папки индекса в общую базу PostgreSQL",
                       description="kb state copy --database URL: учётные записи, удалённые номера, токены, "
                                   "журнал действий, сохранённые поиски и ключ сессий одного сервера (файлы "
                                   "папки индекса) переносятся в общую базу нескольких серверов. Только в "
                                   "пустую базу; файлы остаются как были.")
    _add_paths(p)
    _add_database(p)
    p.add_argument("action", choices=["copy"])
    p.set_defaults(func=cmd_state)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        if getattr(args, "database", None):
            # Through the environment: the workers and the `kb index` children inherit it.
            os.environ["KB_DATABASE_URL"] = args.database
        from kb.state import database_url

        database_url()                  # a URL of another kind is refused before anything runs
        return args.func(args) or 0
    except KbError as e:
        print(f"kb: ошибка: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kb: прервано (interrupted)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def run() -> None:
    """The console script. A search is one query in a short-lived process, so it runs without
    the cycle collector and leaves by os._exit once its output is flushed: collections while
    the dictionaries and the lexicon load, and the interpreter's teardown of them, were ~0.1 s
    of a ~0.55 s cold `kb search` (bench/cold.py) and free nothing the process still needs."""
    argv = sys.argv[1:]
    quick = argv[:1] == ["search"]
    if quick:
        import gc

        from kb.analysis import embed

        gc.disable()
        embed.quick_start = True        # the query's vector from the engine that loads fastest
    rc = main(argv)
    if quick:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            rc = rc or 1
        os._exit(rc)
    sys.exit(rc)


if __name__ == "__main__":
    run()
