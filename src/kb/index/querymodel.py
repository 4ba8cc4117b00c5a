"""An engine-neutral query: what the search stage asks and the index answers.

The search stage parses user syntax into these nodes; `kb.index` translates them
for whoosh. Words are kept as typed; the index analyses them itself, so that the
same analyzer serves documents and queries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Word:
    text: str
    mode: str = "lemma"      # "lemma": any inflection; "exact": this form only; "prefix": surface prefix


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]
    exact: bool = False      # all words in exactly these forms
    slop: int = 1            # how far apart the words may stand


@dataclass(frozen=True)
class FieldMatch:
    name: str                # "doc_type", "year", "title", "article", "path", "cites"
    value: str


@dataclass(frozen=True)
class Not:
    node: "Node"


@dataclass(frozen=True)
class All:
    nodes: tuple["Node", ...]


@dataclass(frozen=True)
class Any:
    nodes: tuple["Node", ...]
    # Extra weight for passages matching more of the nodes (a coordination bonus).
    coord: float = 0.0
    # Alternatives the search stage added (the lexicon's `ЖК` -> `Жилищный кодекс`): they add
    # matches and score, but never decide alone which passages the typed words may find.
    expansion: bool = False
    # What the node's score counts for (a word's derivational family: less than the word).
    weight: float = 1.0


Node = Word | Phrase | FieldMatch | Not | All | Any


@dataclass
class Filters:
    """Facet selections: a passage must match one value of each non-empty list."""

    doc_type: list[str] = field(default_factory=list)
    year: list[str] = field(default_factory=list)
    cites: list[str] = field(default_factory=list)
    doc_id: list[str] = field(default_factory=list)
    exclude_doc_id: list[str] = field(default_factory=list)
    # Of consultation records; the search stage turns them into doc_id lists from its catalog.
    category: list[str] = field(default_factory=list)
    region: list[str] = field(default_factory=list)
    # Languages of documents ("ky", "ru"; kb.index.build.languages), turned into doc ids too.
    lang: list[str] = field(default_factory=list)
    # Documents added to the collection at or after this ISO date/time (UTC); "" for any.
    since: str = ""


class Deadline:
    """The time one query may spend in the index; past it, the index returns what it has found.

    The clock starts at the query's first search (`start()`, called by the index once it holds
    the searcher), so time spent queueing behind another query does not count; the later
    searches of the same query (the relaxed second try) share what is left. `hit` tells
    whether some search was cut.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.hit = False
        self._at: float | None = None

    def start(self) -> None:
        if self._at is None:
            self._at = time.monotonic() + self.seconds

    def passed(self) -> bool:
        if not self.hit and self._at is not None and time.monotonic() >= self._at:
            self.hit = True
        return self.hit
