from __future__ import annotations

import os
from pathlib import Path

import pytest

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
    from srmkb.embedders import minilm as load

    return load(threads=2)
