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

def cmd_index(args) -> int:
    from kb.index import update_index

    report = update_index(_corpus(args), _index(args), workers=args.workers,
                          show_progress=not args.quiet, rebuild=args.rebuild)
    if args.json:
        _print_json(report.to_json())
    else:
        for line in report.lines():
            print(line)
    return 1 if report.failed and args.strict else 0


def cmd_check(args) -> int:
    from kb.index.health import check

    health = check(_corpus(args), _index(args))
    if args.json:
        _print_json(health.to_json())
    else:
        for line in health.lines():
            print(line)
    return 0 if health.state in ("ok", "stale") else 1


def cmd_search(args) -> int:
    from kb.search import Filters, added_since, parse_since, search

    since = parse_since(args.since) if args.since else ""
    if not args.query:
        if not since:
            raise KbError("укажите запрос или --since ДАТА (give a query or --since DATE)")
        return _list_added(added_since(_index(args), since, doc_type=args.type, year=args.year), since, args)
    filters = Filters(doc_type=args.type or [], year=args.year or [], lang=args.lang or [], since=since)
    res = search(_index(args), args.query, per_page=args.limit, page=args.page, filters=filters,
                 sort=args.sort, exact=args.exact, copies=args.copies)
    if res.notice:      # cut by the time budget, or an index with no documents: one line, on stderr
        print(f"kb: {res.notice}", file=sys.stderr)
    if args.json:
        _print_json(res.to_json()["hits"] if not args.full else res.to_json())
        return 0
    if res.corrected:
        print(f"Показаны результаты по запросу: {res.corrected} (искать точно: --exact)")
    if res.latin is not None:
        print("Запрос набран латиницей, а документы на русском языке. "
              + (f"Русские термины: {', '.join(res.latin)}" if res.latin else "Наберите запрос по-русски."))
    if res.suggestion:
        print(f"Возможно, вы имели в виду: {res.suggestion}")
    print(f"Найдено документов: {res.total_docs}, фрагментов: {res.total_hits} ({res.took_ms:.0f} мс)")
    import html
    import re

    for n, g in enumerate(res.groups, start=(res.page - 1) * res.per_page + 1):
        print(f"\n{n}. {g.title}  [{g.doc_type}{', ' + str(g.year) if g.year else ''}]  {g.path}"
              + (f"  (также: {', '.join(c['path'] for c in g.also)})" if g.also else ""))
        for h in g.hits:
            where = ", ".join(x for x in (f"стр. {h.page}" if h.page else "",
                                          f"ст. {h.article}" if h.article else "") if x)
            text = html.unescape(re.sub(r"</?mark>", "**", h.snippet))
            print(f"   {('(' + where + ') ') if where else ''}{text}")
    return 0


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

    res = evaluate(Path(args.beir_dir))
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
    serve(_corpus(args), _index(args), host=args.host, port=args.port, debug=args.debug, rescan=args.rescan,
          allowed_hosts=hosts, access_log=args.access_log, log_queries=args.log_queries, max_per_client=per_client)
    return 0


# --- parser ------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kb",
        description="kb — поиск по документам НКО и юристов (русский язык). "
                    "Search engine for Russian-language NGO and legal documents.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("extract", help="извлечь чистый текст одного файла (или папки)",
                       description="Print the clean text of one file (PDF, DOCX, DOC, RTF, HTML, TXT). "
                                   "Given a folder, extracts every file and reports failures. Each file "
                                   "is read in a worker process bounded in time (KB_FILE_SECONDS, 300) "
                                   "and memory (KB_FILE_MEMORY_MB, 1024).")
    p.add_argument("file", help="путь к файлу или папке")
    p.add_argument("--json", action="store_true", help="вывод в JSON: path, format, title, pages, warnings, metadata")
    p.add_argument("--workers", type=int, default=None,
                   help="процессов для извлечения текста из папки (по умолчанию все ядра)")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("index", help="построить или обновить индекс папки документов",
                       description="Build or update the index of the corpus folder: only new and changed "
                                   "files are read; reports what was added, updated, removed, failed.")
    _add_paths(p)
    p.add_argument("--workers", type=int, default=None, help="процессов для извлечения текста (по умолчанию все ядра)")
    p.add_argument("--json", action="store_true", help="отчёт в JSON")
    p.add_argument("--quiet", action="store_true", help="без индикатора прогресса")
    p.add_argument("--strict", action="store_true", help="код возврата 1, если какой-то файл не прочитан")
    p.add_argument("--rebuild", action="store_true",
                   help="построить индекс заново (кэш извлечения сохраняется); поиск до конца работает по старому")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("check", help="проверить индекс, ничего не меняя",
                       description="Report the state of the index without changing it: its files against "
                                   "their checksums, what whoosh reads, the manifest, the extraction cache, "
                                   "and what changed in the corpus since the last kb index. Exit 0 when the "
                                   "index is sound (even if the corpus changed), 1 when it is damaged or missing.")
    _add_paths(p)
    p.add_argument("--json", action="store_true", help="отчёт в JSON")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("search", help="искать в индексе",
                       description="Search the index. Syntax: words in any form, \"phrase\", !exact, "
                                   "prefix*, -exclude, ИЛИ/OR, И/AND, тип:, год:, title: (docs/query-syntax.md).")
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
                       description="Build a throwaway index from BEIR_DIR/corpus.jsonl, run queries.jsonl and "
                                   "score against qrels/test.tsv: nDCG@10, Recall@10, Recall@100, MRR@10, "
                                   "median query time.")
    p.add_argument("beir_dir", help="папка с corpus.jsonl, queries.jsonl, qrels/test.tsv")
    p.add_argument("--json", action="store_true", help="результат одним объектом JSON")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("serve", help="веб-интерфейс и JSON API поиска",
                       description="Index the corpus when the index is missing or stale, then serve the "
                                   "web UI and the JSON API (/api/search, /api/documents) on waitress.")
    _add_paths(p)
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
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
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


if __name__ == "__main__":
    sys.exit(main())
