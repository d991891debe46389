"""Connectors: read sources into :class:`srmkb.Document` values, reporting bad input.

A connector is a small class with ``accepts(path)`` and ``read(path)``; ``read`` yields
documents and :class:`srmkb.IngestError` values for what it could not read, and never
raises for bad input, so one broken file or line costs only itself. Connectors know
nothing about indexes. :func:`read_paths` walks files and folders and picks the
connector for each file (:func:`connector_for`): CRM case exports, JSON Lines documents,
FAQs (JSON, CSV, YAML, HTML FAQ pages), HTML pages and PDFs, tried in that order
(:func:`kinds`).
"""

from __future__ import annotations

from ._base import Connector
from .crm import CrmConnector, CrmReadStats
from .faq import FaqConnector
from .html import HtmlConnector
from .jsonl import JsonlConnector
from .pdf import PdfConnector
from .registry import connector_for, kinds, read_paths, registered_connectors

__all__ = [
    "Connector",
    "CrmConnector",
    "CrmReadStats",
    "FaqConnector",
    "HtmlConnector",
    "JsonlConnector",
    "PdfConnector",
    "connector_for",
    "kinds",
    "read_paths",
    "registered_connectors",
]
