"""The embedding cache: hits never reach the model, vectors round-trip bit for bit."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from srmkb.models import (
    CACHE_FILE,
    ENV_VAR,
    CachedEmbedder,
    Embedder,
    EmbeddingStore,
    HashingEmbedder,
    cache_for_base,
    text_key,
)


class Recording(HashingEmbedder):
    """A hashing embedder that remembers each batch it was asked to embed."""

    def __init__(self, dimension: int = 64) -> None:
        super().__init__(dimension)
        self.batches: list[list[str]] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return super().embed_documents(texts)


TEXTS = ["Réinitialiser le mot de passe", "Reset your password", "Annuler une commande"]


def test_is_an_embedder(tmp_path: Path) -> None:
    cached = CachedEmbedder(HashingEmbedder(), tmp_path / CACHE_FILE)
    assert isinstance(cached, Embedder)
    assert cached.model_id == "srmkb/hashing-256"
    assert cached.dimension == 256


def test_other_attributes_are_the_wrapped_embedders(tmp_path: Path) -> None:
    model = HashingEmbedder()
    cached = CachedEmbedder(model, tmp_path / CACHE_FILE)
    cached.embed_query("bonjour")
    assert cached.calls == 1 and cached.inner is model
    with pytest.raises(AttributeError):
        _ = cached.no_such_attribute


def test_hits_do_not_reembed_and_round_trip_exactly(tmp_path: Path) -> None:
    model = HashingEmbedder()
    cached = CachedEmbedder(model, tmp_path / CACHE_FILE)
    first = cached.embed_documents(TEXTS)
    assert model.calls == 3
    again = cached.embed_documents(TEXTS)
    assert model.calls == 3
    assert again.dtype == np.float32
    assert again.tobytes() == first.tobytes()
    assert first.tobytes() == HashingEmbedder().embed_documents(TEXTS).tobytes()
    assert (cached.hits, cached.misses) == (3, 3)


def test_only_misses_go_to_the_model_in_one_batch(tmp_path: Path) -> None:
    model = Recording()
    cached = CachedEmbedder(model, tmp_path / CACHE_FILE)
    cached.embed_documents(TEXTS[:2])
    out = cached.embed_documents([TEXTS[2], TEXTS[0], "nouveau", TEXTS[2], "nouveau"])
    assert model.batches == [TEXTS[:2], [TEXTS[2], "nouveau"]]
    reference = HashingEmbedder(64).embed_documents([TEXTS[2], TEXTS[0], "nouveau"])
    assert np.array_equal(out[[0, 1, 2]], reference)
    assert np.array_equal(out[3], out[0]) and np.array_equal(out[4], out[2])


def test_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILE
    first = CachedEmbedder(HashingEmbedder(), path)
    vectors = first.embed_documents(TEXTS)
    first.close()
    model = HashingEmbedder()
    reopened = CachedEmbedder(model, path)
    assert np.array_equal(reopened.embed_documents(TEXTS), vectors)
    assert model.calls == 0


def test_models_do_not_share_vectors(tmp_path: Path) -> None:
    store = EmbeddingStore(tmp_path / CACHE_FILE)
    CachedEmbedder(HashingEmbedder(64), store).embed_documents(TEXTS)
    other = HashingEmbedder(32)
    CachedEmbedder(other, store).embed_documents(TEXTS)
    assert other.calls == 3
    assert store.count("srmkb/hashing-64") == 3 and store.count() == 6


def test_queries_are_not_cached(tmp_path: Path) -> None:
    model = HashingEmbedder()
    cached = CachedEmbedder(model, tmp_path / CACHE_FILE)
    assert np.array_equal(cached.embed_query("mot de passe"), model.embed_query("mot de passe"))
    cached.embed_query("mot de passe")
    assert model.calls == 3
    assert cached.store.count() == 0


def test_empty_input(tmp_path: Path) -> None:
    model = HashingEmbedder()
    out = CachedEmbedder(model, tmp_path / CACHE_FILE).embed_documents([])
    assert out.shape == (0, 256) and out.dtype == np.float32
    assert model.calls == 0


def test_stored_as_float32_bytes_not_pickle(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILE
    vector = CachedEmbedder(HashingEmbedder(), path).embed_documents(["bonjour"])[0]
    with sqlite3.connect(path) as db:
        model, key, blob = db.execute("SELECT model, hash, vector FROM vectors").fetchone()
    assert model == "srmkb/hashing-256"
    assert key == text_key("bonjour") and len(key) == 32
    assert np.frombuffer(blob, dtype="<f4").tobytes() == vector.tobytes()


def test_a_locked_cache_does_not_fail_embedding(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILE
    store = EmbeddingStore(path, timeout=0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        model = HashingEmbedder()
        out = CachedEmbedder(model, store).embed_documents(TEXTS)
        assert np.array_equal(out, HashingEmbedder().embed_documents(TEXTS))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.count() == 0  # not written, and nothing raised


def test_concurrent_processes_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILE
    script = textwrap.dedent(
        f"""
        import sys
        from srmkb.models import CachedEmbedder, HashingEmbedder
        start = int(sys.argv[1])
        cached = CachedEmbedder(HashingEmbedder(), {str(path)!r})
        for i in range(20):
            cached.embed_documents([f"passage {{j}}" for j in range(start + i * 5, start + i * 5 + 10)])
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(start)], stderr=subprocess.PIPE)
        for start in (0, 50)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    store = EmbeddingStore(path)
    assert store.count() == 155  # passages 0..154, each stored once
    model = HashingEmbedder()
    texts = [f"passage {j}" for j in range(155)]
    out = CachedEmbedder(model, store).embed_documents(texts)
    assert model.calls == 0
    assert np.array_equal(out, HashingEmbedder().embed_documents(texts))


def test_cache_for_base_layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base, user = tmp_path / "kb", tmp_path / "user"
    monkeypatch.delenv(ENV_VAR, raising=False)
    only_base = cache_for_base(HashingEmbedder(), base)
    assert isinstance(only_base, CachedEmbedder)
    assert only_base.store.path == base / CACHE_FILE

    monkeypatch.setenv(ENV_VAR, str(user))
    model = HashingEmbedder()
    layered = cache_for_base(model, base)
    layered.embed_documents(TEXTS)
    # A new base finds the vectors in the user-level cache.
    fresh = cache_for_base(model, tmp_path / "other-kb")
    fresh.embed_documents(TEXTS)
    assert model.calls == 3
    assert (user / CACHE_FILE).is_file()

    monkeypatch.setenv(ENV_VAR, "off")
    plain = HashingEmbedder()
    assert cache_for_base(plain, base) is plain
