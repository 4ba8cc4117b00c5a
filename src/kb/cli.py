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

def cmd_extract(args) -> int:
    from kb.extract import extract, extract_many, iter_files

    target = Path(args.file)
    if target.is_dir():
        failed = 0
        results = []
        for path, res in extract_many(iter_files(target), workers=args.workers):
            if isinstance(res, KbError):
                failed += 1
                print(f"ошибка: {res}", file=sys.stderr)
            elif args.json:
                results.append(res.to_json())
            else:
                print(f"{path}: {res.format}, {res.page_count} стр., {len(res.text)} симв."
                      + (f"; предупреждения: {'; '.join(res.warnings)}" if res.warnings else ""))
        if args.json:
            _print_json(results)
        print(f"Извлечено: {len(results) if args.json else 'см. выше'}; ошибок: {failed}", file=sys.stderr)
        return 1 if failed else 0
    doc = extract(target)
    if args.json:
        _print_json(doc.to_json())
    else:
        for w in doc.warnings:
            print(f"предупреждение: {w}", file=sys.stderr)
        sys.stdout.write(doc.text + "\n")
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
                                   "Given a folder, extracts every file and reports failures.")
    p.add_argument("file", help="путь к файлу или папке")
    p.add_argument("--json", action="store_true", help="вывод в JSON: path, format, title, pages, warnings, metadata")
    p.add_argument("--workers", type=int, default=1, help="число процессов для папки (по умолчанию 1)")
    p.set_defaults(func=cmd_extract)

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
