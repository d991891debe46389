"""Opening a local base: its manifest, catalog, reader and writer, made once.

Opening an existing base never creates, truncates or deletes a file; a new base gets its
folder, its model's id and dimension in a new manifest, and an empty catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._version import __version__
from ..models import Embedder, ModelSlot, cosine_map, model_languages, query_means
from ..storage.catalog import Catalog
from ..storage.layout import (
    CATALOG,
    FORMAT_VERSION,
    SEGMENTS,
    Manifest,
    base_exists,
    read_manifest,
    write_manifest,
)
from .lexical import BM25Params
from .reader import IndexReader, ModelFacts
from .writer import LocalWriter

# The embedding model of a new dense base whose caller names none.
DEFAULT_MODEL = "minilm"


@dataclass
class LocalBase:
    """The parts of the base at ``path``: what it was built with, its catalog, and the
    reader and writer of its index."""

    path: Path
    manifest: Manifest
    catalog: Catalog
    reader: IndexReader
    writer: LocalWriter

    def stats(self) -> dict[str, object]:
        """Counts, model, format and size on disk."""
        size = sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        manifest = self.manifest
        return {
            "path": str(self.path),
            **self.catalog.counts(),
            "segments": self.reader.version.segments,
            "languages": self.catalog.languages(),
            "model": manifest.model_id,
            "dimension": manifest.dimension,
            "dense_index": manifest.dense_index if manifest.model_id else None,
            "format_version": manifest.format_version,
            "srmkb_version": __version__,
            "size_bytes": size,
        }


def open_base(
    path: Path,
    model: ModelSlot,
    *,
    create: bool = True,
    dense: bool = True,
    dense_index: str = "SQfp16",
    max_words: int = 100,
) -> LocalBase:
    """Open the base at ``path`` (or create it, when ``create``); ``model`` is checked
    against the base's model, and for a new dense base loaded to learn its dimension."""
    exists = base_exists(path, create=create)
    if exists:
        manifest = read_manifest(path)
        model.check(manifest.model_id)
    else:
        embedder = _new_folder(path, model) if dense else None
        path.mkdir(parents=True, exist_ok=True)
        (path / SEGMENTS).mkdir(exist_ok=True)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            srmkb_version=__version__,
            model_id=embedder.model_id if embedder else None,
            dimension=embedder.dimension if embedder else None,
            dense_index=dense_index,
            max_words=max_words,
        )
    catalog = Catalog(path / CATALOG, create=not exists)
    stored = manifest.model_id

    def facts() -> ModelFacts:
        which = model.loaded or stored
        return ModelFacts(model_languages(which), query_means(which), cosine_map(which))

    def embed():  # type: ignore[no-untyped-def]
        return model.get(stored).embed_documents

    try:
        reader = IndexReader(
            path,
            catalog,
            params=BM25Params(manifest.bm25_k1, manifest.bm25_b),
            dense_factory=manifest.dense_index if stored else None,
            max_words=manifest.max_words,
            model=facts,
            embed=embed,
        )
    except BaseException:
        catalog.close()
        raise

    def committed() -> None:
        manifest.counts = {**catalog.counts(), "segments": reader.version.segments}
        manifest.srmkb_version = __version__
        write_manifest(path, manifest)

    writer = LocalWriter(
        reader,
        dense_factory=manifest.dense_index,
        max_words=manifest.max_words,
        embed=embed if stored else None,
        committed=committed,
    )
    if not exists:
        committed()
    return LocalBase(path, manifest, catalog, reader, writer)


def _new_folder(path: Path, model: ModelSlot) -> Embedder:
    """Load a new base's model into its new folder (the model's vector cache lives
    there); a model that cannot load leaves no folder behind."""
    made = [p for p in (*reversed(path.parents), path) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    try:
        return model.get(DEFAULT_MODEL)  # the caller's model, else the default
    except BaseException:
        for folder in reversed(made):
            for leftover in folder.glob("embeddings.sqlite*"):
                leftover.unlink()
            try:
                folder.rmdir()  # only if empty: nothing but what we made goes
            except OSError:
                break
        raise
