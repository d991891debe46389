"""HTML pages for the HTML and FAQ connectors: read, decode, parse, clean.

A page goes through four steps. ``decode`` (:mod:`._html_decode`) turns bytes into text
(BOM, XML declaration, ``<meta charset>``, then a detector). :func:`load_page` parses it
with selectolax's lexbor engine (a spec-compliant HTML5 parser, the fastest of those
measured), drops boilerplate and picks the main content. ``render``
(:mod:`._html_render`) walks that content into blocks: headings, paragraphs of
normalised text (lists as lines, tables as ``a | b`` rows, ``<pre>`` verbatim) and, for
FAQ pages, question/answer pairs. The connectors turn the blocks into sections or
documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ._html_decode import PageError, decode
from ._html_render import HEADINGS, heading_text, norm_space

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
_VOID = "area|base|br|col|embed|hr|img|input|link|meta|param|source|track|wbr|keygen"
# XHTML served as HTML writes empty elements as <a id="x"/>; an HTML5 parser reads that
# as an open <a> that swallows what follows, so expand them before parsing.
_XHTML_EMPTY = re.compile(rf"<(?!(?:{_VOID})\b)([A-Za-z][\w:.-]*)(\s[^<>]*?)?\s*/>")
_XHTML_MARK = re.compile(rb"^\s*<\?xml|xmlns\s*=\s*[\"']http://www\.w3\.org/1999/xhtml")

_FILE_LANG = re.compile(r"\.([a-z]{2})(?:[-_][A-Za-z]{2})?\.x?html?$")
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||–|—|-|::|»|·)\s+")


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
    raw_title = norm_space(title_node.text()) if title_node is not None else ""
    url = _page_url(tree, path)
    updated = next(
        (v for k in ("last-modified", "dcterms.modified", "dc.date.modified",
                     "article:modified_time", "date") if (v := _meta(tree, k))),
        None,
    )  # fmt: skip
    _decompose_all(tree.css(_JUNK))
    # A form is chrome (search, login), unless it wraps the page as ASP.NET pages do.
    _decompose_all([f for f in tree.css("form") if f.css_first(HEADINGS) is None])
    _drop_hidden(tree)
    root = _main_content(tree)
    if root is None:
        raise PageError("no <body> content")
    # Never the block that holds the page's heading: that is content, whatever its class.
    _decompose_all([n for n in root.css(_CHROME) if n.css_first("h1") is None])
    _decompose_all([n for n in root.css("header") if n.css_first(HEADINGS) is None])
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
