"""A page's bytes to text: byte-order mark, XML declaration, ``<meta charset>``, UTF-8,
then the legacy encoding of the page's language and a detector. Part of the HTML and FAQ
connectors."""

from __future__ import annotations

import codecs
import re

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)[\"']")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_HTML_LANG = re.compile(rb"<html[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3})", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")

# Where no encoding is declared and the bytes are not UTF-8, a legacy single-byte
# encoding is tried first, as browsers do: the one of the page's language (WHATWG's
# locale defaults), else windows-1252. charset-normalizer alone picks cp1250 or
# mac_latin2 for short French text (see tests/unit/test_connectors_html.py).
_LEGACY_BY_LANGUAGE = {
    **dict.fromkeys(("cs", "hu", "pl", "ro", "sk", "sl", "hr", "bs"), "cp1250"),
    **dict.fromkeys(("ru", "uk", "bg", "be", "mk", "sr"), "cp1251"),
    "el": "cp1253", "tr": "cp1254", "az": "cp1254", "he": "cp1255", "ar": "cp1256",
    "fa": "cp1256", "lt": "cp1257", "lv": "cp1257", "et": "cp1257", "vi": "cp1258",
    "th": "cp874", "ja": "shift_jis", "zh": "gb18030", "ko": "euc_kr",
}  # fmt: skip
# WHATWG maps these labels to windows-1252, a superset that browsers use for them.
_AS_CP1252 = {"iso8859-1", "ascii", "cp1252"}  # as codecs.lookup() names them


class PageError(Exception):
    """A file that cannot be read as a page; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode(data: bytes) -> tuple[str, str]:
    """Decode a text file's bytes; return ``(text, encoding)`` or raise :class:`PageError`.

    Order: BOM, XML declaration, ``<meta charset>`` (checked: a page declared UTF-8 that
    is not, or declared Latin-1 that is valid UTF-8, is decoded as it really is), UTF-8,
    then the legacy encoding of the page's language and last charset-normalizer's guess.
    """
    if not data.strip():
        raise PageError("empty file")
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                return _check_text(data[len(bom) :].decode(name)), name
            except UnicodeDecodeError:
                raise PageError(f"invalid {name} after its byte-order mark") from None
    declared = _declared_encoding(data[:4096])
    if declared is not None and declared != "utf-8":
        if declared in _AS_CP1252 and _is_utf8_with_non_ascii(data):
            return _check_text(data.decode("utf-8")), "utf-8"
        try:
            return _check_text(_decode_legacy(data, declared)), declared
        except UnicodeDecodeError:
            pass  # the declaration is wrong: detect
    try:
        return _check_text(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    return _detect(data)


def _declared_encoding(head: bytes) -> str | None:
    match = _XML_DECL.match(head) or _META_CHARSET.search(head)
    if not match:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None
    if name.startswith(("utf-16", "utf-32")):  # readable as ASCII, so not UTF-16 (WHATWG)
        return "utf-8"
    return "cp1252" if name in _AS_CP1252 else name


def _decode_legacy(data: bytes, name: str) -> str:
    if name == "cp1252":
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:  # five bytes cp1252 leaves undefined: read as Latin-1
            return data.decode("latin-1")
    return data.decode(name)


def _is_utf8_with_non_ascii(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _detect(data: bytes) -> tuple[str, str]:
    if b"\x00" in data:
        raise PageError("binary data, not text")
    from charset_normalizer import from_bytes

    legacy = _LEGACY_BY_LANGUAGE.get(_sniff_language(data[:4096]) or "", "cp1252")
    match = from_bytes(data, cp_isolation=[legacy]).best() or from_bytes(data).best()
    if match is None:
        raise PageError("cannot determine the text encoding (binary data?)")
    return _check_text(str(match)), match.encoding


def _sniff_language(head: bytes) -> str | None:
    match = _HTML_LANG.search(head)
    return match.group(1).decode("ascii").lower() if match else None


def _check_text(text: str) -> str:
    controls = len(_CONTROL.findall(text))
    if "\x00" in text or controls > len(text) // 100:
        raise PageError("binary data, not text")
    return text
