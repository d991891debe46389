"""HTML pages (intranet, help centre, manuals): one document per page, one section per
heading.

Only the main content is kept (``<main>``, ``role=main``, a lone ``<article>``, else the
body without navigation, headers, footers, asides, forms, scripts and cookie banners).
Each heading opens a section whose heading path (``("Installing", "Network")``) and
anchor (the heading's id, an anchor inside or just before it, or the id of the element
it opens) let passages cite ``url#anchor``. A page with a single ``<h1>`` that repeats the
title keeps it out of the paths. Tables become ``cell | cell`` lines, lists become lines,
``<pre>`` stays as written.

Ids come from the file path: relative to ``root`` when one is given (portable: moving the
folder keeps them), else the absolute path. The URL is the page's canonical URL when it
states one (``<link rel=canonical>``, ``og:url``, an absolute ``<base href>``), else the
file's ``file://`` URI.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from ..documents import Document, IngestError, Section, Visibility
from ..errors import InputError
from ._html_decode import PageError
from ._html_page import HTML_SUFFIXES, Page, load_page
from ._html_render import Heading, render

logger = logging.getLogger(__name__)


class HtmlConnector:
    """Reads ``.html``/``.htm``/``.xhtml`` pages into one sectioned document each."""

    name = "html"
    suffixes = HTML_SUFFIXES

    def __init__(
        self, *, root: str | Path | None = None, visibility: Visibility = "public"
    ) -> None:
        self.root = Path(root).resolve() if root is not None else None
        self.visibility: Visibility = visibility

    def accepts(self, path: Path) -> bool:
        return path.suffix.lower() in self.suffixes

    def read(self, path: Path) -> Iterator[Document | IngestError]:
        try:
            page = load_page(path)
            sections = page_sections(page)
        except PageError as exc:
            yield IngestError(str(path), exc.reason)
            return
        except RecursionError:
            yield IngestError(str(path), "markup nested too deeply to read")
            return
        if not sections:
            yield IngestError(str(path), "no text in the page's main content")
            return
        logger.debug("%s: %d sections, %s, %s", path, len(sections), page.encoding, page.url)
        try:
            yield Document(
                id=self.document_id(path),
                title=page.title,
                url=page.url,
                visibility=self.visibility,
                language=page.language,
                metadata={"source_type": "html", "encoding": page.encoding},
                sections=tuple(sections),
                updated_at=page.updated_at,
                source=str(path.resolve()),
            )
        except InputError as exc:
            yield IngestError(str(path), exc.reason)

    def document_id(self, path: Path) -> str:
        """The page's id: its path relative to ``root`` when under it, else absolute."""
        resolved = path.resolve()
        if self.root is not None and resolved.is_relative_to(self.root):
            return resolved.relative_to(self.root).as_posix()
        return resolved.as_posix()


def page_sections(page: Page) -> list[Section]:
    """Cut a page's content into sections at its headings."""
    blocks = render(page.root)
    headings = [b for b in blocks if isinstance(b, Heading)]
    h1s = [h for h in headings if h.level == 1]
    # The page heading is the title: repeating it in every path adds only noise.
    page_heading = None
    if len(h1s) == 1 and h1s[0].text.casefold() == page.title.casefold():
        page_heading = h1s[0]
    sections: list[Section] = []
    path: list[Heading] = []
    anchor = ""
    paragraphs: list[str] = []

    def flush() -> None:
        text = "\n\n".join(paragraphs).strip()
        if text:
            heading = tuple(h.text for h in path if h is not page_heading)
            sections.append(Section(text=text, heading=heading, anchor=anchor))

    for block in blocks:
        if isinstance(block, Heading):
            flush()
            paragraphs = []
            path = [h for h in path if h.level < block.level] + [block]
            anchor = block.anchor
        elif isinstance(block, str):
            paragraphs.append(block)
        else:  # a Pair: only FAQ rendering asks for those
            paragraphs.append(f"{block.question}\n{block.answer}")
    flush()
    return sections
