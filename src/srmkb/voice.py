"""Text a speech synthesiser reads well: no URLs or markup, numbers and abbreviations in words.

Numbers go through num2words (English and French); abbreviations a voice would spell out
or stumble on are expanded. Used by the ``voice`` channel of answers.
"""

from __future__ import annotations

import re

from num2words import num2words

_URL = re.compile(r"\(?\b(?:https?://|www\.)\S+?(?=[.,;:!?)]*(?:\s|$))\)?")
_MARKUP = re.compile(r"<[^>]+>|[*_`#>|]+")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)(?![\w])")
_SPACES = re.compile(r"\s+")

_ABBREVIATIONS = {
    "en": {
        r"\be\.g\.": "for example",
        r"\bi\.e\.": "that is",
        r"\betc\.": "and so on.",
        r"\bapprox\.": "approximately",
        r"\bvs\.?": "versus",
        r"\bmin\.": "minutes.",
        r"\bNo\.\s*(?=\d)": "number ",
        r"\ba\.m\.": "A M",
        r"\bp\.m\.": "P M",
        r"%": " percent",
        r"€": " euros",
        r"\$": " dollars",
        r"&": " and ",
    },
    "fr": {
        r"\bp\. ?ex\.": "par exemple",
        r"\bc\.-à-d\.": "c'est-à-dire",
        r"\betc\.": "et cetera.",
        r"\benv\.": "environ",
        r"\bn°\s*": "numéro ",
        r"%": " pour cent",
        r"€": " euros",
        r"&": " et ",
    },
}


def speakable(text: str, language: str = "en") -> str:
    """Rewrite ``text`` for reading aloud in ``language`` ("en" or "fr")."""
    lang = "fr" if (language or "en").lower().startswith("fr") else "en"
    text = _URL.sub("", text)
    text = _MARKUP.sub(" ", text)
    for pattern, words in _ABBREVIATIONS[lang].items():
        text = re.sub(pattern, words, text)
    text = _NUMBER.sub(lambda m: _number_words(m.group(1), lang), text)
    text = _SPACES.sub(" ", text).strip()
    # French typography keeps a space before ; : ! ?
    return re.sub(r"\s+([.,])" if lang == "fr" else r"\s+([.,;:!?])", r"\1", text)


def _number_words(raw: str, lang: str) -> str:
    value: float | int
    if "," in raw and lang == "fr":
        raw = raw.replace(",", ".")
    try:
        value = float(raw) if "." in raw else int(raw.replace(",", ""))
    except ValueError:
        return raw
    if isinstance(value, int) and value > 10**12:
        return " ".join(num2words(int(d), lang=lang) for d in raw)  # read long ids digit by digit
    return str(num2words(value, lang=lang))
