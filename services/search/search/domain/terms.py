"""Normalised search terms: the local store has no text index, so each view keeps its
own indexed array of terms, and free text / ``contains`` look terms up by equality.

A text is lowercased (casefolded) and split into words of letters or digits; each word
is a term, and a word mixing letters and digits also contributes its letter and digit
runs (``1234`` finds ``SF1234``). A query word matches every term it is a prefix of
(``SF12`` finds ``SF1234567``): one range scan on the terms index. Chinese, Japanese
and Korean characters contribute each character and every pair of neighbours
(bigrams), so ``测试`` finds ``上海测试客户``.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_PREFIX = 40  # longer words are kept by their first 40 characters
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_RUNS = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)


def is_cjk(char: str) -> bool:
    code = ord(char)
    return (0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FFFF
            or 0x3040 <= code <= 0x30FF or 0xAC00 <= code <= 0xD7AF)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _segments(text: str) -> Iterable[tuple[str, bool]]:
    """Split a word into runs of CJK characters and runs of other characters."""
    run, cjk = "", False
    for char in text:
        char_cjk = is_cjk(char)
        if run and char_cjk != cjk:
            yield run, cjk
            run = ""
        run, cjk = run + char, char_cjk
    if run:
        yield run, cjk


def query_terms(text: str) -> list[str]:
    """The terms a piece of query text must all match (whole words and CJK bigrams)."""
    terms: list[str] = []
    for word in _WORD.findall(normalise(text)):
        for run, cjk in _segments(word):
            if cjk:
                terms += [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]
            else:
                terms.append(run[:MAX_PREFIX])
    return list(dict.fromkeys(terms))


def document_terms(values: Iterable[str]) -> list[str]:
    """Every term of the given texts, sorted and without duplicates."""
    terms: set[str] = set()
    for value in values:
        for word in _WORD.findall(normalise(value)):
            for run, cjk in _segments(word):
                if cjk:
                    terms.update(run)
                    terms.update(run[i:i + 2] for i in range(len(run) - 1))
                else:
                    terms.add(run[:MAX_PREFIX])
                    terms.update(part[:MAX_PREFIX] for part in _RUNS.findall(run))
    return sorted(terms)


def prefix_range(term: str) -> dict[str, str]:
    """The terms ``term`` is a prefix of, as an index range."""
    return {"$gte": term, "$lt": term + "\U0010ffff"}


def has_term(terms: set[str] | list[str], word: str) -> bool:
    """Whether a query word matches a document's terms (exactly, or as a prefix)."""
    return word in terms or any(t.startswith(word) for t in terms)
