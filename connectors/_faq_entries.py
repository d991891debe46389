"""The entries of a structured FAQ file (JSON, YAML, CSV) and their fields: groups that
pass a category down, field names matched loosely among synonyms. Part of the FAQ
connector (:mod:`srmkb.connectors.faq`)."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from ..documents import JSONValue, Visibility
from ..errors import InputError

# Synonyms per field, as normalised keys (lower case, no accents, letters and digits
# only), most specific first. The first ones of question and answer are "strong": a
# file is claimed as a FAQ only if each entry has a strong question or a strong answer
# field, so a JSON list of {"title", "text"} documents is not taken for one.
_QUESTION = ("question", "q", "faqquestion", "questiontext", "pregunta", "frage", "vraag",
             "domanda", "pergunta", "query", "title", "faq")  # fmt: skip
_ANSWER = ("answer", "a", "faqanswer", "answertext", "reponse", "response", "reply",
           "solution", "respuesta", "antwort", "antwoord", "risposta", "resposta",
           "text", "body", "content")  # fmt: skip
_STRONG_QUESTION = frozenset(_QUESTION[:9])
_STRONG_ANSWER = frozenset(_ANSWER[:13])
_FIELDS: dict[str, tuple[str, ...]] = {
    "question": _QUESTION,
    "answer": _ANSWER,
    "id": ("id", "faqid", "questionid", "identifier", "uid", "ref", "reference", "key"),
    "category": ("category", "categorie", "categoria", "kategorie", "cat", "section",
                 "topic", "theme", "group", "rubrique"),
    "product": ("product", "produit", "producto", "produkt", "prodotto", "produto"),
    "visibility": ("visibility", "visibilite", "audience", "access"),
    "url": ("url", "link", "href", "uri", "lien", "permalink", "sourceurl", "enlace"),
    "language": ("language", "lang", "locale", "langue", "idioma", "sprache", "lingua"),
    "updated_at": ("updatedat", "updated", "lastupdated", "modified", "modifiedat",
                   "lastmodified", "updatedon", "misajour", "datemaj", "date"),
}  # fmt: skip
_CONTAINERS = ("faqs", "faq", "questions", "items", "entries", "data", "results")
_GROUP_NAMES = ("name", "title", "label")
_INHERITED = ("category", "product", "visibility", "language", "updated_at")
_VISIBILITY = {
    **dict.fromkeys(("public", "external", "customer", "customers", "everyone"), "public"),
    **dict.fromkeys(("internal", "private", "agent", "agents", "staff", "employees"),
                    "internal"),
}  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """A question and answer as found in the file, before it is checked."""

    fields: Mapping[str, object]  # as written in the file
    inherited: Mapping[str, object]  # canonical fields from enclosing groups
    line: int | None


def walk_entries(
    data: object,
    inherited: Mapping[str, object],
    lines: dict[int, int] | None,
    seen: set[int] | None = None,
) -> Iterator[Entry]:
    """The FAQ entries in loaded JSON/YAML data, with fields inherited from groups.

    ``seen`` makes each list and object count once: YAML aliases can repeat one many
    times over ("billion laughs").
    """
    seen = set() if seen is None else seen
    if id(data) in seen:
        return
    seen.add(id(data))
    line = (lines or {}).get(id(data))
    if isinstance(data, list):
        for item in data:
            if isinstance(item, Mapping):
                yield from walk_entries(item, inherited, lines, seen)
            else:
                yield Entry({}, inherited, None)
        return
    if not isinstance(data, Mapping):
        yield Entry({}, inherited, line)
        return
    keys = {_norm_key(k): k for k in data}
    container = next(
        (keys[c] for c in _CONTAINERS if c in keys and isinstance(data[keys[c]], list)), None
    )
    if container is None and faq_like([data]):
        yield Entry(data, inherited, line)
    elif container is not None:
        known, _ = canonical({k: v for k, v in data.items() if k != container})
        name = next((data[keys[n]] for n in _GROUP_NAMES if n in keys), None)
        group = {**inherited, **{k: v for k, v in known.items() if k in _INHERITED}}
        if "category" not in known and isinstance(name, str) and len(seen) > 1:
            group["category"] = name  # a named group; a file's own title is no category
        yield from walk_entries(data[container], group, lines, seen)
    elif data and all(isinstance(v, list) for v in data.values()):  # {"Billing": [...]}
        for key, value in data.items():
            yield from walk_entries(value, {**inherited, "category": str(key)}, lines, seen)
    else:
        yield Entry(data, inherited, line)


def faq_like(items: list[Mapping[str, object]]) -> bool:
    """Whether most items have a strong question field or a strong answer field, and
    both a question and an answer field."""

    def ok(item: Mapping[str, object]) -> bool:
        keys = {_norm_key(k) for k in item}
        has_q, has_a = bool(keys & set(_QUESTION)), bool(keys & set(_ANSWER))
        strong = bool(keys & _STRONG_QUESTION) or bool(keys & _STRONG_ANSWER)
        return has_q and has_a and strong

    return bool(items) and 2 * sum(1 for i in items if ok(i)) > len(items)


def canonical(fields: Mapping[str, object]) -> tuple[dict[str, object], dict[str, object]]:
    """Split an entry into known fields (by canonical name) and the rest."""
    by_key: dict[str, str] = {}
    for key in fields:
        by_key.setdefault(_norm_key(key), str(key))
    known: dict[str, object] = {}
    used: set[str] = set()
    for name, synonyms in _FIELDS.items():
        for synonym in synonyms:
            original = by_key.get(synonym)
            if original is not None and original not in used and as_text(fields[original]):
                known[name] = fields[original]
                used.add(original)
                break
    extras = {
        str(k): v for k, v in fields.items() if str(k) not in used and v not in (None, "", [], {})
    }
    return known, extras


@functools.lru_cache(maxsize=4096)
def _norm_key(key: object) -> str:
    folded = unicodedata.normalize("NFKD", str(key)).casefold()
    return "".join(c for c in folded if c.isalnum())


def as_text(value: object) -> str:
    if value is None or isinstance(value, Mapping):
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return "\n\n".join(t for t in (as_text(v) for v in value) if t)
    return str(value).strip()


def as_json(value: object) -> JSONValue:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): as_json(v) for k, v in value.items()}
    return str(value)


def as_visibility(value: object, default: Visibility) -> Visibility:
    text = as_text(value).casefold()
    if not text:
        return default
    if text not in _VISIBILITY:  # never guess "public" for a label we don't know
        raise InputError(f"unknown visibility {text!r}; use 'public' or 'internal'")
    return _VISIBILITY[text]  # type: ignore[return-value]
