"""What every adapter shares: a hit as framework metadata, and the options checked once."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Protocol, TypedDict, cast

from ..documents import Hit, JSONValue
from ..errors import InputError
from ..vocabulary import AUDIENCES, COLLAPSES, MODES, Audience, Collapse, Mode, check_choice


class SearchOptions(TypedDict):
    """The keyword arguments an adapter passes to ``kb.search`` and ``kb.asearch``."""

    mode: Mode
    filters: Mapping[str, JSONValue] | None
    audience: Audience
    channel: str | None
    log: bool
    collapse: Collapse | None


class Configured(Protocol):
    """What every retriever adapter is configured with (the base aside)."""

    @property
    def mode(self) -> Mode: ...
    @property
    def filters(self) -> Mapping[str, object] | None: ...
    @property
    def audience(self) -> Audience: ...
    @property
    def channel(self) -> str | None: ...
    @property
    def log(self) -> bool: ...
    @property
    def collapse(self) -> Collapse | None: ...


def search_options(
    adapter: Configured, filters: Mapping[str, object] | None = None
) -> SearchOptions:
    """The ``kb.search`` options of ``adapter``; ``filters`` replace its own for one call.
    The base checks the filters (adapters accept plain mappings, which pydantic and
    Haystack can describe, where srmkb's filter type is a recursive JSON type)."""
    chosen = adapter.filters if filters is None else filters
    return SearchOptions(
        mode=adapter.mode,
        filters=cast("Mapping[str, JSONValue] | None", chosen),
        audience=adapter.audience,
        channel=adapter.channel,
        log=adapter.log,
        collapse=adapter.collapse,
    )


def hit_metadata(hit: Hit, interaction_id: str | None = None) -> dict[str, JSONValue]:
    """A hit's provenance as flat metadata for a framework's document.

    The document's own metadata comes first and srmkb's fields override a key of the
    same name, so ``document_id``, ``passage_id``, ``title``, ``section``, ``url``,
    ``page``, ``score``, ``scores`` (each retriever's own), ``version``, ``language``,
    ``visibility`` and ``interaction_id`` (pass it to :meth:`KnowledgeBase.feedback`)
    always mean what srmkb says. For a customer the metadata is already what a customer
    may see (a CRM case's own fields are left out by the search).
    """
    return {
        **dict(hit.metadata),
        "document_id": hit.document_id,
        "passage_id": hit.passage_id,
        "title": hit.title,
        "section": hit.section,
        "url": hit.url,
        "page": hit.page,
        "score": float(hit.score),
        "scores": {name: float(value) for name, value in hit.scores.items()},
        "version": hit.version,
        "language": hit.language,
        "visibility": hit.visibility,
        "interaction_id": interaction_id,
    }


def check_options(k: object, audience: object, mode: object, collapse: object = None) -> None:
    """Raise :class:`InputError` for a bad ``k``, ``audience``, ``mode`` or ``collapse``,
    when an adapter is built rather than at its first search."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise InputError(f"k must be a whole number of at least 1, got {k!r}")
    check_choice("audience", audience, AUDIENCES)
    check_choice("mode", mode, MODES)
    if collapse is not None:
        check_choice("collapse", collapse, COLLAPSES)
