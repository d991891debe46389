"""Text in, text out: language detection, analysis for BM25, chunking into passages and
redaction of personal data. Nothing here knows about indexes, storage or answers."""
