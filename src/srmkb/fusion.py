"""Hybrid fusion: one ranking from the BM25 and dense scores of the same candidates.

Candidates are the union of each retriever's top passages, and every candidate is
scored by *both* retrievers exactly (BM25 is computed for all rows anyway; dense scores
come from the stored vectors), so no candidate is missing a score and rank-only tricks
such as reciprocal-rank fusion are not needed.

The method, chosen by measurement on the shared sets (``benchmarks/fusion_study.py``):

1. Each retriever's scores are z-normalised over the candidate set, which puts an
   unbounded BM25 score and a cosine on one scale per query.
2. The BM25 weight adapts per query to each retriever's own, absolute confidence:
   *coverage*, the share of the query's idf mass that the best BM25 match reaches
   (``max BM25 / Σ idf``, in [0, 1)), raises it; the dense retriever's best cosine
   lowers it::

       w_bm25 = coverage · (1 − best cosine)
       fused  = w_bm25 · z(bm25) + (1 − w_bm25) · z(dense)

   A question paraphrased in other words (the FAQ case) covers little of itself
   lexically while the dense model finds a close match, so it leans on dense; a short
   question sharing rare words with an intent list leans on BM25 as much as on dense.

Measured (nDCG@10, 100-word passages, documents by best passage, all-MiniLM-L6-v2;
``benchmarks/results/fusion-study.md``): fixed-weight z-score fusion needs w = 0.1 on
covidfaq but 0.5 on banking77 and hint3-sofmattress, and its best single weight (0.3)
still loses 0.011 on covidfaq; equal-weight RRF loses 0.066. This rule beats the better
single retriever on all five English sets (covidfaq 0.830 vs dense 0.825, banking77
0.953 vs 0.938, hint3-sofmattress 0.876 vs BM25 0.853, scifact 0.707 vs BM25 0.678,
cranfield 0.407 vs dense 0.393), and still does with the weight scaled by 0.8 or 1.25,
so it is not balanced on a knife's edge.

   The cosine term is on MiniLM's scale, where an unrelated passage sits near 0 and a
   question's best match near 0.64. multilingual-e5 squeezes the same judgements into
   [0.77, 1] (best match near 0.89), so its raw cosine gave BM25 almost no weight; its
   cosine is first mapped onto MiniLM's scale by those two points
   (:func:`srmkb.embedders.cosine_map`, measured by
   ``benchmarks/cosine_scale.py``). Hybrid nDCG@10 with multilingual-e5, raw → mapped:
   hint3-sofmattress 0.825 → 0.861 (BM25 alone 0.846), scifact 0.682 → 0.712, cranfield
   0.372 → 0.383, banking77 0.941 → 0.949, a French FAQ (debian-faq-fr) 0.619 → 0.644,
   service-public-fr 0.943 → 0.942, covidfaq 0.831 → 0.829. The map is not applied to a
   question searched across languages (the centred vector of
   :func:`srmkb.retrieval.cross_language_vector`): BM25 there matches only shared names
   and numbers, and the weight the raw cosine leaves it measured best (Debian FAQ
   fr→en 0.613 raw, 0.599 mapped; en→fr 0.615, 0.584).

3. A model's cosines mean little for a query in a language it was not trained on
   (MiniLM on French: its best cosine is high whatever the passage). When the query is
   more likely in such a language, the weight no longer listens to the cosine: BM25
   gets half the weight, plus half the probability that the query and the candidates
   are in the same language (so BM25 can match them at all)::

       w_bm25 = (1 + P(same language)) / 2

   MiniLM, nDCG@10 (``/tmp`` study recorded in ``benchmarks/results/fusion-study.md``):
   service-public-fr 0.775 → 0.890 (BM25 alone 0.890), libreoffice-help-fr2en
   0.276 → 0.282; the English sets and en→fr are unchanged. A model that knows the
   query's language (multilingual-e5 for French) keeps rule 2.

No constant is tuned per data set.
"""

from __future__ import annotations

import numpy as np


def lexical_weight(
    coverage: float,
    best_cosine: float,
    *,
    model_knows_query: bool = True,
    same_language: float = 1.0,
) -> float:
    """The BM25 weight for one query, in [0, 1], from the best coverage of the query by a
    candidate's BM25 (score / Σ idf) and the best cosine; when the model does not know
    the query's language, from ``same_language`` (P(query and candidates share one))."""
    if not model_knows_query:
        return (1.0 + min(max(same_language, 0.0), 1.0)) / 2.0
    covered = min(max(coverage, 0.0), 1.0)
    return covered * (1.0 - min(max(best_cosine, 0.0), 1.0))


def zscore(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    if sd <= 1e-12:
        return np.zeros_like(x, dtype=np.float32)
    return ((x - float(x.mean())) / sd).astype(np.float32)


def fuse(
    bm25: np.ndarray,
    dense: np.ndarray,
    coverage: float,
    *,
    model_knows_query: bool = True,
    same_language: float = 1.0,
    best_cosine: float | None = None,
) -> np.ndarray:
    """Fused scores for candidates scored by both retrievers (same order in both arrays);
    ``coverage`` is the best candidate's share of the query covered by BM25 (see
    :func:`lexical_weight` for the language arguments). ``best_cosine`` defaults to
    ``dense.max()``; pass the raw one when ``dense`` holds adjusted scores."""
    if len(bm25) == 0:
        return np.zeros(0, dtype=np.float32)
    w = lexical_weight(
        coverage,
        float(dense.max()) if best_cosine is None else best_cosine,
        model_knows_query=model_knows_query,
        same_language=same_language,
    )
    return w * zscore(bm25) + (1.0 - w) * zscore(dense)
