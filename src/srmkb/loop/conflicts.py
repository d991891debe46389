"""Conflicting documents: two documents that answer the same question and disagree.

Two documents from different sources ask the same question when their titles' cosine
is at least :data:`DUPLICATE_QUESTION`. They disagree when a sentence of one says what a
sentence of the other says with another value (:func:`differing_facts`: "within 30
days" / "within 14 days"), or, in one language, when their texts have little in common
(cosine under :data:`AGREEING_TEXT`). A conflict names those values, each with both
sentences, not every number of the two texts. Editions of one content (the HTML and PDF
of one FAQ, its French translation) never conflict (:func:`editions`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..models import model_threshold
from ..text.analysis import analyzer_for
from ..text.blocks import MAX_CHARS, item_text, sentences_of_line

if TYPE_CHECKING:
    from ..kb import KnowledgeBase

# Cosine thresholds on MiniLM's scale (srmkb.models.model_threshold maps them).
DUPLICATE_QUESTION = 0.85  # title cosine for two documents answering the same question
AGREEING_TEXT = 0.7  # text cosine under which two such documents disagree
MAX_CONFLICT_DOCUMENTS = 20_000
# Differing facts: sentences with a number compared per document, the share of their
# words (stems, numbers aside) two sentences must share to say the same thing, and the
# facts a conflict names.
MAX_FACT_SENTENCES = 300
MAX_SENTENCE_CHARS = 400
SAME_SENTENCE = 0.5
MAX_FACTS = 5
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|\w+|[^\w\s]")
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+")  # 1,000,000


def _close_pairs(vectors: np.ndarray, threshold: float, block: int = 1024) -> list[list[int]]:
    """Pairs ``(a, b)``, ``a < b``, whose cosine is at least ``threshold``, in row order;
    computed a block of rows at a time (20,000 titles whole: a 1.6 GB matrix)."""
    pairs: list[list[int]] = []
    for start in range(0, len(vectors), block):
        sims = vectors[start : start + block] @ vectors.T
        rows, cols = np.nonzero(sims >= threshold)
        rows += start
        above = cols > rows
        pairs += np.column_stack([rows[above], cols[above]]).tolist()
    return pairs


def conflicts(kb: KnowledgeBase, documents: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pairs of ``documents`` (catalog summaries) whose titles ask the same question and
    whose texts disagree, most similar questions first."""
    docs = [
        d
        for d in documents
        if d["metadata"].get("source_type") not in ("crm", "draft") and d["title"].strip()
    ]
    if len(docs) < 2 or len(docs) > MAX_CONFLICT_DOCUMENTS:
        return []
    titles = kb.embedder.embed_documents([d["title"] for d in docs])
    same_question = model_threshold(DUPLICATE_QUESTION, kb.model_id)
    pairs = [
        (a, b)
        for a, b in _close_pairs(titles, same_question)
        if docs[a]["source"] != docs[b]["source"] and not editions(docs[a], docs[b])
    ]
    if not pairs:
        return []
    texts = {}
    for i in {i for pair in pairs for i in pair}:
        doc = kb.get(docs[i]["id"])
        texts[i] = doc.full_text if doc else ""
    bodies = dict(zip(texts, kb.embedder.embed_documents(list(texts.values()))))
    agreeing = model_threshold(AGREEING_TEXT, kb.model_id)
    out = []
    for a, b in pairs:
        agree = float(bodies[a] @ bodies[b])
        facts = differing_facts(
            texts[a], texts[b], language=docs[a]["language"], other_language=docs[b]["language"]
        )
        if facts:
            reason = "numbers differ: " + "; ".join(
                f"{f['values'][0]} vs {f['values'][1]}" for f in facts
            )
        elif agree < agreeing and docs[a]["language"] == docs[b]["language"]:
            # Across languages a text cosine measures the language as much as the meaning.
            reason = f"texts have little in common (cosine {agree:.2f})"
        else:
            continue
        out.append(
            {
                "documents": [docs[a]["id"], docs[b]["id"]],
                "titles": [docs[a]["title"], docs[b]["title"]],
                "sources": [docs[a]["source"], docs[b]["source"]],
                "question_similarity": round(float(titles[a] @ titles[b]), 4),
                "text_similarity": round(agree, 4),
                "facts": facts,
                "why": reason,
            }
        )
    return sorted(out, key=lambda c: -c["question_similarity"])


def editions(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two documents (catalog summaries) are editions of one content.

    A publication is often ingested more than once: as HTML pages and as a PDF, in
    English and in French. Its editions sit in one place (the same folder, once a folder
    named for the language is set aside) and either share a file name (once the format's
    extension and a language tag are set aside: ``debian-faq.en.pdf``,
    ``debian-faq.fr.pdf``, ``debian-faq.html``) or share a title while differing in
    format or language (``index.en.html``, the HTML edition's front page, and
    ``debian-faq.en.pdf``). Two files of one format and one language with the same title
    are two documents, which may disagree (an old policy and a new one). Texts are not
    compared here: editions differ in layout, page numbers and translation lag, while
    documents that copy each other and change a price are what a conflict is.
    """
    place_a, name_a, format_a, language_a = _file_of(a)
    place_b, name_b, format_b, language_b = _file_of(b)
    if place_a != place_b:
        return False
    if name_a == name_b:
        return True
    same_title = " ".join(a["title"].casefold().split()) == " ".join(b["title"].casefold().split())
    return same_title and (format_a != format_b or language_a != language_b)


def _file_of(doc: dict[str, Any]) -> tuple[str, str, str, str]:
    """The folder, name, format and language of the file a document was read from, with
    the document's language set aside in the folder and the name."""
    language = str(doc.get("language") or "").lower()
    path = PurePosixPath(str(doc["source"]).replace("\\", "/"))

    def tagged(part: str) -> bool:
        return bool(language) and (
            part == language or (len(part) == 5 and part[:3] in (f"{language}-", f"{language}_"))
        )

    place = "/".join(part for part in path.parent.parts if not tagged(part.lower()))
    stem, dot, extension = path.name.lower().rpartition(".")
    if not dot:
        stem, extension = extension, ""
    for separator in "._-":
        head, found, tail = stem.rpartition(separator)
        if found and head and tagged(tail):
            stem = head
            break
    return place, stem, extension, language


def differing_facts(
    text: str,
    other: str,
    *,
    language: str | None = None,
    other_language: str | None = None,
    limit: int = MAX_FACTS,
) -> list[dict[str, Any]]:
    """Values that two texts state differently: in a sentence of ``text`` and the
    sentence of ``other`` that says the same thing (they share at least
    :data:`SAME_SENTENCE` of their words, numbers aside), a number replaced by another.

    A number one sentence has and the other lacks (a page number, a reference added) is
    not a difference of fact. Each fact gives the two values and the two sentences; the
    first ``limit`` found, in ``text``'s order, each pair of values once.
    """
    left = _numbered_sentences(text, language)
    right = _numbered_sentences(other, other_language)
    stated = {s.text.casefold() for s in right}
    facts: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for mine in left:
        if mine.text.casefold() in stated:
            continue  # the other text says it word for word
        # The closest sentence by words, and among equals the one sharing most values
        # (of "Step 1 takes 5 minutes" and "Step 2 takes 5 minutes", the right one).
        best, key = None, (0.0, 0)
        for theirs in right:
            shared = len(mine.stems & theirs.stems)
            if shared < 2:
                continue
            score = (shared / len(mine.stems | theirs.stems), len(mine.values & theirs.values))
            if score > key:
                best, key = theirs, score
        if best is None or key[0] < SAME_SENTENCE:
            continue
        for values in _replaced_numbers(mine.tokens, best.tokens):
            if values not in seen:
                seen.add(values)
                facts.append({"values": list(values), "sentences": [mine.text, best.text]})
                if len(facts) >= limit:
                    return facts
    return facts


class _Sentence(NamedTuple):
    text: str
    tokens: list[str]
    stems: frozenset[str]  # numbers aside
    values: frozenset[str]  # its numbers, as comparable values


def _numbered_sentences(text: str, language: str | None) -> list[_Sentence]:
    """The sentences of ``text`` that hold a number; list markers ("2. ") are not
    numbers of fact."""
    analyzer = analyzer_for(language)
    out = []
    for line in text[:MAX_CHARS].splitlines():
        for sentence in sentences_of_line(item_text(line)):
            sentence = sentence[:MAX_SENTENCE_CHARS]
            if not _NUMBER.search(sentence):
                continue
            tokens = _TOKEN.findall(sentence)
            stems = frozenset(t for t in analyzer.analyze(sentence) if not t.isdigit())
            values = frozenset(_value(t) for t in tokens if _NUMBER.fullmatch(t))
            out.append(_Sentence(sentence, tokens, stems, values))
            if len(out) >= MAX_FACT_SENTENCES:
                return out
    return out


def _replaced_numbers(tokens: list[str], other: list[str]) -> list[tuple[str, str]]:
    """The numbers of ``tokens`` that ``other`` replaces with different numbers standing
    in the same place: after the same word, or before the same word or unit ("30 days" /
    "14 days"; not "dpkg(1)" / "sources.list(5)")."""
    matcher = SequenceMatcher(
        None, [t.lower() for t in tokens], [t.lower() for t in other], autojunk=False
    )
    out = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "replace":
            continue
        mine = [k for k in range(i1, i2) if _NUMBER.fullmatch(tokens[k])]
        theirs = [k for k in range(j1, j2) if _NUMBER.fullmatch(other[k])]
        if not mine or len(mine) != len(theirs):
            continue
        for k, m in zip(mine, theirs):
            before, after = _word_before(tokens, k), _unit_after(tokens, k)
            same_place = (before is not None and before == _word_before(other, m)) or (
                after is not None and after == _unit_after(other, m)
            )
            if same_place and _value(tokens[k]) != _value(other[m]):
                out.append((tokens[k], other[m]))
    return out


def _word_before(tokens: list[str], k: int) -> str | None:
    """The nearest word before ``tokens[k]``, punctuation and numbers skipped."""
    for token in reversed(tokens[max(0, k - 4) : k]):
        if token[0].isalpha():
            return token.lower()
    return None


def _unit_after(tokens: list[str], k: int) -> str | None:
    """The word or unit right after ``tokens[k]``."""
    after = tokens[k + 1].lower() if k + 1 < len(tokens) else ""
    return after if after[:1].isalpha() or after in ("%", "€", "$", "£") else None


def _value(number: str) -> str:
    """A number as a comparable value: "1,000" = "1000", "2,5" = "2.5", "2.50" = "2.5"."""
    plain = number.replace(",", "") if _GROUPED.fullmatch(number) else number.replace(",", ".")
    try:
        return repr(float(plain))
    except ValueError:  # a version, "2.4.14"
        return plain
