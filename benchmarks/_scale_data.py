"""The scale passage sets (10k, 100k, 1M) cut from real English text, and their vectors.

How the sets are built (deterministic, no randomness that is not seeded):

* Sources, English only (French documents are left out so every engine indexes one
  language): SciFact abstracts, the Cranfield abstracts, the English LibreOffice help
  (corpus of ``libreoffice-help-fr2en``), and the shared PDFs, HTML pages and Debian FAQ
  under ``../shared/data/docs`` read with srmkb's connectors.
* Each document is split into sentences; a passage is a window of two or of three
  consecutive sentences (at most 90 words), and windows slide by one sentence, as
  overlapping chunkers do. Duplicate windows are dropped. That yields about 170k real
  passages; the 100k set is the first 100k of them in a seeded shuffle, the 10k set
  the first 10k of the same shuffle.
* 1M: the 100k passages plus nine variants of each. Variant ``v`` of a passage drops
  one of its sentences and appends a sentence drawn (seeded) from the whole pool, so it
  is real text, distinct, and near its source. Embedding a million passages takes hours
  on two cores, so a variant's vector is its source's real MiniLM vector plus Gaussian
  noise, renormalised; the noise is calibrated so that the mean cosine between a copy
  and its source equals the mean cosine measured between real embeddings of variants
  and their sources on a sample (see :func:`calibrate_noise`).

Every passage is one document with ``language="en"`` and no title, so srmkb indexes
each as exactly one passage whose text is the passage itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np

from _cache import CACHE

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
SEED = 20261125
MAX_WORDS = 90
WINDOWS = (2, 3)  # sentences per passage
VARIANTS = 10  # the 1M set holds each 100k passage and nine variants
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+(?=[A-Z0-9(\"'])|\n+")
SCALE_CACHE = CACHE / "scale"


def _beir_texts(name: str) -> Iterator[str]:
    with open(SHARED / "beir" / name / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            obj = json.loads(line)
            yield f"{obj.get('title', '')}. {obj.get('text', '')}".strip(" .")


def _doc_texts() -> Iterator[str]:
    from srmkb import Document
    from srmkb.connectors import read_paths
    from srmkb.text.language import detect_language

    for item in read_paths([SHARED / "docs"]):
        if isinstance(item, Document) and detect_language(item.full_text[:5000]) == "en":
            yield item.full_text


def _sentences(text: str) -> list[str]:
    out = []
    for piece in _SENTENCE.split(text):
        words = piece.split()
        if len(words) >= 3:  # drop stray fragments: page numbers, lone headings
            out.append(" ".join(words[:MAX_WORDS]).lstrip("#").strip())
    return [s for s in out if s]


def _windows(sentences: list[str]) -> Iterator[str]:
    for start in range(len(sentences)):
        for size in WINDOWS:
            if start + size > len(sentences) and start > 0:
                continue
            words: list[str] = []
            for sentence in sentences[start : start + size]:
                more = sentence.split()
                if words and len(words) + len(more) > MAX_WORDS:
                    break
                words += more
            yield " ".join(words[:MAX_WORDS])


@lru_cache(maxsize=1)
def _pool() -> tuple[list[str], list[list[str]]]:
    """All real passages (deduplicated, in source order) and each document's sentences."""
    path = SCALE_CACHE / "pool.json"
    if path.exists():
        data = json.loads(path.read_text())
        return data["passages"], data["documents"]
    texts: list[str] = []
    for name in ("scifact", "cranfield", "libreoffice-help-fr2en"):
        texts.extend(_beir_texts(name))
    texts.extend(_doc_texts())
    documents = [s for s in (_sentences(t) for t in texts) if s]
    passages = list(dict.fromkeys(w for sents in documents for w in _windows(sents)))
    SCALE_CACHE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"passages": passages, "documents": documents}))
    return passages, documents


def real_passages(n: int) -> list[str]:
    """``n`` (at most ~170k) real passages: a seeded shuffle of the pool, first ``n``."""
    passages, _ = _pool()
    if n > len(passages):
        raise SystemExit(f"only {len(passages)} real passages; asked for {n}")
    order = np.random.default_rng(SEED).permutation(len(passages))[:n]
    return [passages[i] for i in order]


def variant(text: str, v: int, rng: np.random.Generator, sentences: list[str]) -> str:
    """Variant ``v`` of a passage: one sentence dropped, one pool sentence appended."""
    parts = [s for s in _SENTENCE.split(text) if s.strip()]
    if len(parts) > 1:
        del parts[v % len(parts)]
    parts.append(sentences[int(rng.integers(len(sentences)))])
    return " ".join(" ".join(parts).split()[:100])


def passages(n: int) -> list[str]:
    """The scale set of size ``n``: real passages up to 100k, variants beyond."""
    if n <= 100_000:
        return real_passages(n)
    base = real_passages(100_000)
    _, documents = _pool()
    pool_sentences = [s for doc in documents for s in doc]
    rng = np.random.default_rng(SEED + 1)
    out = list(base)
    seen = set(base)
    v = 1
    while len(out) < n:
        for text in base:
            candidate = variant(text, v, rng, pool_sentences)
            while candidate in seen:
                candidate = variant(text, v + 1, rng, pool_sentences)
            seen.add(candidate)
            out.append(candidate)
            if len(out) == n:
                break
        v += 1
    return out


def derived_vectors(base: np.ndarray, n: int, sigma: float) -> np.ndarray:
    """``n`` vectors: ``base`` then noisy renormalised copies (row ``i`` copies ``i % len``)."""
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    m = len(base)
    out[:m] = base[: min(m, n)]
    for start in range(m, n, m):
        end = min(start + m, n)
        rng = np.random.default_rng([SEED, start])
        block = base[: end - start] + np.float32(sigma) * rng.standard_normal(
            (end - start, base.shape[1]), dtype=np.float32
        ) / np.float32(np.sqrt(base.shape[1]))
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:end] = block
    return out


def noise_for_cosine(cosine: float) -> float:
    """The noise scale whose renormalised copy has this expected cosine with its source.

    For a unit vector plus isotropic noise of norm ``sigma`` (nearly orthogonal in 384
    dimensions), the cosine is ``1 / sqrt(1 + sigma²)``.
    """
    cosine = min(max(cosine, 0.05), 0.999)
    return float(np.sqrt(1.0 / cosine**2 - 1.0))


def cached_passages(n: int) -> list[str]:
    """:func:`passages`, kept in the cache for the sizes that take a while to build."""
    if n <= 100_000:
        return passages(n)
    path = SCALE_CACHE / f"passages-{n}.json"
    if path.exists():
        return json.loads(path.read_text())
    out = passages(n)
    SCALE_CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out))
    tmp.replace(path)
    return out


def calibration() -> dict[str, float]:
    """The noise calibration written by ``scale.py`` (see :func:`calibrate`)."""
    return json.loads((SCALE_CACHE / "calibration.json").read_text())


def calibrate(cache: object, embed: object, sample: int = 256) -> dict[str, float]:
    """Measure the mean cosine between real embeddings of variants and their sources.

    ``cache`` is a :class:`_vectors.VectorCache` holding the 100k vectors; ``embed``
    embeds a list of texts with the real model (results are cached too).
    """
    base = real_passages(100_000)
    _, documents = _pool()
    pool_sentences = [s for doc in documents for s in doc]
    rng = np.random.default_rng(SEED + 2)
    picks = rng.choice(len(base), size=sample, replace=False)
    sources = [base[i] for i in picks]
    variants = [
        variant(t, 1 + j % (VARIANTS - 1), rng, pool_sentences) for j, t in enumerate(sources)
    ]
    cache.fill(variants, embed)  # type: ignore[attr-defined]
    a = cache.get(sources)  # type: ignore[attr-defined]
    b = cache.get(variants)  # type: ignore[attr-defined]
    cosine = float(np.mean(np.sum(a * b, axis=1)))
    result = {"sample": sample, "cosine_mean": round(cosine, 4), "sigma": noise_for_cosine(cosine)}
    (SCALE_CACHE / "calibration.json").write_text(json.dumps(result))
    return result


def scale_set(n: int) -> tuple[list[str], np.ndarray]:
    """Texts and vectors of the scale set of size ``n`` (vectors must be cached)."""
    from _vectors import VectorCache

    texts = cached_passages(n)
    cache = VectorCache()
    base = cache.get(texts if n <= 100_000 else real_passages(100_000))
    del cache
    if n <= 100_000:
        return texts, base
    return texts, derived_vectors(base, n, calibration()["sigma"])


def extra_passages(n: int, count: int = 5) -> list[str]:
    """Real passages outside every scale set of size ``n``: documents to add one by one."""
    start = min(n, 100_000)  # beyond 100k the sets hold the 100k and their variants
    return real_passages(start + count)[start:]
