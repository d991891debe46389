from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from srmkb import HashingEmbedder
from srmkb.models import MODEL_IDS

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
BEIR = SHARED / "data" / "beir"


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    return path


@pytest.fixture(scope="session")
def minilm():
    """The real embedding model, loaded once per test session."""
    from srmkb.models import minilm as load

    return load(threads=2)


def srmkb(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the ``srmkb`` command line as a user would; with ``check``, fail on a non-zero exit."""
    proc = subprocess.run(
        [sys.executable, "-m", "srmkb.cli", *args], capture_output=True, text=True, timeout=600
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"srmkb {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


class SqueezedEmbedder(HashingEmbedder):
    """Hashing vectors squeezed as multilingual-e5 squeezes its cosines, and reporting
    e5's model id: every pair of texts shares a constant component, so unrelated texts
    sit at 0.77 instead of 0. Code comparing cosines with thresholds measured on
    MiniLM's scale must map them (srmkb.models.embedders.cosine_map) to behave as with MiniLM."""

    def __init__(self) -> None:
        super().__init__(dimension=383)
        self.dimension = 384
        self.model_id = MODEL_IDS["multilingual"]

    def embed_documents(self, texts):
        plain = super().embed_documents(texts)
        shared = np.full((len(plain), 1), 0.77**0.5, dtype=np.float32)
        return np.hstack([plain * 0.23**0.5, shared]).astype(np.float32)

    def embed_query(self, text):
        return self.embed_documents([text])[0]
