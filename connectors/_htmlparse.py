"""HTML helpers shared by the HTML and FAQ connectors: decode, parse, clean, render.

A page goes through four steps. :func:`decode` turns bytes into text (BOM, XML
declaration, ``<meta charset>``, then a detector). :func:`load_page` parses it with
selectolax's lexbor engine (a spec-compliant HTML5 parser, the fastest of those measured),
drops boilerplate and picks the main content. :func:`render` walks that content into
blocks: headings, paragraphs of normalised text (lists as lines, tables as ``a | b`` rows,
``<pre>`` verbatim) and, for FAQ pages, question/answer pairs. The connectors turn the
blocks into sections or documents.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

HTML_SUFFIXES = (".html", ".htm", ".xhtml")
# A hard safety cap for callers that read pages directly. read_paths' own limit (32 MB,
# srmkb ingest --max-file-mb) is the one users meet and set; this one stays far above it.
MAX_BYTES = 2**30

# Removed wherever they are: never content.
_JUNK = (
    "script, style, template, noscript, svg, canvas, iframe, object, embed, link, meta,"
    " button, input, select, textarea, img, picture, video, audio, map, dialog,"
    " nav, aside, footer, [role=navigation], [role=banner], [role=contentinfo],"
    " [role=complementary], [role=search], [role=dialog], [role=alertdialog],"
    " [aria-hidden=true], [style*='display:none'], [style*='display: none']"
)
# Class or id tokens of navigation and chrome (exact token), and substrings that mark
# cookie and consent banners, removed inside the main content too.
_CHROME_TOKENS = (
    "nav", "navbar", "navheader", "navfooter", "navigation", "menu", "breadcrumb",
    "breadcrumbs", "sidebar", "toc", "skip-link", "skiplink", "share", "social",
    "related", "relatedtopics", "pagination", "site-header", "site-footer",
    "list-of-tables", "list-of-figures", "list-of-examples",  # DocBook's other TOCs
)  # fmt: skip
_CHROME_SUBSTRINGS = ("cookie", "consent", "gdpr")
_CHROME = ", ".join(
    [f"[class~={t}], [id={t}]" for t in _CHROME_TOKENS]
    + [f"[class*={s}], [id*={s}]" for s in _CHROME_SUBSTRINGS]
)
_HEADINGS = "h1, h2, h3, h4, h5, h6"
_BLOCK = frozenset(
    "address article aside blockquote body center dd details dialog div dl dt fieldset"
    " figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr legend li main"
    " nav ol p pre section summary table tbody thead tfoot tr td th caption ul html".split()
)
_VOID = "area|base|br|col|embed|hr|img|input|link|meta|param|source|track|wbr|keygen"
# XHTML served as HTML writes empty elements as <a id="x"/>; an HTML5 parser reads that
# as an open <a> that swallows what follows, so expand them before parsing.
_XHTML_EMPTY = re.compile(rf"<(?!(?:{_VOID})\b)([A-Za-z][\w:.-]*)(\s[^<>]*?)?\s*/>")
_XHTML_MARK = re.compile(rb"^\s*<\?xml|xmlns\s*=\s*[\"']http://www\.w3\.org/1999/xhtml")

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)[\"']")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_HTML_LANG = re.compile(rb"<html[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3})", re.I)
_FILE_LANG = re.compile(r"\.([a-z]{2})(?:[-_][A-Za-z]{2})?\.x?html?$")
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||–|—|-|::|»|·)\s+")
_SPACE = re.compile(r"\s+")
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


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class Pair:
    """A question and its answer, from ``<dt>``/``<dd>`` or ``<details>``/``<summary>``."""

    question: str
    answer: str
    anchor: str


Block = Heading | Pair | str
PairMode = Literal["dl", "details"]


@dataclass(frozen=True)
class Page:
    """A decoded, parsed and cleaned page. ``root`` is the main content's element."""

    tree: LexborHTMLParser  # keeps the nodes below alive
    root: LexborNode
    title: str
    language: str | None
    url: str
    encoding: str
    updated_at: str | None
    faq_markup: bool  # schema.org FAQPage microdata or JSON-LD


# -- decoding -------------------------------------------------------------------------


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


# -- loading --------------------------------------------------------------------------


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or :class:`PageError` for a missing, unreadable or huge file."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise PageError(
                f"file is {size / 2**20:.1f} MB, over the {MAX_BYTES / 2**20:.0f} MB limit"
                " of the HTML and FAQ readers"
            )
        return path.read_bytes()
    except OSError as exc:
        raise PageError(f"cannot open: {exc.strerror or exc}") from None


def load_page(path: Path, data: bytes | None = None) -> Page:
    """Read (unless ``data`` is given), decode, parse and clean the page at ``path``;
    :class:`PageError` if it can't."""
    data = read_bytes(path) if data is None else data
    text, encoding = decode(data)
    if _XHTML_MARK.search(data[:2048]):
        text = _XHTML_EMPTY.sub(r"<\1\2></\1>", text)
    if "<" not in text:
        raise PageError("no HTML markup")
    tree = LexborHTMLParser(text)
    html = tree.css_first("html")
    attrs = html.attributes if html is not None else {}
    language = normalise_language(attrs.get("lang") or attrs.get("xml:lang"))
    if language is None:
        language = normalise_language(_meta(tree, "content-language"))
    if language is None and (match := _FILE_LANG.search(path.name)):
        language = match.group(1)
    faq_markup = bool(tree.css_first("[itemtype*=FAQPage]")) or any(
        "FAQPage" in (node.text() or "") for node in tree.css("script[type='application/ld+json']")
    )
    title_node = tree.css_first("title")
    raw_title = _norm(title_node.text()) if title_node is not None else ""
    url = _page_url(tree, path)
    updated = next(
        (v for k in ("last-modified", "dcterms.modified", "dc.date.modified",
                     "article:modified_time", "date") if (v := _meta(tree, k))),
        None,
    )  # fmt: skip
    _decompose_all(tree.css(_JUNK))
    # A form is chrome (search, login), unless it wraps the page as ASP.NET pages do.
    _decompose_all([f for f in tree.css("form") if f.css_first(_HEADINGS) is None])
    _drop_hidden(tree)
    root = _main_content(tree)
    if root is None:
        raise PageError("no <body> content")
    # Never the block that holds the page's heading: that is content, whatever its class.
    _decompose_all([n for n in root.css(_CHROME) if n.css_first("h1") is None])
    _decompose_all([n for n in root.css("header") if n.css_first(_HEADINGS) is None])
    h1 = root.css_first("h1")
    title = _clean_title(raw_title, heading_text(h1) if h1 is not None else "")
    return Page(tree, root, title, language, url, encoding, updated, faq_markup)


def normalise_language(value: object) -> str | None:
    """The primary subtag of a language tag, lower-cased: ``"en-US"`` gives ``"en"``."""
    if not isinstance(value, str):
        return None
    primary = re.split(r"[-_]", value.strip(), maxsplit=1)[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def _meta(tree: LexborHTMLParser, name: str) -> str | None:
    for node in tree.css("meta"):
        attrs = node.attributes
        key = attrs.get("name") or attrs.get("http-equiv") or attrs.get("property") or ""
        if key.lower() == name and (content := (attrs.get("content") or "").strip()):
            return content
    return None


def _page_url(tree: LexborHTMLParser, path: Path) -> str:
    """The canonical URL when the page states an absolute one, else the file's URI.

    A relative ``<base href>`` (offline help sets ``../../``) says nothing about where
    the page lives, so only absolute http(s) URLs are taken.
    """
    base_node = tree.css_first("base[href]")
    base = (base_node.attributes.get("href") or "").strip() if base_node else ""
    base = base if _is_web_url(base) else ""
    candidates: list[str] = []
    for node in tree.css("link[rel][href]"):
        if "canonical" in (node.attributes.get("rel") or "").lower().split():
            candidates.append(urljoin(base, (node.attributes.get("href") or "").strip()))
    candidates.append(_meta(tree, "og:url") or "")
    if base and not base.endswith("/"):
        candidates.append(base)
    return next((c for c in candidates if _is_web_url(c)), path.resolve().as_uri())


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _drop_hidden(tree: LexborHTMLParser) -> None:
    """Remove ``hidden`` elements, except alternatives a script picks between.

    Offline help marks both "Command" (macOS) and "Ctrl" hidden and shows one by script;
    when a parent holds nothing but two or more hidden elements they are kept, joined
    by " / ".
    """
    seen: set[int] = set()
    drop: list[LexborNode] = []
    for node in tree.css("[hidden]"):
        parent = node.parent
        if parent is None or parent.mem_id in seen:
            continue
        children = list(parent.iter(include_text=True))
        elements = [c for c in children if c.is_element_node]
        alternatives = (
            len(elements) > 1
            and all("hidden" in c.attributes for c in elements)
            and not any(c.is_text_node and (c.text_content or "").strip() for c in children)
        )
        if alternatives:
            seen.add(parent.mem_id)
            for child in elements[:-1]:
                child.insert_after(" / ")
        else:
            drop.append(node)
    _decompose_all(drop)


def _decompose_all(nodes: list[LexborNode]) -> None:
    """Remove nodes, skipping those inside one already removed (a freed subtree)."""
    ids = {node.mem_id for node in nodes}
    for node in nodes:
        parent = node.parent
        while parent is not None and parent.mem_id not in ids:
            parent = parent.parent
        if parent is None:
            node.decompose()


def _main_content(tree: LexborHTMLParser) -> LexborNode | None:
    for selector in ("main", "[role=main]"):
        if (node := tree.css_first(selector)) is not None:
            return node
    articles = tree.css("article")
    if len(articles) == 1:
        return articles[0]
    return tree.body


def _clean_title(raw: str, h1: str) -> str:
    """The page title without the site name: the part of ``<title>`` that the first
    ``<h1>`` repeats, else the whole title, else the ``<h1>``."""
    if not raw:
        return h1
    if h1:
        for part in _TITLE_SEPARATORS.split(raw):
            if part.casefold() == h1.casefold():
                return part
    return raw


# -- rendering ------------------------------------------------------------------------


def render(root: LexborNode, *, pairs: PairMode | None = None) -> list[Block]:
    """The content under ``root`` as headings, paragraphs and (with ``pairs``) Q/A pairs."""
    renderer = _Renderer(pairs)
    renderer.children(root)
    renderer.paragraph()
    return renderer.blocks


def heading_text(node: LexborNode) -> str:
    return _norm(" ".join(_lines(node)))


def heading_anchor(node: LexborNode) -> str:
    """Where a heading can be linked to: its id, an anchor inside it, the id of an
    element it opens, or an empty ``<a name>`` just before it."""
    anchor = node.attributes.get("id")
    if anchor:
        return anchor
    for inner in node.css("[id], a[name]"):
        if value := inner.attributes.get("id") or inner.attributes.get("name"):
            return value
    level: LexborNode | None = node
    while level is not None and level.tag not in ("body", "html"):
        if level is not node:
            first = level.css_first(_HEADINGS)
            if first is None or first.mem_id != node.mem_id:
                break
            if value := level.attributes.get("id"):
                return value
        if value := _preceding_anchor(level):
            return value
        level = level.parent
    return ""


def _preceding_anchor(node: LexborNode) -> str:
    sibling = node.prev
    while sibling is not None:
        if sibling.is_text_node and not (sibling.text_content or "").strip():
            sibling = sibling.prev
            continue
        if sibling.tag == "a" and not sibling.text(strip=True):
            attrs = sibling.attributes
            if value := attrs.get("id") or attrs.get("name"):
                return value
            sibling = sibling.prev
            continue
        return ""
    return ""


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text.replace("\u200b", "")).strip()


def _lines(node: LexborNode, *, skip: str = "") -> list[str]:
    """The text under ``node`` as lines, paragraphs included, headings as plain lines;
    children tagged ``skip`` are left out."""
    sub = _Renderer(pairs=None)
    sub.children(node, skip=skip)
    sub.paragraph()
    out: list[str] = []
    for block in sub.blocks:
        if isinstance(block, Heading):
            out.append(block.text)
        elif isinstance(block, str):
            out.extend(block.split("\n"))
    return [line for line in out if line.strip()]


class _Renderer:
    """Walks elements into blocks; inline text is gathered into the current line."""

    def __init__(self, pairs: PairMode | None) -> None:
        self.pairs = pairs
        self.blocks: list[Block] = []
        self.lines: list[str] = []
        self.line: list[str] = []

    def newline(self) -> None:
        text = _norm("".join(self.line))
        if text:
            self.lines.append(text)
        self.line = []

    def paragraph(self) -> None:
        self.newline()
        if self.lines:
            self.blocks.append("\n".join(self.lines))
            self.lines = []

    def children(self, node: LexborNode, *, skip: str = "") -> None:
        for child in node.iter(include_text=True):
            if child.is_text_node:
                self.line.append(child.text_content or "")
            elif child.is_element_node and child.tag != skip:
                self.element(child)

    def element(self, node: LexborNode) -> None:
        tag = node.tag
        if tag == "br":
            self.newline()
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.paragraph()
            text = heading_text(node)
            if text:
                self.blocks.append(Heading(int(tag[1]), text, heading_anchor(node)))
        elif tag == "pre":
            self.paragraph()
            lines = [line.rstrip() for line in (node.text(deep=True) or "").split("\n")]
            text = "\n".join(lines).strip("\n")
            if text.strip():
                self.blocks.append(text)
        elif tag in ("ul", "ol", "menu"):
            self.newline()
            self.list_items(node, ordered=tag == "ol")
        elif tag == "table" and node.css_first(_HEADINGS) is None:
            self.paragraph()
            self.table(node)
            self.paragraph()
        elif tag == "dl" and self.pairs == "dl":
            self.paragraph()
            self.dl_pairs(node)
        elif tag == "details" and self.pairs == "details" and node.css_first("summary"):
            self.paragraph()
            self.details_pair(node)
        elif tag == "dd":
            self.newline()
            self.lines.extend("  " + line for line in _lines(node))
        elif tag in ("dt", "li", "tr", "summary", "caption"):
            self.newline()
            self.children(node)
            self.newline()
        elif tag in ("td", "th"):
            self.children(node)
            self.line.append(" ")
        elif tag in _BLOCK:
            self.paragraph()
            self.children(node)
            self.paragraph()
        else:
            self.children(node)

    def list_items(self, node: LexborNode, *, ordered: bool) -> None:
        number = 0
        for item in node.iter():
            if item.tag != "li":
                self.lines.extend(_lines(item))
                continue
            number += 1
            marker = f"{number}. " if ordered else "- "
            lines = _lines(item)
            if lines:
                self.lines.append(marker + lines[0])
                self.lines.extend("  " + line for line in lines[1:])

    def table(self, node: LexborNode) -> None:
        for caption in node.iter():
            if caption.tag == "caption" and (text := " ".join(_lines(caption))):
                self.lines.append(text)
        for row in _rows(node):
            cells = [" ".join(_lines(cell)) for cell in row.iter() if cell.tag in ("td", "th")]
            filled = [cell for cell in cells if cell]
            # Empty cells keep columns aligned, except beside a lone value (a note box's
            # icon cell, a section row), where " | Note" would only be noise.
            if len(filled) > 1:
                self.lines.append(" | ".join(cells))
            elif filled:
                self.lines.append(filled[0])

    def dl_pairs(self, node: LexborNode) -> None:
        question: list[str] = []
        anchor = ""
        answer: list[str] = []

        def flush() -> None:
            if question:
                self.blocks.append(Pair(" / ".join(question), "\n".join(answer), anchor))

        for child in node.iter():
            if child.tag == "dt":
                if answer:
                    flush()
                    question, answer, anchor = [], [], ""
                if text := heading_text(child):
                    question.append(text)
                    anchor = anchor or heading_anchor(child)
            elif child.tag == "dd":
                answer.extend(_lines(child))
        flush()

    def details_pair(self, node: LexborNode) -> None:
        summary = node.css_first("summary")
        assert summary is not None  # checked by the caller
        question = heading_text(summary)
        anchor = node.attributes.get("id") or heading_anchor(summary)
        answer = "\n".join(_lines(node, skip="summary"))
        self.blocks.append(Pair(question, answer, anchor or ""))


def _rows(table: LexborNode) -> Iterator[LexborNode]:
    """A table's own rows in order, not those of tables nested in its cells."""
    for child in table.iter():
        if child.tag == "tr":
            yield child
        elif child.tag in ("thead", "tbody", "tfoot"):
            yield from (row for row in child.iter() if row.tag == "tr")
