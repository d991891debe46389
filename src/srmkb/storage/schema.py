"""The text of the catalog's schema: the tables of ``catalog.sqlite``.

Opening a catalog runs :data:`SCHEMA` (every statement is ``IF NOT EXISTS``), so a base
written by an earlier srmkb gains the tables it lacks. Changing this text changes the
on-disk format.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    visibility TEXT NOT NULL,
    language TEXT NOT NULL,
    updated_at TEXT,
    source TEXT NOT NULL,
    metadata TEXT NOT NULL,
    body TEXT NOT NULL,
    version INTEGER NOT NULL,
    indexed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS passages (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    segment TEXT NOT NULL,
    row INTEGER NOT NULL,
    text TEXT NOT NULL,
    section TEXT NOT NULL,
    url TEXT NOT NULL,
    page INTEGER,
    visibility TEXT NOT NULL,
    language TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_document ON passages(document_id);
CREATE INDEX IF NOT EXISTS passages_segment ON passages(segment, row);
CREATE TABLE IF NOT EXISTS segments (
    id TEXT PRIMARY KEY,
    n_passages INTEGER NOT NULL,
    deleted BLOB NOT NULL,
    created_at REAL NOT NULL
);
-- Earlier versions of documents, with the time each was the current one: updating or
-- deleting a document moves its row here (valid_to = the time it was replaced), so the
-- base can answer as it stood at any past time. Only purge removes them.
CREATE TABLE IF NOT EXISTS document_history (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    language TEXT NOT NULL,
    body TEXT NOT NULL,
    valid_from REAL NOT NULL,
    valid_to REAL NOT NULL,
    deleted INTEGER NOT NULL,      -- 1 when this version ended by deletion, not an update
    PRIMARY KEY (id, version)
);
CREATE INDEX IF NOT EXISTS document_history_time ON document_history(valid_from, valid_to);
-- Capture: drafts written from resolved cases, and cases linked to the document that
-- already answered them (reuse). A draft's text is an internal document of the base.
CREATE TABLE IF NOT EXISTS drafts (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,          -- 'draft', 'approved', 'rejected' or 'merged'
    title TEXT NOT NULL,
    cases TEXT NOT NULL,           -- JSON list of source case ids
    created_at REAL NOT NULL,
    decided_at REAL
);
CREATE TABLE IF NOT EXISTS case_links (
    case_id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    confidence REAL NOT NULL,
    time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Segment folders garbage collection may remove: 'pending' (a write that never
-- committed) and 'retired' (replaced by a merge). Nothing else is ever deleted.
CREATE TABLE IF NOT EXISTS segment_files (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    time REAL NOT NULL
);
-- Size and SHA-256 of each file of a committed segment, for srmkb check.
CREATE TABLE IF NOT EXISTS segment_checksums (
    segment TEXT NOT NULL,
    file TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (segment, file)
);
"""
# The tables every base has had since format 1; the others are added on first open.
CORE_TABLES = frozenset({"documents", "passages", "segments", "state"})
# Every table SCHEMA creates: a catalog lacking one of them gets SCHEMA run again.
ALL_TABLES = frozenset(
    line.split()[5] for line in SCHEMA.splitlines() if line.startswith("CREATE TABLE")
)
