"""A query's facts, computed once and read by every stage that needs them.

One search used to detect the query's language four times (the dense vector, the
language of the rows, the lexical weights, the answer's language) and analyse it once
per language. A :class:`Query` holds the text, the probability of each language (one
detection among :data:`~srmkb.text.language.DEFAULT_LANGUAGES`; a smaller candidate set
is the same distribution renormalised, as py3langid's probabilities are a softmax), its
terms per analyzer language, and its vector, embedded on first use only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property

import numpy as np

from ..errors import InputError
from ..text.analysis import analyzer_for
from ..text.language import (
    DEFAULT_LANGUAGES,
    DEFAULT_MIN_CONFIDENCE,
    UNDETERMINED,
    language_probabilities,
)

__all__ = ["MAX_QUERY_CHARS", "Query", "check_text"]

# Longest query or question accepted (characters): a query is a question, not a document.
MAX_QUERY_CHARS = 10_000


class Query:
    """The text of a search or question and what is derived from it, each once."""

    def __init__(self, text: str, embed: Callable[[str], np.ndarray] | None = None) -> None:
        self.text = text
        self._embed = embed
        self._terms: dict[str, list[str]] = {}

    def __repr__(self) -> str:
        return f"Query({self.text!r})"

    @cached_property
    def languages(self) -> dict[str, float]:
        """Probability of each default language, most likely first; empty without letters."""
        return language_probabilities(self.text, languages=DEFAULT_LANGUAGES)

    def languages_among(self, candidates: Iterable[str]) -> dict[str, float]:
        """The probabilities among ``candidates`` only, most likely first."""
        wanted = set(candidates)
        if not wanted <= set(DEFAULT_LANGUAGES):  # a language detection never considered
            return language_probabilities(self.text, languages=wanted)
        subset = {code: p for code, p in self.languages.items() if code in wanted}
        total = sum(subset.values())
        if total <= 0:
            return language_probabilities(self.text, languages=wanted) if subset else {}
        return {code: p / total for code, p in subset.items()}

    def language(
        self,
        candidates: Iterable[str] | None = None,
        *,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    ) -> str:
        """The most likely language (among ``candidates``), or ``"und"`` when unsure."""
        found = self.languages if candidates is None else self.languages_among(candidates)
        for code, p in found.items():
            return code if p >= min_confidence else UNDETERMINED
        return UNDETERMINED

    def answer_language(self, base_languages: Iterable[str] = ()) -> str:
        """The language to answer in: detected among the base's languages and English and
        French, else (when unsure) the base's first language, else English."""
        known = [code for code in base_languages if code in DEFAULT_LANGUAGES]
        found = self.language(dict.fromkeys([*known, "en", "fr"]))
        if found != UNDETERMINED:
            return found
        return known[0] if known else "en"

    def terms(self, language: str) -> list[str]:
        """The query's index terms for passages in ``language``."""
        found = self._terms.get(language)
        if found is None:
            found = self._terms[language] = analyzer_for(language).analyze(self.text)
        return found

    @cached_property
    def vector(self) -> np.ndarray:
        """The query's embedding (computed on first use)."""
        if self._embed is None:
            raise ValueError("this query was made without an embedding function")
        return self._embed(self.text)


def check_text(text: object, name: str = "query") -> str:
    """``text`` if it is a query srmkb accepts: a string of valid Unicode (no lone
    surrogate) of at most :data:`MAX_QUERY_CHARS` characters; else :class:`InputError`."""
    if not isinstance(text, str):
        raise InputError(f"{name} must be a string, got {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{name} holds a lone surrogate: it is not valid Unicode text") from None
    if len(text) > MAX_QUERY_CHARS:
        raise InputError(
            f"{name} is {len(text):,} characters long; at most {MAX_QUERY_CHARS:,} are accepted"
        )
    return text
