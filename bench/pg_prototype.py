"""PostgreSQL full-text search over kb's own index terms: a measured prototype (issue 15, item 7).

Bench only: kb does not depend on PostgreSQL. The question it answers is whether kb's
analysis (pymorphy3 lemmas, compound words, Kyrgyz stems: kb.analysis) can be kept whole
while a server engine stores and ranks the terms, so that only `kb.index` would change.

What it does, on one BEIR-style set (default ../shared/data/bench/legal-ru-dev, 6,822 articles):
  1. each passage's title and body go through kb's own analyzer (kb.index._analyzers.
     LemmaAnalyzer, the one whoosh's `title` and `body` fields use); the terms, with their
     positions, become one `tsvector` (title positions labelled A, body D) typed in as a
     literal, so PostgreSQL's `simple` configuration never re-analyses anything; a GIN
     index over it; side tables for BM25: df per (field, term), length per passage and
     field, passages and average length per field. Times and sizes are printed.
  2. every query goes through kb's own query path: kb.search.parse -> the querymodel ->
     kb.index._engine.Translator (lexicon, compound words, stop-word weights, title
     boost, common words under AndMaybe), fed with PostgreSQL's df table
     instead of whoosh's reader; the whoosh query it yields is flattened into weighted
     (field, term) leaves and a tsquery OR of terms. Ranked (a) by ts_rank_cd and (b) by BM25
     computed in SQL (K1, B, TITLE_B, TITLE_BOOST and Lucene's idf as kb.index._engine), tf
     read from the candidates' tsvectors, and (c) the same BM25 from a postings side table
     under a btree (the relational inverted index, for comparison).
  3. the same queries through kb's whoosh index of the same passages: kb.index's BM25
     ranking (Reader.search: no word-vector rerank, no passage vectors) and `kb eval`'s
     ranking (kb.search.ranked, mode lexical: BM25 + the word-vector rerank). Printed:
     query p50/p95 per ranking, nDCG@10 against the qrels, and agreement with kb.index's
     BM25 (overlap@10, share of identical top-1, and of top-1 identical or tied for first).
     Figures and their reading: docs/scale.md, section (d).

Getting PostgreSQL (Debian; the server, initdb and pg_ctl):
    apt-get install -y postgresql          # Debian 12: PostgreSQL 15
and the Python driver, in kb's venv only (not a dependency of kb):
    .venv/bin/pip install 'psycopg[binary]'

Run:
    .venv/bin/python bench/pg_prototype.py                          # legal corpus, legal + xquad questions
    .venv/bin/python bench/pg_prototype.py --set ../shared/data/bench/xquad-ru
    .venv/bin/python bench/pg_prototype.py --dsn 'host=/tmp/pg dbname=kb'   # an existing server
                                        # (its tables kb_passage, kb_df, kb_field, kb_tf are replaced)
    .venv/bin/python bench/pg_prototype.py --explain                # also the plans of the first question

Without --dsn it starts a throwaway cluster of its own (initdb into a temporary folder, a
Unix socket there, no TCP port; as root it runs the server as the `postgres` user) and
removes it at the end. It installs nothing.

Known differences from kb's ranking, on purpose (a prototype of the term mapping, not of
every query shape): phrases (from the lexicon), compound-word sequences and AND are scored
as OR of their terms; a tsvector keeps at most 256 positions of a term per passage, so tf
is capped there (the load counts how often). Both are reported.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import query as wq
from whoosh.util.numeric import byte_to_length, length_to_byte

from kb.index import _engine
from kb.index._analyzers import LemmaAnalyzer

ROOT = Path(__file__).resolve().parents[1]
SETS = ROOT.parent / "shared" / "data" / "bench"

FIELDS = ("body", "title")
# tsvector limits (PostgreSQL docs, "Text Search Types"): positions above 16383 are set to
# 16383, and a lexeme keeps at most 256 positions.
MAX_POS = 16383
MAX_POSITIONS = 256
# ts_rank_cd's weights for labels {D, C, B, A}: body (D) 1/3 of the title (A), the ratio of
# kb's TITLE_BOOST.
RANK_WEIGHTS = "{0.333333, 0.333333, 0.333333, 1.0}"


# --- passages: kb's terms -> tsvector -------------------------------------------------

@dataclass
class Analyzed:
    """One passage as kb's analyzer sees it: term -> positions per field, and field lengths."""

    pid: str
    terms: dict[str, dict[str, list[int]]]      # field -> term -> positions (0-based, as whoosh)
    lengths: dict[str, int]                     # field -> terms posted (whoosh's field length)


def analyze(pid: str, title: str, body: str) -> Analyzed:
    """The index terms whoosh gets for `title` and `body` (kb.index._analyzers.LemmaAnalyzer).

    A field's length is counted as whoosh counts it: every term posted, so a hyphenated
    compound counts its whole form and each of its parts."""
    ana = LemmaAnalyzer()
    terms: dict[str, dict[str, list[int]]] = {}
    lengths: dict[str, int] = {}
    for f, text in (("title", title), ("body", body)):
        per: dict[str, list[int]] = {}
        n = 0
        for tok in ana(text or "", positions=True):
            per.setdefault(tok.text, []).append(tok.pos)
            n += 1
        terms[f], lengths[f] = per, n
    return Analyzed(pid, terms, lengths)


def stored_length(n: int) -> int:
    """A field length as kb's BM25 reads it: whoosh keeps one byte per passage and field
    (a logarithmic approximation above ~10 terms), so the SQL side stores the same value."""
    return byte_to_length(length_to_byte(n)) if n else 0


def _quote(lexeme: str) -> str:
    """A lexeme in tsvector/tsquery input syntax: single quotes, with ' and \\ doubled."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass
class Capped:
    """What the tsvector could not hold exactly (counted over a load)."""

    positions: int = 0      # (passage, term) pairs with more than 256 positions: tf capped at 256
    clamped: int = 0        # positions above 16383, clamped (several may merge into one)


def tsvector_literal(a: Analyzed, capped: Capped | None = None) -> str:
    """The passage's terms as a tsvector literal: title positions first, labelled A, then
    the body's (label D, written without a letter), so that a term's tf in each field is the
    number of its positions with that label. Positions are 1-based in PostgreSQL."""
    out: dict[str, list[str]] = {}
    title_end = max((p for ps in a.terms["title"].values() for p in ps), default=-1) + 1
    for f, label, base in (("title", "A", 1), ("body", "", title_end + 2)):
        for term, ps in a.terms[f].items():
            pos = [p + base for p in ps]
            if capped is not None:
                capped.clamped += sum(1 for p in pos if p > MAX_POS)
            out.setdefault(term, []).extend(f"{min(p, MAX_POS)}{label}" for p in pos)
    if capped is not None:
        capped.positions += sum(1 for ps in out.values() if len(ps) > MAX_POSITIONS)
    return " ".join(f"{_quote(t)}:{','.join(ps[:MAX_POSITIONS])}" for t, ps in sorted(out.items()))


# --- term statistics (what the side tables hold) ---------------------------------------

@dataclass
class TermStats:
    """df per (field, term), passages and summed lengths per field: the BM25 side tables.

    It also answers what kb's Translator asks a whoosh reader (doc_frequency, doc_count),
    so kb's own query translation runs against PostgreSQL's statistics."""

    n: int = 0
    df: dict[tuple[str, str], int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=lambda: {f: 0 for f in FIELDS})

    @classmethod
    def of(cls, passages: list[Analyzed]) -> "TermStats":
        st = cls()
        for a in passages:
            st.n += 1
            for f in FIELDS:
                st.total[f] += a.lengths[f]
                for t in a.terms[f]:
                    st.df[(f, t)] = st.df.get((f, t), 0) + 1
        return st

    def avg(self, f: str) -> float:
        # whoosh: the exact summed length over the passage count (lengths per passage are
        # the one-byte approximations, the total is not).
        return self.total[f] / (self.n or 1)

    def idf(self, f: str, term: str) -> float:
        df = self.df.get((f, term), 0)
        return _idf(self.n, df)

    # The reader interface kb.index._engine.Translator uses.
    def doc_frequency(self, f: str, term: str) -> int:
        return self.df.get((f, term), 0)

    def doc_count(self) -> int:
        return self.n

    def expand_prefix(self, f: str, prefix: str):
        raise Unsupported("prefix (the exact-form field is not loaded)")


def _idf(n: int, df: int) -> float:
    import math

    return math.log(1 + (n - df + 0.5) / (df + 0.5))      # kb.index._engine._BM25.idf


# --- queries: kb's query path -> leaves and tsquery ----------------------------------

class Unsupported(Exception):
    """A query shape the prototype does not map (prefix, exact form, field, NOT)."""


@dataclass
class Leaf:
    field: str
    term: str
    weight: float           # product of the boosts above it, as kb.index._bag multiplies them


@dataclass
class PgQuery:
    leaves: list[Leaf]                  # what scores
    match: list[str]                    # terms a passage must hold one of (the AndMaybe driver)
    approx: set[str] = field(default_factory=set)   # shapes scored as OR of terms
    drove: bool = False                 # common words under an AndMaybe (kb retries without)

    @property
    def terms(self) -> list[str]:
        return sorted({lf.term for lf in self.leaves})


def flatten(q, factor: float = 1.0, approx: set | None = None) -> list[Leaf]:
    """Weighted (field, term) leaves of a whoosh query from kb's Translator.

    Boosts multiply as kb.index._bag._eval applies them (a compound query with one
    subquery ignores its own boost), so an OR of words gives each leaf the weight kb's
    own scorer gives it and the SQL sum equals kb's score."""
    approx = set() if approx is None else approx
    if isinstance(q, wq.Term):
        if q.fieldname not in FIELDS:
            raise Unsupported(f"field {q.fieldname}")
        return [Leaf(q.fieldname, q.text, factor * q.boost)]
    if q is wq.NullQuery:
        return []
    if isinstance(q, wq.Phrase):
        if q.fieldname not in FIELDS:
            raise Unsupported(f"phrase in {q.fieldname}")
        approx.add("phrase")
        return [Leaf(q.fieldname, w, factor * q.boost) for w in q.words]
    if isinstance(q, wq.Sequence):
        approx.add("sequence")      # a compound word: its parts in order; scored here as OR
        subs = q.subqueries
        f = factor * q.boost if len(subs) > 1 else factor
        return [lf for s in subs for lf in flatten(s, f, approx)]
    if type(q) in (wq.Or, wq.And):
        if type(q) is wq.And:
            approx.add("and")
        subs = q.subqueries
        f = factor * q.boost if len(subs) > 1 else factor
        return [lf for s in subs for lf in flatten(s, f, approx)]
    if isinstance(q, wq.AndMaybe):
        return flatten(q.a, factor, approx) + flatten(q.b, factor, approx)
    raise Unsupported(type(q).__name__)


def translate(text: str, stats, driven: bool = True) -> PgQuery:
    """A query as kb reads it (kb.search.parse, kb.index._engine.Translator) -> leaves, match.

    `stats` answers doc_frequency/doc_count (TermStats): the same decisions the Translator
    makes over whoosh's reader (which words are common) are made over PostgreSQL's df table."""
    from kb.search import parse

    tr = _engine.Translator(stats, driven=driven)
    q = tr(parse(text).node)
    approx: set[str] = set()
    leaves = flatten(q, 1.0, approx)
    if isinstance(q, wq.AndMaybe):
        match = sorted({lf.term for lf in flatten(q.a, 1.0)})
    else:
        match = sorted({lf.term for lf in leaves})
    return PgQuery(leaves, match, approx, drove=tr.drove)


def tsquery_literal(terms: list[str]) -> str:
    """An OR of lexemes in tsquery input syntax (no re-analysis: ::tsquery, not to_tsquery)."""
    return " | ".join(_quote(t) for t in terms)


def bm25_reference(stats: TermStats, passages: list[Analyzed], pq: PgQuery) -> dict[str, float]:
    """The BM25 that BM25_SQL computes, in Python: for tests, and as its specification."""
    k1, match = _engine.K1, set(pq.match)
    b = {"body": _engine.B, "title": _engine.TITLE_B}
    out: dict[str, float] = {}
    for a in passages:
        if not any(t in a.terms["body"] or t in a.terms["title"] for t in match):
            continue
        s = 0.0
        for lf in pq.leaves:
            tf = min(len(a.terms[lf.field].get(lf.term, ())), MAX_POSITIONS)
            if not tf:
                continue
            norm = k1 * ((1 - b[lf.field]) + b[lf.field] * stored_length(a.lengths[lf.field]) / stats.avg(lf.field))
            s += lf.weight * stats.idf(lf.field, lf.term) * (tf * (k1 + 1)) / (tf + norm)
        out[a.pid] = s
    return out


# --- SQL ---------------------------------------------------------------------------------

SCHEMA_SQL = """
DROP TABLE IF EXISTS kb_passage, kb_df, kb_field;
CREATE TABLE kb_passage (
    id        integer PRIMARY KEY,          -- load order, as whoosh's docnum: ties rank by it
    pid       text NOT NULL,
    body_len  integer NOT NULL,             -- whoosh's one-byte field lengths (stored_length)
    title_len integer NOT NULL,
    tsv       tsvector NOT NULL             -- kb's terms: title labelled A, body D
);
"""

# The side tables, from the loaded tsvectors themselves (not from Python), so an update path
# could maintain them in SQL: df per field is the passages with a position of that label.
STATS_SQL = """
CREATE TABLE kb_df AS
    SELECT f.field, u.lexeme AS term, count(*)::integer AS df
    FROM kb_passage p
    CROSS JOIN LATERAL unnest(p.tsv) u
    CROSS JOIN LATERAL (SELECT DISTINCT CASE w WHEN 'A' THEN 'title' ELSE 'body' END AS field
                        FROM unnest(u.weights) w) f
    GROUP BY f.field, u.lexeme;
ALTER TABLE kb_df ADD PRIMARY KEY (field, term);
CREATE TABLE kb_field (field text PRIMARY KEY, n integer NOT NULL, avg_len float8 NOT NULL);
"""

# Cover density over the passages the match tsquery finds (GIN). Normalisation 1 divides by
# 1 + log(length): the closest of its options to BM25's length normalisation.
RANK_CD_SQL = """
SELECT pid, ts_rank_cd(%(rw)s::float4[], tsv, %(all)s::tsquery, %(norm)s) AS score
FROM kb_passage WHERE tsv @@ %(match)s::tsquery
ORDER BY score DESC, id
LIMIT %(limit)s
"""

# BM25 over the passages the match tsquery finds (GIN), tf counted from the labels of the
# query terms' positions in each candidate's tsvector; idf and lengths from the side tables.
BM25_SQL = """
WITH q AS (
    SELECT t.field, t.term, t.w * ln(1 + (s.n - d.df + 0.5) / (d.df + 0.5)) AS wi, s.avg_len,
           CASE t.field WHEN 'title' THEN %(title_b)s ELSE %(b)s END AS b
    FROM unnest(%(fields)s::text[], %(terms)s::text[], %(weights)s::float8[]) AS t(field, term, w)
    JOIN kb_df d ON d.field = t.field AND d.term = t.term
    JOIN kb_field s ON s.field = t.field
), cand AS (
    SELECT id, body_len, title_len, tsv FROM kb_passage WHERE tsv @@ %(match)s::tsquery
), tf AS (
    SELECT c.id, c.body_len, c.title_len, u.lexeme,
           cardinality(array_positions(u.weights, 'A')) AS tf_title,
           cardinality(u.weights) - cardinality(array_positions(u.weights, 'A')) AS tf_body
    FROM cand c CROSS JOIN LATERAL unnest(c.tsv) u
    WHERE u.lexeme = ANY(%(terms)s::text[])
)
SELECT p.pid, s.score FROM (
    SELECT tf.id, sum(q.wi * (x.tf * (%(k1)s + 1)) / (x.tf + %(k1)s * ((1 - q.b) + q.b * x.len / q.avg_len))) AS score
    FROM tf JOIN q ON q.term = tf.lexeme
    CROSS JOIN LATERAL (SELECT CASE q.field WHEN 'title' THEN tf.tf_title ELSE tf.tf_body END AS tf,
                               CASE q.field WHEN 'title' THEN tf.title_len ELSE tf.body_len END AS len) x
    WHERE x.tf > 0
    GROUP BY tf.id
    ORDER BY score DESC, tf.id
    LIMIT %(limit)s
) s JOIN kb_passage p USING (id)
ORDER BY s.score DESC, s.id
"""

# The classic alternative: one row per (field, term, passage) with tf and the field length,
# under a btree on (field, term) that holds the rest (index-only scans). No candidate
# tsvector is read or unnested, GIN is not used; the table is a second copy of the postings.
POSTINGS_SQL = """
DROP TABLE IF EXISTS kb_tf;
CREATE TABLE kb_tf AS
    SELECT f.field, u.lexeme AS term, p.id, f.tf,
           CASE f.field WHEN 'title' THEN p.title_len ELSE p.body_len END AS len
    FROM kb_passage p
    CROSS JOIN LATERAL unnest(p.tsv) u
    CROSS JOIN LATERAL (SELECT CASE w WHEN 'A' THEN 'title' ELSE 'body' END AS field, count(*)::integer AS tf
                        FROM unnest(u.weights) w GROUP BY 1) f;
CREATE INDEX kb_tf_key ON kb_tf (field, term) INCLUDE (id, tf, len);
"""

BM25_POSTINGS_SQL = """
WITH q AS (
    SELECT t.field, t.term, t.w * ln(1 + (s.n - d.df + 0.5) / (d.df + 0.5)) AS wi, s.avg_len,
           CASE t.field WHEN 'title' THEN %(title_b)s ELSE %(b)s END AS b
    FROM unnest(%(fields)s::text[], %(terms)s::text[], %(weights)s::float8[]) AS t(field, term, w)
    JOIN kb_df d ON d.field = t.field AND d.term = t.term
    JOIN kb_field s ON s.field = t.field
)
SELECT p.pid, s.score FROM (
    SELECT t.id, sum(q.wi * (t.tf * (%(k1)s + 1)) / (t.tf + %(k1)s * ((1 - q.b) + q.b * t.len / q.avg_len))) AS score
    FROM q JOIN kb_tf t ON t.field = q.field AND t.term = q.term
    GROUP BY t.id
    HAVING bool_or(t.term = ANY(%(match)s::text[]))      -- the AndMaybe driver: a match term present
    ORDER BY score DESC, t.id
    LIMIT %(limit)s
) s JOIN kb_passage p USING (id)
ORDER BY s.score DESC, s.id
"""




# --- the server ----------------------------------------------------------------------

def _pg_bindir() -> Path:
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        if (Path(out) / "initdb").exists():
            return Path(out)
    except (OSError, subprocess.CalledProcessError):
        pass
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists():
            return d
    sys.exit("PostgreSQL's server is not installed: on Debian `apt-get install -y postgresql` "
             "(or give --dsn of a running server)")


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder, reached by its Unix socket only."""

    def __init__(self):
        self.bin = _pg_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="kb-pg-"))
        self.data = self.dir / "data"
        # The server refuses to run as root: run it as Debian's `postgres` user then.
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.prefix:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "kb", "--auth=trust", "-E", "UTF8", "--locale=C")
        opts = f"-k {self.dir} -c listen_addresses='' -c port=5432"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")
        self.dsn = f"host={self.dir} port=5432 user=kb dbname=postgres"

    def _run(self, prog: str, *args: str) -> None:
        subprocess.run([*self.prefix, str(self.bin / prog), *args], check=True, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def version(self) -> str:
        return subprocess.run([str(self.bin / "postgres"), "--version"], capture_output=True, text=True).stdout.strip()


# --- the run -------------------------------------------------------------------------

def _jsonl(path: Path) -> list[dict]:
    from kb.evaluation import _jsonl as read

    return read(path)


def load(conn, corpus: list[dict]) -> tuple[TermStats, dict]:
    """Analyse with kb, COPY into PostgreSQL, build GIN and the side tables; times and sizes."""
    t0 = time.perf_counter()
    passages = [analyze(str(r["_id"]), r.get("title") or "", r.get("text") or "") for r in corpus]
    t_analyze = time.perf_counter() - t0
    capped = Capped()
    rows = [(i, a.pid, stored_length(a.lengths["body"]), stored_length(a.lengths["title"]),
             tsvector_literal(a, capped)) for i, a in enumerate(passages)]
    with conn.cursor() as cur:
        cur.execute(SCHEMA_SQL)
        t0 = time.perf_counter()
        with cur.copy("COPY kb_passage (id, pid, body_len, title_len, tsv) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
        conn.commit()
        t_copy = time.perf_counter() - t0
        t0 = time.perf_counter()
        cur.execute("CREATE INDEX kb_passage_tsv ON kb_passage USING gin (tsv)")
        conn.commit()
        t_gin = time.perf_counter() - t0
        t0 = time.perf_counter()
        cur.execute(STATS_SQL)
        st = TermStats.of(passages)
        cur.execute("INSERT INTO kb_field VALUES ('body', %s, %s), ('title', %s, %s)",
                    (st.n, st.avg("body"), st.n, st.avg("title")))
        conn.commit()
        t_stats = time.perf_counter() - t0
        t0 = time.perf_counter()
        cur.execute(POSTINGS_SQL)
        conn.commit()
        t_postings = time.perf_counter() - t0
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE kb_passage")
        cur.execute("VACUUM ANALYZE kb_df")
        cur.execute("VACUUM ANALYZE kb_tf")       # the visibility map: index-only scans
        conn.autocommit = False
        cur.execute("SELECT pg_table_size('kb_passage'), pg_relation_size('kb_passage_tsv'), "
                    "pg_total_relation_size('kb_df') + pg_total_relation_size('kb_field'), "
                    "pg_relation_size('kb_passage_pkey'), pg_total_relation_size('kb_tf'), "
                    "(SELECT count(*) FROM kb_tf)")
        table, gin, side, pkey, postings, postings_rows = cur.fetchone()
        # The df the Translator asks for comes from the SQL side table (checked against Python's).
        cur.execute("SELECT field, term, df FROM kb_df")
        sql_df = {(f, t): d for f, t, d in cur.fetchall()}
    if sql_df != st.df:
        diff = len(set(sql_df.items()) ^ set(st.df.items()))
        print(f"WARNING: df from SQL and from Python differ in {diff} entries", file=sys.stderr)
    st.df = sql_df
    info = {"passages": len(passages), "chars": sum(len(r.get("title") or "") + len(r.get("text") or "") for r in corpus),
            "analyze_s": t_analyze, "copy_s": t_copy, "gin_s": t_gin, "stats_s": t_stats, "postings_s": t_postings,
            "postings_mb": postings / 2**20, "postings_rows": postings_rows,
            "table_mb": table / 2**20, "gin_mb": gin / 2**20, "side_mb": side / 2**20, "pkey_mb": pkey / 2**20,
            "terms": len(sql_df), "capped": capped}
    return st, info


KINDS = ("rank_cd", "bm25", "bm25_postings")


def run_pg(conn, stats: TermStats, texts: list[str], limit: int) -> dict[str, dict]:
    """Rankings (pids, best first) and times (ms, SQL round trip) of both SQL rankings."""
    out = {k: {"ranked": [], "ms": [], "scores": []} for k in KINDS}
    out.update({"approx": [], "unsupported": 0, "translate_ms": []})
    with conn.cursor() as cur:
        for text in texts:
            t0 = time.perf_counter()
            try:
                pq = translate(text, stats)
            except (Unsupported, _engine.QueryError):
                out["unsupported"] += 1
                for k in KINDS:
                    out[k]["ranked"].append([])
                    out[k]["scores"].append({})
                out["approx"].append({"unsupported"})
                continue
            out["translate_ms"].append((time.perf_counter() - t0) * 1000)
            out["approx"].append(pq.approx)
            for kind in KINDS:
                rows, ms = _one(cur, kind, pq, limit)
                if not rows and pq.drove:
                    # As kb.index does: the rare words found nothing, the plain OR is the query.
                    pq2 = translate(text, stats, driven=False)
                    rows, ms2 = _one(cur, kind, pq2, limit)
                    ms += ms2
                out[kind]["ranked"].append([pid for pid, _ in rows])
                out[kind]["scores"].append(dict(rows))
                out[kind]["ms"].append(ms)
        conn.rollback()
    return out


def sql_for(kind: str, pq: PgQuery, limit: int) -> tuple[str, dict]:
    """The statement and parameters of one ranking for one query."""
    if kind == "rank_cd":
        return RANK_CD_SQL, {"rw": RANK_WEIGHTS, "all": tsquery_literal(pq.terms),
                             "match": tsquery_literal(pq.match), "norm": 1, "limit": limit}
    params = {"fields": [lf.field for lf in pq.leaves], "terms": [lf.term for lf in pq.leaves],
              "weights": [lf.weight for lf in pq.leaves], "k1": _engine.K1, "b": _engine.B,
              "title_b": _engine.TITLE_B, "limit": limit}
    if kind == "bm25":
        return BM25_SQL, {**params, "match": tsquery_literal(pq.match)}
    return BM25_POSTINGS_SQL, {**params, "match": pq.match}


def _one(cur, kind: str, pq: PgQuery, limit: int) -> tuple[list[tuple[str, float]], float]:
    if not pq.match:
        return [], 0.0
    sql, params = sql_for(kind, pq, limit)
    t0 = time.perf_counter()
    cur.execute(sql, params)
    rows = [(pid, float(score)) for pid, score in cur.fetchall()]
    return rows, (time.perf_counter() - t0) * 1000


def explain(conn, stats: TermStats, text: str, limit: int) -> None:
    """EXPLAIN ANALYZE of each ranking for one query: which indexes the plans use."""
    pq = translate(text, stats)
    with conn.cursor() as cur:
        for kind in KINDS:
            sql, params = sql_for(kind, pq, limit)
            cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql, params)
            print(f"--- {kind}: {text}")
            print("\n".join(r[0] for r in cur.fetchall()))
    conn.rollback()


def run_kb(index_dir: Path, texts: list[str], limit: int) -> dict[str, dict]:
    """kb.index's BM25 ranking (Reader.search, as kb.search.ranked calls it, without the
    word-vector rerank) and `kb eval`'s (kb.search.ranked, mode lexical)."""
    from kb.errors import KbError
    from kb.index import reader
    from kb.search import parse, ranked

    rd = reader(index_dir)
    out = {"kb_bm25": {"ranked": [], "ms": []}, "kb_eval": {"ranked": [], "ms": []}}
    for text in texts:
        t0 = time.perf_counter()
        try:
            parsed = parse(text)
            raw = rd.search(parsed.node, None, limit=limit)
            if not raw.total and parsed.relaxable:
                raw = rd.search(parse(text, relaxed=True).node, None, limit=limit)
            hits = [h.doc_id for h in raw.hits[:limit]]
        except KbError:
            hits = []
        out["kb_bm25"]["ms"].append((time.perf_counter() - t0) * 1000)
        out["kb_bm25"]["ranked"].append(hits)
        t0 = time.perf_counter()
        try:
            hits = [h.doc_id for h in ranked(rd, text, None, limit, mode="lexical")[1].hits[:limit]]
        except KbError:
            hits = []
        out["kb_eval"]["ms"].append((time.perf_counter() - t0) * 1000)
        out["kb_eval"]["ranked"].append(hits)
    return out


def agreement(a: list[list[str]], ref: list[list[str]], k: int = 10) -> tuple[float, float]:
    """(mean overlap@k, share of identical top-1) of rankings `a` against `ref`, over the
    queries where `ref` found something."""
    pairs = [(x, y) for x, y in zip(a, ref) if y]
    if not pairs:
        return 0.0, 0.0
    overlap = statistics.fmean(len(set(x[:k]) & set(y[:k])) / min(k, len(y)) for x, y in pairs)
    top1 = statistics.fmean(1.0 if x and x[0] == y[0] else 0.0 for x, y in pairs)
    return overlap, top1


def tied_top1(scores: list[dict[str, float]], ref: list[list[str]]) -> float:
    """Share of queries (where `ref` found something) whose `ref` top-1 has the best score
    of the other ranking: the same passage first, or one tied with it. Engines order equal
    scores differently (here: load order against whoosh's document numbers)."""
    pairs = [(sc, y) for sc, y in zip(scores, ref) if y]
    if not pairs:
        return 0.0
    def tied(sc, first):
        best = max(sc.values(), default=None)
        return best is not None and first in sc and abs(sc[first] - best) <= 1e-9 * max(1.0, abs(best))
    return statistics.fmean(1.0 if tied(sc, y[0]) else 0.0 for sc, y in pairs)


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", type=Path, default=SETS / "legal-ru-dev", help="BEIR set whose corpus is loaded")
    ap.add_argument("--queries", type=Path, nargs="*", default=None,
                    help="BEIR sets whose questions are run (default: --set, plus xquad-ru for legal-ru-dev)")
    ap.add_argument("--dsn", help="a running PostgreSQL (default: a throwaway cluster)")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--warm", type=int, default=50, help="queries run once untimed first")
    ap.add_argument("--explain", action="store_true", help="print the plans of the first question")
    args = ap.parse_args(argv)

    try:
        import psycopg
    except ImportError:
        sys.exit("needs the psycopg driver: .venv/bin/pip install 'psycopg[binary]'")
    from kb.evaluation import load_qrels, ndcg_at
    from kb.index import forget_readers, write_passages
    from kb.evaluation import corpus_records

    beir = args.set.resolve()
    qsets = args.queries if args.queries is not None else (
        [beir, SETS / "xquad-ru"] if beir.name == "legal-ru-dev" else [beir])
    corpus = _jsonl(beir / "corpus.jsonl")
    queries: list[tuple[str, str, str]] = []          # (set, id, text)
    for qs in qsets:
        queries += [(qs.name, str(q["_id"]), q["text"]) for q in _jsonl(Path(qs) / "queries.jsonl")]
    qrels = load_qrels(beir / "qrels" / "test.tsv")
    texts = [t for _, _, t in queries]

    cluster = None if args.dsn else Cluster()
    try:
        conn = psycopg.connect(args.dsn or cluster.dsn)
        version = conn.execute("SHOW server_version").fetchone()[0]
        stats, info = load(conn, corpus)
        if args.explain:
            explain(conn, stats, texts[0], args.limit)
        run_pg(conn, stats, texts[: args.warm], args.limit)
        pg = run_pg(conn, stats, texts, args.limit)
        conn.close()
    finally:
        if cluster is not None:
            cluster.stop()

    with tempfile.TemporaryDirectory(prefix="kb-pgbench-") as tmp:
        t0 = time.perf_counter()
        write_passages(Path(tmp), corpus_records(corpus))
        t_whoosh = time.perf_counter() - t0
        whoosh_mb = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 2**20
        run_kb(Path(tmp), texts[: args.warm], args.limit)
        kb = run_kb(Path(tmp), texts, args.limit)
        forget_readers()

    c = info["capped"]
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"PostgreSQL {version}; corpus {beir.name}: {info['passages']:,} passages, {info['chars']:,} chars, "
          f"{info['terms']:,} (field, term) pairs")
    print(f"load: kb analysis {info['analyze_s']:.1f} s, COPY {info['copy_s']:.1f} s, GIN {info['gin_s']:.1f} s, "
          f"side tables {info['stats_s']:.1f} s; postings table and its btree {info['postings_s']:.1f} s")
    print(f"size: table {info['table_mb']:.1f} MB (with TOAST), GIN {info['gin_mb']:.1f} MB, "
          f"side tables {info['side_mb']:.1f} MB, primary key {info['pkey_mb']:.1f} MB, "
          f"postings table {info['postings_mb']:.1f} MB ({info['postings_rows']:,} rows); "
          f"kb's whoosh index of the same passages {whoosh_mb:.1f} MB, written in {t_whoosh:.1f} s")
    print(f"tsvector limits hit: {c.positions} (passage, term) pairs over {MAX_POSITIONS} positions, "
          f"{c.clamped} positions over {MAX_POS}")
    approx = pg["approx"]
    shapes = sorted({s for a in approx for s in a})
    print(f"queries: {len(texts)} ({', '.join(f'{n} {s.name}' for s, n in _count_sets(qsets, queries))}); "
          f"scored as OR of terms: " + ", ".join(f"{s} in {sum(1 for a in approx if s in a)}" for s in shapes)
          + f"; translation p50 {pct(pg['translate_ms'], 50):.2f} ms (kb's Python, same for every engine)")
    print()
    rows = [("PostgreSQL ts_rank_cd", pg["rank_cd"]), ("PostgreSQL BM25, tf from tsvector", pg["bm25"]),
            ("PostgreSQL BM25, postings table", pg["bm25_postings"]),
            ("kb.index BM25 (whoosh)", kb["kb_bm25"]), ("kb eval (BM25 + word-vector rerank)", kb["kb_eval"])]
    ref = kb["kb_bm25"]["ranked"]
    judged = [i for i, (s, qid, _) in enumerate(queries) if s == beir.name and qrels.get(qid)]
    head = f"{'ranking':38} {'p50 ms':>7} {'p95 ms':>7} {'nDCG@10':>8} {'overlap@10':>10} {'top-1 same':>10}"
    print(head)
    print("-" * len(head))
    for name, r in rows:
        nd = statistics.fmean(ndcg_at(r["ranked"][i], qrels[queries[i][1]]) for i in judged) if judged else 0.0
        ov, t1 = agreement(r["ranked"], ref)
        print(f"{name:38} {pct(r['ms'], 50):7.2f} {pct(r['ms'], 95):7.2f} {nd:8.4f} {ov:10.3f} {t1:10.3f}")
    print(f"\nnDCG@10 over the {len(judged)} judged questions of {beir.name}; p50/p95 over all {len(texts)} "
          "questions (PostgreSQL: the SQL round trip; kb: Reader.search / kb.search.ranked in this process); "
          "agreement against kb.index BM25 over the questions it answers.")
    for name, subset in _per_set(queries):
        ov, t1 = agreement([pg["bm25"]["ranked"][i] for i in subset], [ref[i] for i in subset])
        ov2, t2 = agreement([pg["rank_cd"]["ranked"][i] for i in subset], [ref[i] for i in subset])
        print(f"  {name}: BM25 SQL overlap@10 {ov:.3f}, top-1 {t1:.3f}; ts_rank_cd overlap@10 {ov2:.3f}, top-1 {t2:.3f}")
        print("    p50/p95 ms: " + "; ".join(
            f"{label} {pct([r['ms'][i] for i in subset], 50):.1f}/{pct([r['ms'][i] for i in subset], 95):.1f}"
            for label, r in (("ts_rank_cd", pg["rank_cd"]), ("BM25 tsvector", pg["bm25"]),
                             ("BM25 postings", pg["bm25_postings"]), ("kb.index", kb["kb_bm25"]))))
    plain = [i for i, a in enumerate(approx) if not a]
    ov, t1 = agreement([pg["bm25"]["ranked"][i] for i in plain], [ref[i] for i in plain])
    tied = tied_top1([pg["bm25"]["scores"][i] for i in plain], [ref[i] for i in plain])
    print(f"  queries mapped exactly (no phrase/sequence/AND): {len(plain)}: BM25 SQL overlap@10 {ov:.3f}, "
          f"top-1 {t1:.3f}, top-1 same or tied for first {tied:.3f}")
    return 0


def _count_sets(qsets, queries):
    for s in qsets:
        yield Path(s), sum(1 for q in queries if q[0] == Path(s).name)


def _per_set(queries):
    names = list(dict.fromkeys(q[0] for q in queries))
    for n in names:
        yield n, [i for i, q in enumerate(queries) if q[0] == n]


if __name__ == "__main__":
    sys.exit(main())
