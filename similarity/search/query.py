"""What a search starts from: a query vector, typed (with ``+``/``-`` arithmetic) or picked."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from similarity.limits import MAX_QUERY_CHARS, MAX_QUERY_TERMS

TEXT, PICTURE = "text", "picture"  # query modalities


# Operators stand apart from words, so "t-shirt" and "x-ray" stay one term.
_TERM = re.compile(r"(?:^|\s+)([+-])(?:\s+|$)")


def parse_query(text: str) -> list[tuple[int, str]]:
    """Split query arithmetic into signed terms; say what is wrong with a bad one.

    >>> parse_query("dog + hat - sun")
    [(1, 'dog'), (1, 'hat'), (-1, 'sun')]
    >>> parse_query("-sun + t-shirt")
    [(-1, 'sun'), (1, 't-shirt')]
    >>> parse_query("dog + ")
    Traceback (most recent call last):
    ValueError: '+' has nothing after it: add a word (e.g. fruit - red) or remove the '+'
    """
    text = text.strip()
    if not text:
        raise ValueError("type something to search for")
    if len(text) > MAX_QUERY_CHARS:
        raise ValueError(
            f"the query has {len(text):,} characters; the model reads a short phrase (at most {MAX_QUERY_CHARS:,} "
            "characters are accepted): type a few words"
        )
    text = re.sub(r"^([+-])\s*", r"\1 ", text if text[0] in "+-" else "+ " + text)
    parts = _TERM.split(text)
    terms = [(sign, term.strip()) for sign, term in zip(parts[1::2], parts[2::2])]
    for sign, term in terms:
        if not term:
            raise ValueError(f"'{sign}' has nothing after it: add a word (e.g. fruit - red) or remove the '{sign}'")
        if not any(ch.isalnum() for ch in term):
            raise ValueError(f"{term!r} has no letters or digits: type words to search for")
    if len(terms) > MAX_QUERY_TERMS:
        raise ValueError(f"{len(terms)} terms joined by + and -; at most {MAX_QUERY_TERMS} are combined")
    return [(1 if sign == "+" else -1, term) for sign, term in terms]


def combine(vectors: np.ndarray, signs: list[int]) -> np.ndarray:
    """Signed sum of unit vectors, renormalised (the "dog + hat" query)."""
    total = (np.asarray(signs, dtype=np.float32)[:, None] * vectors).sum(axis=0)
    norm = np.linalg.norm(total)
    if norm < 1e-6:
        raise ValueError("the terms cancel out: the combined query has no direction")
    return (total / norm).astype(np.float32)


@dataclass(frozen=True)
class Query:
    """What the user searches with: a unit vector and where it came from."""

    vector: np.ndarray  # (d,) unit length
    label: str
    modality: str  # relevance.TEXT or relevance.PICTURE
    row: int | None = None  # the space row it is ("more like this"): left out of its own results
    terms: tuple[tuple[int, str], ...] = ()  # signed terms of query arithmetic
    term_vectors: np.ndarray | None = None  # (t, d), one per term

    @property
    def signs(self) -> tuple[int, ...]:
        """Signs of the arithmetic terms ((1,) for a plain query): shapes its null baseline."""
        return tuple(sign for sign, _ in self.terms) or (1,)

    def position_in(self, rows: np.ndarray) -> int | None:
        """Where the query's own row is in ``rows`` (to leave it out), or None."""
        if self.row is None:
            return None
        found = np.flatnonzero(np.asarray(rows) == self.row)
        return int(found[0]) if len(found) else None

    def with_vector(self, vector: np.ndarray) -> Query:
        """The same query in another space (e.g. after the PCA noise filter)."""
        return Query(vector, self.label, self.modality, self.row)


def text_query(encode_texts, text: str) -> Query:
    """Query for ``text``, with ``+``/``-`` arithmetic applied to the terms' vectors."""
    terms = parse_query(text)
    vectors = encode_texts([term for _, term in terms])
    return Query(combine(vectors, [sign for sign, _ in terms]), text.strip(), TEXT, None, tuple(terms), vectors)
