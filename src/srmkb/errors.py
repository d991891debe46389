"""Errors raised by srmkb.

Every error derives from :class:`SrmkbError`, so ``except SrmkbError`` catches them all.
A subclass exists only where a caller would act differently::

    SrmkbError
    ├── InputError               a bad input file, line, document or argument; fix it
    │   ├── DocumentExistsError  ``add`` of an id already in the base; use ``upsert``
    │   └── FilterError          a malformed search filter, or one on a field no document has
    ├── StorageError             the base directory is missing, damaged or of another format
    │   ├── ModelMismatchError   the base was built with another embedding model
    │   └── DiskFullError        a write ran out of space; the base is unchanged
    ├── ModelIntegrityError      a model file differs from its pinned SHA-256; reinstall it
    └── MissingDependencyError   an optional extra is not installed; the message names it
"""

from __future__ import annotations


class SrmkbError(Exception):
    """Base class of every error srmkb raises."""


class InputError(SrmkbError, ValueError):
    """A bad input: a missing or malformed file, line or document field."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line
        self.reason = message


class DocumentExistsError(InputError):
    """``add`` was given a document id that the base already holds."""


class FilterError(InputError):
    """A search filter that cannot be understood, or one on a field that no document in
    the base has (a misspelt key would otherwise silently match nothing)."""


class StorageError(SrmkbError):
    """The knowledge-base directory is missing, corrupt or written by an unknown format."""


class ModelMismatchError(StorageError):
    """The base was built with a different embedding model than the one asked for."""


class DiskFullError(StorageError):
    """A write ran out of disk space (or quota); nothing was committed, the base is intact."""


class BusyError(StorageError):
    """Another process or thread held a lock of the base for longer than the caller
    would wait (drafts are captured and reviewed one at a time); nothing was changed."""


class ModelIntegrityError(SrmkbError):
    """A model file is missing or differs from the SHA-256 srmkb pins for it: it was
    tampered with or damaged, and is not loaded."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class MissingDependencyError(SrmkbError, ImportError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is required for this feature: pip install 'srmkb[{extra}]'")
        self.package = package
        self.extra = extra
