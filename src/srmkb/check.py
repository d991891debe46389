"""Check a base on disk: what is damaged, what search needs, what is safe to rebuild.

    srmkb check --kb DIR        (or KnowledgeBase.check(), or check_base(DIR))

Reads only; it never repairs, creates or deletes. Each part is checked on its own, so a
damaged part does not hide the others:

- ``manifest``: readable, of a known format version.
- ``catalog``: present, SQLite's integrity check passes, it holds the catalog's tables.
- ``segment``: every segment the catalog lists has its folder, its files load with the
  row count the catalog records, and their sizes and SHA-256 match the checksums
  recorded when the segment was written (segments written before checksums were kept
  are only loaded).
- ``log`` (``interactions.sqlite``) and ``cache`` (``embeddings.sqlite``): integrity.
  Neither blocks search: a damaged log is skipped, a damaged cache bypassed.
- Folders under ``segments/`` that no commit names are reported, not removed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from .errors import StorageError
from .index.segments import Segment
from .storage.catalog import Catalog
from .storage.layout import CATALOG, INTERACTIONS, SEGMENTS, file_checksums, read_manifest

__all__ = ["CheckReport", "Problem", "check_base"]

EMBEDDINGS = "embeddings.sqlite"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a base."""

    part: str  # manifest, catalog, segment, log, cache, stray
    path: str
    message: str
    blocks_search: bool  # the base cannot be searched until it is fixed
    rebuildable: bool  # safe to delete and let srmkb rebuild (a cache, a log, a stray)

    def to_json(self) -> dict[str, object]:
        return {
            "part": self.part,
            "path": self.path,
            "message": self.message,
            "blocks_search": self.blocks_search,
            "rebuildable": self.rebuildable,
        }


@dataclass
class CheckReport:
    """What :func:`check_base` found; ``ok`` when nothing."""

    path: str
    checked: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def searchable(self) -> bool:
        return not any(p.blocks_search for p in self.problems)

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "ok": self.ok,
            "searchable": self.searchable,
            "checked": dict(self.checked),
            "problems": [p.to_json() for p in self.problems],
        }

    def _add(self, part: str, path: Path, message: str, *, blocks: bool, rebuild: bool) -> None:
        self.problems.append(Problem(part, str(path), message, blocks, rebuild))


def check_base(path: str | Path) -> CheckReport:
    """Check the base at ``path`` without changing anything (see the module docstring)."""
    root = Path(path)
    report = CheckReport(str(root))
    try:
        manifest = read_manifest(root)
    except StorageError as exc:
        report._add("manifest", root / "manifest.json", str(exc), blocks=True, rebuild=False)
        manifest = None
    segments = _check_catalog(root, report)
    if segments is not None:
        factory = None
        if manifest is not None and manifest.model_id:
            factory = manifest.dense_index
        _check_segments(root, segments, factory, report)
    for part, name in (("log", INTERACTIONS), ("cache", EMBEDDINGS)):
        problem = _integrity(root / name)
        report.checked[part] = int((root / name).exists())
        if problem is not None:
            what = "interaction log" if part == "log" else "embedding cache"
            effect = (
                "logging is skipped until it is replaced; search is unaffected"
                if part == "log"
                else "it is bypassed (passages are re-embedded); search is unaffected"
            )
            report._add(
                part,
                root / name,
                f"the {what} is damaged ({problem}): {effect}; move it away to start a new one",
                blocks=False,
                rebuild=True,
            )
    return report


def _integrity(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if result == "ok" else str(result)


def _check_catalog(root: Path, report: CheckReport) -> dict[str, tuple[int, dict]] | None:
    path = root / CATALOG
    problem = _integrity(path) if path.exists() else "the file is missing"
    if problem is not None:
        report._add(
            "catalog", path, f"the catalog is damaged: {problem}", blocks=True, rebuild=False
        )
        return None
    try:
        catalog = Catalog(path)
    except StorageError as exc:
        report._add("catalog", path, str(exc), blocks=True, rebuild=False)
        return None
    try:
        kept = "segment_checksums" in catalog.tables()  # absent in bases from before them
        out = {
            seg_id: (n, catalog.checksums(seg_id) if kept else {})
            for seg_id, n, _ in catalog.segments()
        }
        report.checked["documents"] = catalog.counts()["documents"]
    finally:
        catalog.close()
    return out


def _check_segments(
    root: Path,
    segments: dict[str, tuple[int, dict]],
    factory: str | None,
    report: CheckReport,
) -> None:
    report.checked["segments"] = len(segments)
    for seg_id, (n, recorded) in segments.items():
        directory = root / SEGMENTS / seg_id
        if not directory.is_dir():
            report._add(
                "segment", directory, "the segment folder is missing", blocks=True, rebuild=False
            )
            continue
        actual = file_checksums(directory)
        missing = sorted(name for name in recorded if name not in actual)
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            message = f"{', '.join(missing)} {verb} missing"
            report._add("segment", directory, message, blocks=True, rebuild=False)
            continue
        wrong = [name for name, expected in recorded.items() if actual.get(name) != tuple(expected)]
        if wrong:
            report._add(
                "segment",
                directory,
                f"{', '.join(sorted(wrong))} differ from the checksums recorded at commit",
                blocks=True,
                rebuild=False,
            )
            continue
        try:
            segment = Segment.load(directory, dense_factory=factory)
        except StorageError as exc:
            report._add("segment", directory, str(exc), blocks=True, rebuild=False)
            continue
        if segment.n_passages != n:
            report._add(
                "segment",
                directory,
                f"holds {segment.n_passages} rows, the catalog says {n}",
                blocks=True,
                rebuild=False,
            )
    seg_root = root / SEGMENTS
    if seg_root.is_dir():
        for child in sorted(seg_root.iterdir()):
            if child.name not in segments and not child.name.startswith("."):
                report._add(
                    "stray",
                    child,
                    "no commit names this folder (an interrupted write?); it is never"
                    " read, and safe to remove once you have checked it",
                    blocks=False,
                    rebuild=True,
                )
