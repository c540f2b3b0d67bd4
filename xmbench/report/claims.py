"""Each method judged on what its paper claims.

A method declares ``paper_claims``, the scores its paper reports (``methods.base.CLAIMS``). A table
whose score a method's paper makes no claim for still shows the method (scored as every method is)
but marks its row with § and a note pointing to the tables that carry its paper's claims. The rule
is the same in every table of a kind (stdout, CSV, LaTeX, HTML) and in the ranking across datasets.
Methods that declare nothing (plugins, by default) are never marked.
"""

from __future__ import annotations

from collections.abc import Iterable

from xmbench.methods import METHODS
from xmbench.results.schema import label_method

MARK = "§"
SCORE = {
    "retrieval": "retrieval in a common space",
    "translation": "generated (translated) samples",
    "synchrony": "the synchronous rate of generated pairs",
    "correlation": "the total canonical correlation of the embeddings",
}
WHERE = {
    "retrieval": "the overall mAP table",
    "translation": "the translation-based retrieval and recognition tables",
    "synchrony": "the synchronous-rate table",
    "correlation": "the total canonical correlation table",
}


def claims_of(label: str) -> tuple[str, ...] | None:
    """The claims of the method a table row names (``None``: undeclared or not registered)."""
    name = label_method(label)
    return METHODS.get(name).paper_claims if name in METHODS else None


def unclaimed(labels: Iterable[str], claim: str) -> dict[str, tuple[str, ...]]:
    """Labels whose method's paper makes no claim of kind ``claim`` -> the claims it does make."""
    out = {}
    for label in labels:
        claims = claims_of(label)
        if claims is not None and claim not in claims:
            out[label] = claims
    return out


def note(marked: dict[str, tuple[str, ...]], claim: str) -> str:
    where = "; ".join(f"{label}: {' and '.join(WHERE[c] for c in claims) or 'none'}"
                      for label, claims in marked.items())
    return (f"{MARK}: the method's paper makes no claim for {SCORE[claim]}, the score of this table; the row is scored "
            f"as every method's is, not as its paper evaluates the method. Its paper's claims are in {where}.")
