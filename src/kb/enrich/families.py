"""Words of one derivational family, for query expansion: `обязан` / `обязанность`,
`вносить` / `внесение`, `выселять` / `выселение`.

A client asks who «обязан вносить» the rent; the article is headed «Обязанность по внесению
платы». The lemmatizer gives each its own dictionary form, so words alone miss the heading.
Each line of src/kb/data/families.txt lists one family (`вносить | внести | внесение`); every
member finds the others, as a both-ways lexicon entry does (kb.enrich.lexicon), so the
expansions add matches and score but never decide alone which passages a query finds.
A hand-made list, not suffix rules: rules join what they should not (`гражданский` ->
`гражданин`) and miss the alternations that matter (`вносить` / `внесение`); both were
measured (docs/ranking.md).
"""

from __future__ import annotations

from pathlib import Path

from kb.enrich.lexicon import Alternative, Lexicon, LexiconError, _words, data_path, read_list

__all__ = ["load_families", "parse_families", "default_families_path"]


def parse_families(text: str, source: str = "<families>") -> Lexicon:
    entries = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        members = [_words(part) for part in line.split("|")]
        if len(members) < 2 or any(not m for m in members):
            raise LexiconError(f"{source}:{lineno}: ожидается 'слово | слово | ...' (got {line[:60]!r})")
        entries.append((members[0], [Alternative(m) for m in members[1:]], True))
    return Lexicon(entries)


def default_families_path() -> Path:
    return data_path("families.txt")


def load_families(path: str | Path | None = None) -> Lexicon:
    """The families file (the package's own when `path` is None)."""
    return parse_families(*read_list(path, "families.txt", "список однокоренных слов"))
