"""Text analysis for the lexical index: text in, index terms out, per language.

An :class:`Analyzer` turns text into terms. The default for a language lower-cases,
splits on Unicode word characters, drops stopwords and stems with Snowball (PyStemmer):
stemming alone moved BM25 from 0.802 to 0.866 nDCG@10 on hint3-sofmattress. The same
analyzer must see index and query text, so each passage records its language.

French adds elision removal, a stop list and accent folding. BM25 nDCG@10 on
service-public-fr (whole documents / best 100-word passage): English analyzer 0.869 /
0.844; French without stop list 0.888 / 0.880; French analyzer 0.893 / 0.890 (bm25s with
the French stemmer and stop list: 0.893 whole).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import Stemmer

if TYPE_CHECKING:
    from ..documents import Passage

_WORD = re.compile(r"\w+", re.UNICODE)
# Typographic (’), modifier-letter (ʼ) and ASCII apostrophes all mark an elision.
_APOSTROPHES = "'’ʼ"
# Ligatures that NFKD leaves whole; expanded before stemming so "œuvre" meets "oeuvre".
_LIGATURES = (("œ", "oe"), ("æ", "ae"))

# No stop list for English by default: idf already discounts frequent words, and on FAQ
# data question words carry signal. Measured (BM25 nDCG@10, Snowball stems), no stop list
# vs a 100-word list: covidfaq 0.634 vs 0.509, banking77 0.910 vs 0.906, scifact 0.685 vs
# 0.688, hint3-sofmattress 0.849 vs 0.861, cranfield 0.368 vs 0.373.
# No accent folding either: it changed no score on the English sets (covidfaq, banking77,
# hint3-sofmattress, cranfield, scifact, LibreOffice help), and it would change the terms
# of indexes already built ("café" indexed, "cafe" looked up).
ENGLISH_STOPWORDS: frozenset[str] = frozenset()

# French words elided before a vowel: "l'enfant", "qu’il", "jusqu'à" (Lucene's list).
FRENCH_ELISIONS: frozenset[str] = frozenset(
    {"l", "d", "qu", "j", "m", "t", "s", "n", "c", "jusqu", "lorsqu", "puisqu", "quoiqu"}
)

# The Snowball project's French stop list (157 words, as NLTK and bm25s ship it): articles,
# pronouns, prepositions, forms of être and avoir; no question words. Unlike English, it
# helps French: BM25 nDCG@10 with vs without it, whole documents / best 100-word passage,
# service-public-fr 0.893 vs 0.888 / 0.890 vs 0.880, LibreOffice help fr→fr (600 title
# queries) 0.634 vs 0.634 / 0.549 vs 0.545. Plus "a", which the list lacks though it
# has every other form of avoir ("ai", "as", "ait", "ont"…); unaccented, "a" may also be
# "à", a stopword too. BM25 nDCG@10 without / with it: Debian FAQ in French 0.572 / 0.574,
# English questions over it 0.300 / 0.308; service-public-fr 0.904 either way.
FRENCH_STOPWORDS: frozenset[str] = frozenset(
    """
    a ai aie aient aies ait as au aura aurai auraient aurais aurait auras aurez auriez aurions
    aurons auront aux avaient avais avait avec avez aviez avions avons ayant ayante ayantes
    ayants ayez ayons c ce ces d dans de des du elle en es est et eu eue eues eurent eus
    eusse eussent eusses eussiez eussions eut eux eûmes eût eûtes furent fus fusse fussent
    fusses fussiez fussions fut fûmes fût fûtes il ils j je l la le les leur lui m ma mais
    me mes moi mon même n ne nos notre nous on ont ou par pas pour qu que qui s sa se sera
    serai seraient serais serait seras serez seriez serions serons seront ses soient sois
    soit sommes son sont soyez soyons suis sur t ta te tes toi ton tu un une vos votre vous
    y à étaient étais était étant étante étantes étants étiez étions été étée étées étés
    êtes
    """.split()
)


@runtime_checkable
class Analyzer(Protocol):
    """Turns text into the terms a lexical index stores and a query looks up."""

    language: str

    def analyze(self, text: str) -> list[str]:
        """Return the index terms of ``text``, in order, repeats kept."""
        ...


class SnowballAnalyzer:
    """Lower-case, drop elisions, split on word characters, drop stopwords, Snowball-stem.

    ``elisions`` are the words that lose their vowel before an apostrophe ("l'", "qu’");
    they are removed with the apostrophe so "l'enfant" indexes as "enfant". ``fold_accents``
    strips diacritics after stemming (the stemmer needs them to find suffixes), so
    "évènement" and "evenement" meet whether or not the writer typed accents.
    """

    def __init__(
        self,
        language: str,
        stemmer: str,
        stopwords: Iterable[str] = frozenset(),
        *,
        fold_accents: bool = False,
        elisions: Iterable[str] = frozenset(),
    ) -> None:
        self.language = language
        self._stemmer = Stemmer.Stemmer(stemmer)
        self._stopwords = frozenset(stopwords)
        self._fold = fold_accents
        self._elision: re.Pattern[str] | None = None
        self._stems = _StemCache(self._stemmer, fold_accents)
        elided = sorted({e.lower() for e in elisions}, key=lambda e: (-len(e), e))
        if elided:
            # Longest first, so "jusqu'" is not read as "qu'"; \b keeps "aujourd'hui" whole.
            names = "|".join(map(re.escape, elided))
            self._elision = re.compile(rf"\b(?:{names})[{_APOSTROPHES}](?=\w)")

    def analyze(self, text: str) -> list[str]:
        text = text.lower()
        if self._fold:
            # str.replace, not str.translate: translate costs a third of the analysis.
            for ligature, letters in _LIGATURES:
                if ligature in text:
                    text = text.replace(ligature, letters)
        if self._elision is not None:
            text = self._elision.sub(" ", text)
        words = _WORD.findall(text)
        if self._stopwords:
            words = [w for w in words if w not in self._stopwords]
        # Each distinct word is stemmed (and folded) once, as bm25s does: the stems of
        # words already seen come from a dict, in C, and the same string object is
        # returned each time, so a vocabulary's strings are shared.
        return list(map(self._stems.__getitem__, words))

    def __repr__(self) -> str:
        return f"SnowballAnalyzer(language={self.language!r})"


# Distinct words a stem cache holds before it starts afresh (about 100 MB at most).
STEM_CACHE_WORDS = 500_000


class _StemCache(dict[str, str]):
    """Word -> index term, filled on first sight of a word (:meth:`__missing__`).

    Bounded by :data:`STEM_CACHE_WORDS`: when full it is emptied, which costs a
    re-stem of the words seen next, never a different term.
    """

    def __init__(self, stemmer: Stemmer.Stemmer, fold_accents: bool) -> None:
        super().__init__()
        self._stemmer = stemmer
        self._fold = fold_accents
        self._lock = threading.Lock()

    def __missing__(self, word: str) -> str:
        with self._lock:  # PyStemmer's stemmer keeps state: one thread at a time
            stem: str = self._stemmer.stemWord(word)
        if self._fold:
            stem = _fold_accents(stem)
        if len(self) >= STEM_CACHE_WORDS:
            self.clear()
        self[word] = stem
        return stem


@lru_cache(maxsize=65536)
def _fold_accents(word: str) -> str:
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def english_analyzer() -> SnowballAnalyzer:
    return SnowballAnalyzer("en", "english", ENGLISH_STOPWORDS)


def french_analyzer() -> SnowballAnalyzer:
    """Elisions, the Snowball stop list, Snowball stems, accents folded after stemming.

    Folding costs nothing on accented queries and keeps queries typed without accents
    working: service-public-fr with its queries stripped of accents, 0.888 folded vs 0.839.
    """
    return SnowballAnalyzer(
        "fr", "french", FRENCH_STOPWORDS, fold_accents=True, elisions=FRENCH_ELISIONS
    )


_FACTORIES = {"en": english_analyzer, "fr": french_analyzer}
_CACHE: dict[str, Analyzer] = {}


def analyzer_for(language: str | None) -> Analyzer:
    """The analyzer for a language code; unknown languages fall back to English's."""
    code = (language or "en").lower()[:2]
    if code not in _FACTORIES:
        code = "en"
    if code not in _CACHE:
        _CACHE[code] = _FACTORIES[code]()
    return _CACHE[code]


# How many times a passage's title counts in its index terms. The title already opens the
# passage's text (Passage.indexed_text); counting it once more weighs a document's own
# statement of its subject above a word in passing, as BM25F's field weights do. An FAQ's
# title is its question. BM25 nDCG@10 with documents as context (benchmarks/multilingual.py):
# covidfaq 0.649 → 0.684, cranfield 0.372 → 0.377; scifact, banking77 and
# hint3-sofmattress within 0.002; sets without titles (service-public-fr, the Debian FAQ
# and LibreOffice sets) unchanged. A weight of 3 gained on covidfaq again but lost on
# scifact; 2 is the plain "title counts double".
TITLE_WEIGHT = 2


def passage_terms(passage: Passage) -> list[str]:
    """The index terms of ``passage``: its title, section and text in its language's
    analyzer, the title counted :data:`TITLE_WEIGHT` times."""
    analyzer = analyzer_for(passage.language)
    terms = analyzer.analyze(passage.indexed_text)
    if passage.title and TITLE_WEIGHT > 1:
        terms = analyzer.analyze(passage.title) * (TITLE_WEIGHT - 1) + terms
    return terms
