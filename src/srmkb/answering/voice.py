"""Text a speech synthesiser reads well: no URLs or markup; dates, times, version
numbers, numbers and abbreviations in words.

Numbers go through num2words (English and French); dates (2026-03-02, and 02/03/2026 in
French) become "the second of March, 2026" / "deux mars deux mille vingt-six"; times
(18:15, 18h15, 2 h) and version numbers (2.4.14) are read as people say them;
abbreviations a voice would spell out or stumble on are expanded. Used by the ``voice``
channel of answers.
"""

from __future__ import annotations

import re

from ..text._lazy import num2words

_URL = re.compile(r"\(?\b(?:https?://|www\.)\S+?(?=[.,;:!?)]*(?:\s|$))\)?")
_MARKUP = re.compile(r"<[^>]+>|[*_`#>|]+")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)(?![\w])")
_SPACES = re.compile(r"\s+")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_FR_DATE = re.compile(r"\b(\d{1,2})/(\d{2})(?:/(\d{4}))?\b")  # 24/7 is not a date
_FR_TIME = re.compile(r"\b(\d{1,2}) ?h(?: ?(\d{2}))?\b")
_CLOCK = re.compile(r"\b(\d{1,2}):(\d{2})\b")
_VERSION = re.compile(r"\b\d+(?:\.\d+){2,}\b")
_FR_ORDINAL = re.compile(r"\b1(?:er|re)\b")
_MONTHS = {
    "en": "January February March April May June July August September October November"
    " December".split(),
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre"
    " décembre".split(),
}

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
        r"\bGHz\b": "gigahertz",
        r"\bMbit/s\b": "megabits per second",
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
        r"\bGHz\b": "gigahertz",
        r"\bMbit/s\b": "mégabits par seconde",
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
    text = _ISO_DATE.sub(
        lambda m: _date(m.group(1), m.group(2), m.group(3), lang, m.group(0)), text
    )
    if lang == "fr":
        text = _FR_DATE.sub(
            lambda m: _date(m.group(3), m.group(2), m.group(1), lang, m.group(0)), text
        )
        text = _FR_TIME.sub(lambda m: _time(m.group(1), m.group(2), lang), text)
        text = _FR_ORDINAL.sub(lambda m: "premier" if m.group(0) == "1er" else "première", text)
    text = _CLOCK.sub(lambda m: _time(m.group(1), m.group(2), lang), text)
    text = _VERSION.sub(
        lambda m: " point ".join(_number_words(d, lang) for d in m.group(0).split(".")), text
    )
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


def _date(year: str | None, month: str, day: str, lang: str, raw: str) -> str:
    """A calendar date in words; ``raw`` unchanged when it is not a real date."""
    m, d = int(month), int(day)
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return raw
    name = _MONTHS[lang][m - 1]
    if lang == "fr":
        words = f"{'premier' if d == 1 else num2words(d, lang='fr')} {name}"
    else:
        words = f"the {num2words(d, to='ordinal', lang='en')} of {name}"
    if year:
        words += (" " if lang == "fr" else ", ") + str(num2words(int(year), lang=lang, to="year"))
    return words


def _time(hours: str, minutes: str | None, lang: str) -> str:
    """A time of day in words: 18h15 → dix-huit heures quinze, 18:15 → eighteen fifteen."""
    h, m = int(hours), int(minutes or 0)
    if h > 24 or m > 59:
        return f"{hours}:{minutes}" if minutes else hours
    if lang == "fr":
        out = f"{num2words(h, lang='fr')} {'heure' if h <= 1 else 'heures'}"
        return out + (f" {num2words(m, lang='fr')}" if m else "")
    if m == 0:
        return f"{num2words(h, lang='en')} o'clock"
    return f"{num2words(h, lang='en')} {'oh ' if m < 10 else ''}{num2words(m, lang='en')}"
