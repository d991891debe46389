from __future__ import annotations

import os
import subprocess
import sys
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


def srmkb(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the ``srmkb`` command line as a user would; with ``check``, fail on a non-zero exit."""
    proc = subprocess.run(
        [sys.executable, "-m", "srmkb.cli", *args], capture_output=True, text=True, timeout=600
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"srmkb {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc
