"""NumPy ``.npy`` arrays read without ``ast``.

numpy parses a ``.npy`` header with ``ast.literal_eval``. On CPython 3.11 two threads
building syntax trees at once can fail with ``SystemError: AST constructor recursion depth
mismatch`` (python/cpython#106905), and srmkb reads segment files in a search while other
threads search and write. The header ``np.save`` writes is a flat dict of three literals;
this module reads it with one bounded regular expression, then maps or copies the data.
"""

from __future__ import annotations

import math
import os
import re
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .errors import StorageError

__all__ = ["load", "parse"]

_MAGIC = b"\x93NUMPY"
_MAX_HEADER = 10_000  # numpy's own default limit
_ITEM = re.compile(
    r"\s*'(descr|fortran_order|shape)'\s*:\s*('[^']{1,64}'|True|False|\([\d,\s]*\))\s*,?"
)
_KINDS = frozenset("biufcUS")  # no object, void or datetime arrays in a base


def load(path: str | os.PathLike[str], *, mmap: bool = True) -> np.ndarray:
    """The array in ``path``, memory-mapped read-only (or read into memory); a missing,
    truncated or unexpected file is a :class:`StorageError` naming it."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            dtype, shape, offset = _header(handle.read)
            count = math.prod(shape)  # exact: a forged shape must not wrap around
            size, needed = path.stat().st_size, offset + count * dtype.itemsize
            if size < needed:
                raise StorageError(f"truncated ({size} bytes of {needed})")
            if mmap:
                return np.memmap(handle, dtype=dtype, mode="r", shape=shape, offset=offset)
            handle.seek(offset)
            return np.fromfile(handle, dtype=dtype, count=count).reshape(shape)
    except StorageError as exc:
        raise StorageError(f"{path} is damaged: {exc}") from None
    except (OSError, ValueError) as exc:
        raise StorageError(f"{path} is unreadable ({exc})") from exc


def parse(data: bytes) -> np.ndarray:
    """The array the bytes of a ``.npy`` file hold, as a read-only view of ``data``."""
    position = 0

    def read(n: int) -> bytes:
        nonlocal position
        chunk = data[position : position + n]
        position += len(chunk)
        return chunk

    dtype, shape, offset = _header(read)
    count = math.prod(shape)  # exact: a forged shape must not wrap around
    if len(data) < offset + count * dtype.itemsize:
        raise StorageError(f"an array's data is truncated ({len(data)} bytes)")
    return np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)


def _header(read: Callable[[int], bytes]) -> tuple[np.dtype, tuple[int, ...], int]:
    """The dtype, shape and data offset of the header ``read(n)`` returns, ``n`` bytes
    at a time from the start of the file."""
    prefix = read(len(_MAGIC) + 2)
    if len(prefix) < len(_MAGIC) + 2 or not prefix.startswith(_MAGIC):
        raise StorageError("not a .npy file")
    major = prefix[len(_MAGIC)]
    if major not in (1, 2, 3):
        raise StorageError(f".npy version {major} is not supported")
    size = 2 if major == 1 else 4
    raw_length = read(size)
    if len(raw_length) < size:
        raise StorageError("the .npy header is truncated")
    (length,) = struct.unpack("<H" if size == 2 else "<I", raw_length)
    start = len(prefix) + size
    if length > _MAX_HEADER:
        raise StorageError(f"a .npy header of {length} bytes is over {_MAX_HEADER}")
    raw = read(length)
    if len(raw) < length:
        raise StorageError("the .npy header is truncated")
    text = raw.decode("latin-1" if major < 3 else "utf-8", "replace").strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise StorageError(f"unexpected .npy header {text[:80]!r}")
    items: dict[str, str] = {}
    body, at = text[1:-1].rstrip(), 0
    while at < len(body):
        match = _ITEM.match(body, at)
        if match is None or match.group(1) in items:
            raise StorageError(f"unexpected .npy header {text[:80]!r}")
        items[match.group(1)] = match.group(2)
        at = match.end()
    if set(items) != {"descr", "fortran_order", "shape"}:
        raise StorageError(f"unexpected .npy header {text[:80]!r}")
    if items["fortran_order"] != "False":
        raise StorageError("a Fortran-ordered .npy array is not expected here")
    try:
        dtype = np.dtype(items["descr"][1:-1])
        shape = tuple(int(part) for part in items["shape"][1:-1].split(",") if part.strip())
    except (TypeError, ValueError) as exc:
        raise StorageError(f"unexpected .npy header {text[:80]!r}") from exc
    if math.prod(max(n, 1) for n in shape) * max(dtype.itemsize, 1) >= 2**62:
        # Even with a zero dimension: numpy's own size arithmetic would overflow.
        raise StorageError(f"a .npy shape of {shape} is too large")
    if dtype.kind not in _KINDS or dtype.hasobject:
        raise StorageError(f"a .npy array of {dtype} is not expected here")
    return dtype, shape, start + length
