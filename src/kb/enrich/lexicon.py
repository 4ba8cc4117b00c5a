"""Abbreviations, synonyms and everyday words for legal terms, for query expansion.

The lexicon is a plain text file (format in src/kb/data/lexicon.txt and
docs/enrich.md): `TERM = ALT | ALT` (both ways), `TERM => ALT` (one way), and
`[context: w1, w2]` after an alternative to choose a meaning by the other words of
the query (`ст. 84 ЖК РФ` -> Жилищный кодекс; `ЖК КР принял закон` -> Жогорку Кенеш).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from kb.errors import KbError

__all__ = ["Lexicon", "LexiconError", "Match", "load_lexicon", "default_lexicon_path"]

_WORD = re.compile(r"[\w-]+", re.UNICODE)


class LexiconError(KbError):
    """A line of the lexicon file cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Alternative:
    words: tuple[str, ...]
    context: frozenset[str] = frozenset()

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class Match:
    """A lexicon term found in a token list: tokens[start:end] and what it may mean."""

    start: int
    end: int
    alternatives: tuple[tuple[str, ...], ...]


_KYRGYZ = str.maketrans("өүң", "оун")


def _norm_word(w: str) -> str:
    # Kyrgyz letters fold as in kb.analysis.normalize (`өкмөтү` = `окмоту`).
    return w.strip().lower().replace("ё", "е").translate(_KYRGYZ).strip(".,;:!?()«»\"'").strip()


@lru_cache(maxsize=100_000)
def _lemma(w: str) -> str:
    # Short words and abbreviations keep their surface form: `ГО`, `п`, `ст` have
    # misleading lemmas. English words (the glossary) meet their inflections by stem.
    if len(w) > 3 and re.fullmatch(r"[a-z]+", w):
        import Stemmer

        return Stemmer.Stemmer("english").stemWord(w)
    if len(w) <= 3 or not re.fullmatch(r"[а-яе-]+", w):
        return w
    from kb.morphology import analyzer

    return analyzer().parse(w)[0].normal_form.replace("ё", "е")


def _words(phrase: str) -> tuple[str, ...]:
    return tuple(_norm_word(w) for w in _WORD.findall(phrase) if _norm_word(w))


class Lexicon:
    """Terms and their alternatives; see `expansions` and `matches`."""

    def __add__(self, other: "Lexicon") -> "Lexicon":
        return Lexicon(self.entries + other.entries)

    def knows(self, word: str) -> bool:
        """True when `word` is (a form of) a one-word term or alternative of the lexicon."""
        return (_lemma(_norm_word(word)),) in self._map

    def __init__(self, entries: list[tuple[tuple[str, ...], list[Alternative], bool]]):
        self.entries = entries
        # lemma key -> alternatives (as Alternative, context kept for disambiguation)
        self._map: dict[tuple[str, ...], list[Alternative]] = {}
        for term, alts, both in entries:
            self._add(term, alts)
            if both:
                plain = [a for a in alts if not a.context]
                for a in alts:
                    back = [Alternative(term)] + ([b for b in plain if b is not a] if not a.context else [])
                    self._add(a.words, back)
        self._max_len = max((len(k) for k in self._map), default=0)

    def _add(self, words: tuple[str, ...], alts: list[Alternative]) -> None:
        key = tuple(_lemma(w) for w in words)
        have = self._map.setdefault(key, [])
        for a in alts:
            if a.words != words and all(a.words != b.words for b in have):
                have.append(a)

    def __len__(self) -> int:
        return len(self.entries)

    def matches(self, tokens: list[str], context: list[str] | None = None) -> list[Match]:
        """Terms found in `tokens` (longest first, left to right, not overlapping)."""
        norm_tokens = [_norm_word(t) for t in tokens]
        lemmas = [_lemma(t) for t in norm_tokens]
        ctx_all = set(norm_tokens) | set(lemmas) | {_norm_word(c) for c in context or []}
        ctx_all |= {_lemma(c) for c in list(ctx_all)}
        out: list[Match] = []
        i = 0
        while i < len(tokens):
            for n in range(min(self._max_len, len(tokens) - i), 0, -1):
                key = tuple(lemmas[i:i + n])
                alts = self._map.get(key)
                if alts is None:
                    continue
                span = set(norm_tokens[i:i + n]) | set(lemmas[i:i + n])
                ctx = ctx_all - span if context is None else ctx_all
                chosen = _disambiguate(alts, ctx)
                out.append(Match(i, i + n, tuple(a.words for a in chosen)))
                i += n
                break
            else:
                i += 1
        return out

    def expansions(self, phrase_tokens: list[str], context: list[str] | None = None, limit: int = 20) -> list[list[str]]:
        """Alternative phrases for `phrase_tokens`: each found term replaced by each of
        its alternatives in turn (one replacement per phrase, the original excluded),
        then all terms replaced by their first alternative together."""
        tokens = list(phrase_tokens)
        found = self.matches(tokens, context)
        out: list[list[str]] = []
        for m in found:
            for alt in m.alternatives:
                out.append(tokens[:m.start] + list(alt) + tokens[m.end:])
        if len(found) > 1:
            combined: list[str] = []
            pos = 0
            for m in found:
                combined += tokens[pos:m.start] + list(m.alternatives[0])
                pos = m.end
            out.append(combined + tokens[pos:])
        seen, uniq = set(), []
        for phrase in out:
            k = tuple(_norm_word(w) for w in phrase)
            if k not in seen and k != tuple(_norm_word(w) for w in tokens):
                seen.add(k)
                uniq.append(phrase)
        return uniq[:limit]


def _disambiguate(alts: list[Alternative], ctx: set[str]) -> list[Alternative]:
    scored = [(len(a.context & ctx), a) for a in alts if a.context]
    best = max((s for s, _ in scored), default=0)
    if best == 0:
        return alts
    return [a for a in alts if not a.context or len(a.context & ctx) == best]


_LINE = re.compile(r"^(?P<term>[^=]+?)\s*(?P<op>=>|=)\s*(?P<alts>.+)$")
_CTX = re.compile(r"\[\s*context\s*:\s*(?P<words>[^\]]*)\]\s*$", re.I)


def parse_lexicon(text: str, source: str = "<lexicon>") -> Lexicon:
    entries = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise LexiconError(f"{source}:{lineno}: ожидается 'ТЕРМИН = вариант | вариант' (got {line[:60]!r})")
        term = _words(m.group("term"))
        if not term:
            raise LexiconError(f"{source}:{lineno}: пустой термин")
        alts = []
        for part in m.group("alts").split("|"):
            part = part.strip()
            ctx: frozenset[str] = frozenset()
            c = _CTX.search(part)
            if c:
                ctx = frozenset(_norm_word(w) for w in c.group("words").split(",") if _norm_word(w))
                ctx = ctx | {_lemma(w) for w in ctx}
                part = part[: c.start()].strip()
            words = _words(part)
            if not words:
                raise LexiconError(f"{source}:{lineno}: пустой вариант")
            alts.append(Alternative(words, ctx))
        entries.append((term, alts, m.group("op") == "="))
    return Lexicon(entries)


def data_path(name: str) -> Path:
    """A word list shipped in the package (src/kb/data/NAME)."""
    return Path(str(resources.files("kb") / "data" / name))


def read_list(path: str | Path | None, default: str, what: str) -> tuple[str, str]:
    """(text, its name for messages) of a word list: `path`, else the package's `default`;
    a file that does not read is a LexiconError naming it and `what` it is."""
    p = Path(path) if path else data_path(default)
    try:
        return p.read_text(encoding="utf-8-sig"), str(p)
    except (OSError, UnicodeDecodeError) as e:
        raise LexiconError(f"{p}: не удаётся прочитать {what}: {e}") from None


def default_lexicon_path() -> Path:
    return data_path("lexicon.txt")


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """Read a lexicon file (the package's own when `path` is None)."""
    return parse_lexicon(*read_list(path, "lexicon.txt", "словарь"))
