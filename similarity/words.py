"""Numbers in sentences a student reads: counts with the right plural, no "-0.00"."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``n`` and the noun, singular for one.

    >>> plural(1, "picture"), plural(2, "picture"), plural(1_861, "match", "matches")
    ('1 picture', '2 pictures', '1,861 matches')
    """
    return f"{n:,} {noun if n == 1 else (many or noun + 's')}"


def number(x: float, digits: int = 2) -> str:
    """A rounded number without a minus sign on zero.

    >>> number(-0.001), number(-0.25), number(0.3333, 3)
    ('0.00', '-0.25', '0.333')
    """
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def size(n_bytes: int) -> str:
    """A size in bytes as a person reads it.

    >>> size(2_000_000_000), size(5_300_000), size(8_000)
    ('2.0 GB', '5.3 MB', '8 KB')
    """
    if n_bytes >= 1e9:
        return f"{n_bytes / 1e9:,.1f} GB"
    return f"{n_bytes / 1e6:,.1f} MB" if n_bytes >= 1e6 else f"{n_bytes / 1e3:,.0f} KB"
