"""Near-duplicate documents: the same act or report in two formats or two copies.

Real archives hold the same text twice (the Housing Code as DOCX and as HTML, a code as
PDF and as TXT): search should show it once. Each document gets a MinHash signature of
its word 5-shingles (datasketch); documents whose estimated Jaccard similarity is at
least THRESHOLD are copies of one another. Measured on ../shared/data: the four real
pairs (two formats, sometimes two editions) are at 0.81-0.95, the closest unrelated pair
(the Family Codes of Russia and Kyrgyzstan) at 0.39, a code's two parts at 0.01.
"""

from __future__ import annotations

import base64
import re
import zlib

import numpy as np

__all__ = ["signature", "similarity", "copy_groups", "THRESHOLD"]

NUM_PERM = 128
SHINGLE = 5
THRESHOLD = 0.7
MIN_SHINGLES = 20        # shorter texts say too little to call two documents the same
_MAX_WORDS = 400_000     # enough of a long code to tell it apart; bounds the time


SCHEME = "affine32"       # datasketch's permutation scheme: signatures are kept in the manifest
_WORD = re.compile(r"[^\W\d_]+")


def _hash(s: bytes) -> int:
    # 32 bits are what the permutations use; crc32 is stable across runs and fast.
    return zlib.crc32(s)


def signature(text: str) -> str | None:
    """The MinHash of the text's word 5-shingles, base64 (None for a text too short)."""
    from datasketch import MinHash

    from kb.analysis import fold_kyrgyz

    # Words only (numbers and punctuation differ most between two extractions of one text);
    # lowercase is all the normalising needed to compare two copies, and it is fast.
    words = _WORD.findall(fold_kyrgyz(text[:4_000_000].lower().replace("ё", "е")))[:_MAX_WORDS]
    shingles = {" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}
    if len(shingles) < MIN_SHINGLES:
        return None
    m = MinHash(num_perm=NUM_PERM, hashfunc=_hash, scheme=SCHEME)
    m.update_batch(s.encode("utf-8") for s in shingles)
    return base64.b64encode(m.hashvalues.astype("<u4").tobytes()).decode("ascii")


def _values(sig: str) -> np.ndarray | None:
    try:
        raw = base64.b64decode(sig.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return None
    if len(raw) != 4 * NUM_PERM:
        return None
    return np.frombuffer(raw, dtype="<u4").astype(np.uint64)


def similarity(a: str, b: str) -> float:
    """Estimated Jaccard similarity of two signatures (0 when either is unreadable)."""
    va, vb = _values(a), _values(b)
    if va is None or vb is None:
        return 0.0
    return float(np.count_nonzero(va == vb)) / NUM_PERM


def copy_groups(signatures: dict[str, str]) -> list[list[str]]:
    """Groups (of 2 or more keys, each sorted) of near-identical documents, by LSH then a
    check of each candidate pair; a group is the connected set of such pairs."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    hashes = {}
    for key, sig in signatures.items():
        vals = _values(sig) if sig else None
        if vals is None:
            continue
        hashes[key] = MinHash(num_perm=NUM_PERM, hashvalues=vals, scheme=SCHEME)
        lsh.insert(key, hashes[key])
    parent = {k: k for k in hashes}

    def root(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for key, m in hashes.items():
        for other in lsh.query(m):
            if other != key and m.jaccard(hashes[other]) >= THRESHOLD:
                parent[root(other)] = root(key)
    groups: dict[str, list[str]] = {}
    for k in hashes:
        groups.setdefault(root(k), []).append(k)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)
