"""E-mail addresses for redaction, as people type them (``name@example.com``, with a stray
space around the ``@``, in any script); not written out (``jean at gmail dot com``)."""

from __future__ import annotations

import re

from ._scan import Scan, Span

# Unquoted, the characters addresses use in practice (RFC 5322 allows more, which URLs use).
_LOCAL = r"[\w.+'%&-]"
_LOCAL_START = r"[\w+'%&-]"  # not a dot
# A local part starts where a run of its characters starts (or after a dot), so a long run
# without '@' is read once; it has at most 64 characters (RFC 5321). Domain labels are
# letters, digits and hyphens in any script (IDN), the last one letters (or punycode).
_EMAIL = re.compile(
    rf"(?:(?<!{_LOCAL_START}){_LOCAL_START}{_LOCAL}{{0,63}}|\"[^\"\r\n]{{1,64}}\")"
    r"[ \t]{0,2}@[ \t]{0,2}"
    r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})(?![\w-])",
    re.IGNORECASE,
)
_AT = re.compile("@")


def find_emails(scan: Scan) -> list[Span]:
    text = scan.text
    if text.count("@") * 256 > len(text):  # '@' everywhere: one pass over the whole text
        return [m.span() for m in _EMAIL.finditer(text)]
    # Few '@': read only around each, as far as an address reaches (64 + 2 + 255 + 2).
    spans: list[Span] = []
    end = 0
    for at in _AT.finditer(text):
        for match in _EMAIL.finditer(text, max(end, at.start() - 66), at.start() + 258):
            if match.end() > at.start():
                if match.start() <= at.start():
                    spans.append(match.span())
                    end = match.end()
                break
    return spans
