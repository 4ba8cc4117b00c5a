"""kb's query syntax, parsed into the index's engine-neutral query model.

    выселение неуплата          words, any inflection (default combination below)
    "право на жилье"            phrase, any inflection of each word
    !жилья   !"права граждан"   exact word form / exact phrase
    жил*                        prefix of the word form (never lemmatized)
    -аренда   НЕ аренда         exclude
    a ИЛИ b   a OR b            either
    a И b     a AND b           both
    тип:отчёт  год:2019  title:кодекс  статья:84   fields
    ( ... )                     grouping
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache

from kb.analysis import KYRGYZ_INFLECTIONS, kyrgyz_word
from kb.enrich.glossary import load_glossary
from kb.enrich.families import load_families
from kb.enrich.lexicon import _norm_word, load_lexicon
from kb.errors import QueryError
from kb.index import querymodel as qm
from kb.morphology import is_known

MAX_QUERY_CHARS = 500
MAX_WORDS = 40
MIN_PREFIX = 2
# Nesting of parentheses and НЕ/NOT: the parser recurses once per level, so the limit is
# checked before recursing (330 "(" used to end in a RecursionError).
MAX_DEPTH = 10

# Plain words combine as OR with a bonus for matching more of them: chosen by `kb eval`
# (docs/ranking.md); a natural question then still finds passages that lack its filler words.
DEFAULT_COORD = 0.0
FAMILY_WEIGHT = 0.7     # of a word's derivational family, against the word typed (docs/ranking.md)

FIELD_NAMES = {
    "тип": "doc_type", "type": "doc_type",
    "год": "year", "year": "year",
    "title": "title", "заголовок": "title", "название": "title",
    "статья": "article", "article": "article",
    "ссылается": "cites", "cites": "cites",
}
_TYPE_ALIASES = {
    "отчет": "отчёт", "отчёт": "отчёт", "report": "отчёт",
    "акт": "нормативный акт", "закон": "нормативный акт", "нормативный акт": "нормативный акт",
    "law": "нормативный акт", "исследование": "исследование", "study": "исследование",
    "консультация": "консультация", "consultation": "консультация", "другое": "другое",
}
# Operators are words in capitals only: in a natural question `и`, `или`, `не`, `and`
# and `&` are ordinary words ("Tesla Electric Light & Manufacturing").
_OR = {"ИЛИ", "OR"}
_AND = {"И", "AND"}
_NOT = {"НЕ", "NOT"}

_LEX = re.compile(
    r'\s*(?:'
    r'(?P<lp>\()|(?P<rp>\))'
    r'|(?P<field>[^\W\d_]+):(?:"(?P<fq>[^"]*)"?|(?P<fv>[^\s()"]+))'
    r'|(?P<pre>[-!]{1,2})?"(?P<phrase>[^"]*)"?'
    r'|(?P<wpre>[-!]{1,2})?(?P<word>[^\s()"]+)'
    r')'
)


@dataclass
class Highlight:
    """What a passage's words are checked against to mark them."""

    lemma_words: list[str] = field(default_factory=list)
    exact_words: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)


@dataclass
class Parsed:
    node: object
    highlight: Highlight
    plain_words: list[str]          # candidates for "did you mean"
    relaxable: bool = False         # has required phrases that a second try may loosen
    relaxed: bool = False           # this is that second try
    dropped: int = 0                # plain words past MAX_WORDS left out (a pasted long title)


@dataclass
class _Lexeme:
    kind: str          # word, phrase, field, lp, rp, or, and, not
    text: str = ""
    neg: bool = False
    exact: bool = False
    name: str = ""


def _lex(q: str) -> list[_Lexeme]:
    out: list[_Lexeme] = []
    pos = 0
    while pos < len(q):
        m = _LEX.match(q, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        if m.group("lp"):
            out.append(_Lexeme("lp"))
        elif m.group("rp"):
            out.append(_Lexeme("rp"))
        elif m.group("field") and m.group("field").lower() in FIELD_NAMES:
            val = m.group("fq") if m.group("fq") is not None else m.group("fv")
            out.append(_Lexeme("field", (val or "").strip(), name=FIELD_NAMES[m.group("field").lower()]))
        elif m.group("field"):
            # "word:thing" that is no field: treat as two words
            for w in (m.group("field"), m.group("fq") or m.group("fv") or ""):
                if w:
                    out.append(_Lexeme("word", w))
        elif m.group("phrase") is not None:
            pre = m.group("pre") or ""
            out.append(_Lexeme("phrase", m.group("phrase"), neg="-" in pre, exact="!" in pre))
        else:
            pre, word = m.group("wpre") or "", m.group("word")
            if not pre and word in _OR:
                out.append(_Lexeme("or"))
            elif not pre and word in _AND:
                out.append(_Lexeme("and"))
            elif not pre and word in _NOT:
                out.append(_Lexeme("not"))
            else:
                out.append(_Lexeme("word", word, neg="-" in pre, exact="!" in pre))
    return out


class _Parser:
    def __init__(self, lexemes: list[_Lexeme], coord: float, lexicon=None, relaxed: bool = False,
                 families=None):
        self.lexicon = lexicon
        self.families = families
        self.relaxed = relaxed
        self.phrases = 0
        self.lx = lexemes
        self.i = 0
        self.coord = coord
        self.hl = Highlight()
        self.plain: list[str] = []
        self.depth = 0

    def deeper(self) -> None:
        if self.depth >= MAX_DEPTH:
            raise QueryError(f"слишком много вложенных скобок или НЕ: можно до {MAX_DEPTH} уровней "
                             "(query nested too deeply)")
        self.depth += 1

    def peek(self) -> _Lexeme | None:
        return self.lx[self.i] if self.i < len(self.lx) else None

    def take(self) -> _Lexeme:
        lx = self.lx[self.i]
        self.i += 1
        return lx

    def parse(self):
        node = self.or_expr()
        if self.peek() is not None:
            raise QueryError("лишняя закрывающая скобка в запросе (unbalanced parenthesis)")
        return node

    def or_expr(self):
        parts = [self.and_expr()]
        while self.peek() is not None and self.peek().kind == "or":
            self.take()
            parts.append(self.and_expr())
        parts = [p for p in parts if p is not None]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else qm.Any(tuple(parts))

    def and_expr(self):
        items, explicit = [], False
        while (lx := self.peek()) is not None and lx.kind not in ("or", "rp"):
            if lx.kind == "and":
                self.take()
                explicit = True
                continue
            item = self.unary()
            if item is not None:
                items.append(item)
        if not items:
            return None
        if explicit:
            return items[0] if len(items) == 1 else qm.All(tuple(items))
        return self.combine(items)

    def expand(self, soft: list) -> list:
        """Alternatives from the lexicon (`ГК` -> `гражданский кодекс`, `капремонт` ->
        `капитальный ремонт`) join the plain words as further optional matches."""
        if self.lexicon is None or not soft:
            return soft
        tokens = [w.text for w in soft]
        found = compound_terms(self.lexicon, tokens)
        extra = self._alternatives(found, soft, [])
        # A word's family (`обязан` -> `обязанность`) counts for less than the word typed:
        # with a full weight, a passage holding both forms counted the word twice.
        kin = self._alternatives(self.families.matches(tokens), soft, extra) if self.families else []
        out = soft + ([qm.Any(tuple(extra), expansion=True)] if extra else [])
        return out + ([qm.Any(tuple(kin), expansion=True, weight=FAMILY_WEIGHT)] if kin else [])

    def _alternatives(self, found, soft: list, taken: list) -> list:
        extra = []
        for m in found:
            for alt in m.alternatives:
                words = tuple(alt)
                # A description of three words or more may have one word inserted (регистрация
                # адреса по месту жительства); two-word names stay exact (ГК is not ГПК).
                node = (qm.Word(words[0], "lemma") if len(words) == 1
                        else qm.Phrase(words, slop=2 if len(words) >= 3 else 1))
                if node not in soft and node not in taken and node not in extra:
                    extra.append(node)
                    self.hl.lemma_words.extend(words)
        return extra

    def _soft(self, n) -> bool:
        if isinstance(n, qm.Word) and n.mode == "lemma":
            return True
        if isinstance(n, qm.Any):
            return True          # a (group) of a natural question: "(в градусах Цельсия)"
        return self.relaxed and isinstance(n, qm.Phrase)

    def combine(self, items):
        """Default combination: plain words OR'ed with a coordination bonus; the rest required.

        Relaxed (the second try when a strict query found nothing): phrases are optional too,
        and their words count one by one."""
        if self.relaxed:
            items = items + [qm.Word(w) for n in items if isinstance(n, qm.Phrase) for w in n.words]
        soft = self.expand([n for n in items if isinstance(n, qm.Word) and n.mode == "lemma"])
        soft += [n for n in items if self._soft(n) and not (isinstance(n, qm.Word) and n.mode == "lemma")]
        hard = [n for n in items if not self._soft(n)]
        nodes = list(hard)
        if soft:
            nodes.insert(0, soft[0] if len(soft) == 1 else qm.Any(tuple(soft), coord=self.coord))
        if len(nodes) == 1 and not isinstance(nodes[0], qm.Not):
            return nodes[0]
        return qm.All(tuple(nodes))

    def unary(self):
        lx = self.peek()
        if lx.kind == "not":
            self.take()
            if self.peek() is None or self.peek().kind in ("or", "rp", "and"):
                raise QueryError("после НЕ/NOT нужно слово (NOT needs a word)")
            self.deeper()
            inner = self.unary()
            self.depth -= 1
            return qm.Not(inner) if inner is not None else None
        if lx.kind == "lp":
            self.take()
            self.deeper()
            inner = self.or_expr()
            self.depth -= 1
            if self.peek() is None or self.peek().kind != "rp":
                raise QueryError("не закрыта скобка в запросе (unclosed parenthesis)")
            self.take()
            return inner
        if lx.kind == "rp":
            raise QueryError("лишняя закрывающая скобка в запросе (unbalanced parenthesis)")
        self.take()
        if lx.kind == "field":
            return self.field(lx)
        if lx.kind == "phrase":
            return self.phrase(lx)
        return self.word(lx)

    def field(self, lx: _Lexeme):
        if not lx.text:
            raise QueryError(f"пустое значение поля «{lx.name}:» (empty field value)")
        value = lx.text
        if lx.name == "doc_type":
            value = _TYPE_ALIASES.get(value.lower().replace("_", " "), value.lower())
        elif lx.name == "year" and not re.fullmatch(r"\d{4}", value):
            raise QueryError(f"год должен быть из четырёх цифр: «{value}» (year must be YYYY)")
        elif lx.name == "title":
            self.hl.lemma_words.append(value)
        return qm.FieldMatch(lx.name, value)

    def phrase(self, lx: _Lexeme):
        words = tuple(w for w in re.findall(r"[^\s]+", lx.text))
        if not words:
            return None
        if len(words) == 1:
            return self.word(_Lexeme("word", words[0], neg=lx.neg, exact=lx.exact))
        node = qm.Phrase(words, exact=lx.exact)
        self.phrases += 1
        if lx.neg:
            return qm.Not(node)
        (self.hl.exact_words if lx.exact else self.hl.lemma_words).extend(words)
        return node

    def word(self, lx: _Lexeme):
        text = lx.text
        if text.endswith("*"):
            stem = text.rstrip("*")
            if len(stem.strip("-!")) < MIN_PREFIX:
                raise QueryError(f"шаблон «{text}» слишком короткий: нужно не меньше {MIN_PREFIX} букв "
                                 "перед * (prefix too short)")
            node = qm.Word(stem, "prefix")
            if not lx.neg:
                self.hl.prefixes.append(stem)
        elif lx.exact:
            node = qm.Word(text, "exact")
            if not lx.neg:
                self.hl.exact_words.append(text)
        else:
            if not any(ch.isalnum() for ch in text):
                return None
            node = qm.Word(text, "lemma")
            if not lx.neg:
                self.hl.lemma_words.append(text)
                self.plain.append(text)
        return qm.Not(node) if lx.neg else node


def kyrgyz_parts(words: list[str]) -> list[str]:
    """The words with each hyphenated Kyrgyz compound split into its parts: Kyrgyz writes
    them with a hyphen or without (`турак-жай`, the glossary's `турак жай`)."""
    return [p for w in words for p in (w.split("-") if "-" in w and kyrgyz_word(w) else [w])]


_KY_LETTERS = re.compile("[өүң]", re.I)
_CYRILLIC_WORD = re.compile(r"[а-яё]+(?:-[а-яё]+)*")
MIN_KYRGYZ_BASE = 3     # kb.analysis's Kyrgyz stems are as short: `сот`, `жер`
_UNVOICED = {"г": "к", "б": "п"}


def lexicon_terms(lexicon, words: list[str]) -> list:
    """The lexicon's terms in `words` (Lexicon.matches), an inflected Kyrgyz word read as the
    glossary's (`жатаканадан` as `жатакана`, kyrgyz_bases): only the terms holding a word so
    read are added, and they replace the shorter ones found inside them as typed (`турак жай
    кодексинде` is `жилищный кодекс`, not also `турак жай`, `жилье`). A word is read two
    ways, as the longest glossary word it ends in (`келишимин` -> `келишими`, which `эмгек
    келишими`, трудовой договор, needs) and as the longest one-word term (`келишим`,
    договор, when no `эмгек` precedes); a term inside a longer one found is dropped."""
    found = lexicon.matches(words)
    readings = [r for r in (kyrgyz_bases(words), kyrgyz_bases(words, whole=True)) if r != words]
    read: list = []
    for bases in readings:
        for m in lexicon.matches(bases):
            if any(bases[i] != words[i] for i in range(m.start, m.end)) and \
                    not any(r.start <= m.start and m.end <= r.end for r in read):
                read = [r for r in read if not (m.start <= r.start and r.end <= m.end)] + [m]
    return [m for m in found if not any(r.start <= m.start and m.end <= r.end for r in read)] + read


def compound_terms(lexicon, words: list[str]) -> list:
    """lexicon_terms of the words with hyphenated Kyrgyz compounds split (kyrgyz_parts), and
    of the words as typed when that differs."""
    parts = kyrgyz_parts(words)
    return lexicon_terms(lexicon, parts) + (lexicon_terms(lexicon, words) if parts != words else [])


def glossary_russian(words: list[str]) -> list[str]:
    """The Russian terms the glossary has for a Kyrgyz query's or story's words, in their
    order, as the parser finds them (compound_terms); each once."""
    out: list[str] = []
    for m in sorted(compound_terms(default_glossary().query_lexicon, words), key=lambda m: m.start):
        term = " ".join(m.alternatives[0])
        if term not in out:
            out.append(term)
    return out


def kyrgyz_bases(words: list[str], whole: bool = False) -> list[str]:
    """The words with each inflected form of a glossary Kyrgyz word replaced by that word:
    the lexicon matches Russian lemmas, and a Kyrgyz case ending never reduces to the
    glossary's form (`жатаканадан` -> `жатакана`, `мыйзамга` -> `мыйзам`, `соттун` -> `сот`).
    `whole`: the longest form that is a one-word term by itself (kyrgyz_base)."""
    return [kyrgyz_base(w, whole) for w in words]


def kyrgyz_base(word: str, whole: bool = False) -> str:
    """The glossary's Kyrgyz word that `word` is an inflected form of (normalised), else `word`.

    Conservative: only known endings (kb.analysis.KYRGYZ_INFLECTIONS) come off, only when what
    remains is a word of the glossary's Kyrgyz terms (the longest such; with `whole`, the
    longest that is a one-word term, if one is: `укуктарыбызды` is `укуктары` of `адам
    укуктары`, or `укук`), of three letters at least; a word of the Russian dictionary is
    left alone (`сотка`, `пули`, `жерди`) unless it has ө ү ң. Kyrgyz voices a final к, п
    before a vowel: `менчиги` is `менчик`."""
    glossary = default_glossary()
    forms = _bases(word, glossary.kyrgyz_words)
    if whole:
        terms = [f for f in forms if f in glossary.kyrgyz_one_word_terms]
        return terms[0] if terms else (forms[0] if forms else word)
    return forms[0] if forms else word


@lru_cache(maxsize=10_000)
def _bases(word: str, known: frozenset[str]) -> tuple[str, ...]:
    """Every glossary word `word` may be an inflected form of, the longest first."""
    norm = _norm_word(word)
    if norm in known or not _CYRILLIC_WORD.fullmatch(norm):
        return ()
    if not _KY_LETTERS.search(word) and is_known(word):
        return ()
    out: list[str] = []
    for cut in range(len(norm) - 1, MIN_KYRGYZ_BASE - 1, -1):
        if norm[cut:] not in KYRGYZ_INFLECTIONS:
            continue
        base = norm[:cut]
        for form in (base, base[:-1] + _UNVOICED.get(base[-1], base[-1])):
            if form in known and form not in out:
                out.append(form)
    return tuple(out)


@lru_cache(maxsize=1)
def default_glossary():
    """The RU/EN/KY glossary: $KB_GLOSSARY, else the one in the package."""
    return load_glossary(os.environ.get("KB_GLOSSARY") or None)


@lru_cache(maxsize=1)
def default_lexicon():
    """The lexicon of abbreviations and synonyms ($KB_LEXICON, else the one in the package),
    with the glossary's English and Kyrgyz terms leading to the Russian ones."""
    return load_lexicon(os.environ.get("KB_LEXICON") or None) + default_glossary().query_lexicon


@lru_cache(maxsize=1)
def default_families():
    """Derivational families ($KB_FAMILIES, else the package's list; `off`: none)."""
    fam = os.environ.get("KB_FAMILIES") or None
    return None if fam == "off" else load_families(fam)


def parse(query: str, coord: float = DEFAULT_COORD, expand: bool = True, relaxed: bool = False) -> Parsed:
    """Parse a user query; raises QueryError with a message fit to show."""
    q = (query or "").strip()
    if not q:
        raise QueryError("пустой запрос (empty query)")
    if len(q) > MAX_QUERY_CHARS:
        raise QueryError(f"запрос слишком длинный: {len(q)} символов, можно до {MAX_QUERY_CHARS} "
                         "(query too long)")
    lexemes = _lex(q)
    dropped = 0
    if sum(1 for lx in lexemes if lx.kind in ("word", "phrase", "field")) > MAX_WORDS:
        # Only plain words (a pasted title or paragraph) are cut to the first MAX_WORDS: they are
        # all optional, so the cut narrows nothing; a long query with syntax is refused.
        if not all(_plain_word(lx) for lx in lexemes):
            raise QueryError(f"в запросе больше {MAX_WORDS} слов (too many words)")
        dropped, lexemes = len(lexemes) - MAX_WORDS, lexemes[:MAX_WORDS]
    p = _Parser(lexemes, coord, default_lexicon() if expand else None, relaxed,
                default_families() if expand else None)
    node = p.parse()
    if node is None:
        raise QueryError("в запросе нет слов для поиска (no words to search for)")
    if isinstance(node, qm.Not) or (isinstance(node, qm.All) and all(isinstance(n, qm.Not) for n in node.nodes)):
        raise QueryError("запрос состоит только из исключений: добавьте слово для поиска "
                         "(query has only exclusions)")
    return Parsed(node, p.hl, p.plain, relaxable=p.phrases > 0 and not relaxed, relaxed=relaxed, dropped=dropped)


def _plain_word(lx: _Lexeme) -> bool:
    return lx.kind == "word" and not lx.neg and not lx.exact and not any(c in lx.text for c in "*?")
