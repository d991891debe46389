"""srmkb.npy reads what np.save writes, without ast, and names a damaged file."""

from __future__ import annotations

import ast
import io
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from srmkb import npy
from srmkb.errors import StorageError

DTYPES = st.sampled_from(["<f4", "<f2", ">f8", "<i8", "|u1", "<u4", "|b1", "<U7", "|S3", "<c8"])


@settings(max_examples=60, deadline=None)
@given(
    array=DTYPES.flatmap(
        lambda dtype: hnp.arrays(np.dtype(dtype), hnp.array_shapes(min_dims=0, max_dims=3))
    ),
    version=st.sampled_from([(1, 0), (2, 0), (3, 0)]),
)
def test_what_numpy_writes_reads_back_equal(array: np.ndarray, version: tuple[int, int]) -> None:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=version, allow_pickle=False)
    read = npy.parse(buffer.getvalue())
    assert read.dtype == array.dtype and read.shape == array.shape
    assert np.array_equal(read, array, equal_nan=array.dtype.kind in "fc")


@pytest.mark.parametrize("mmap", [True, False])
def test_a_saved_file_loads_mapped_or_in_memory(tmp_path: Path, mmap: bool) -> None:
    path = tmp_path / "a.npy"
    for array in (np.arange(12, dtype=np.float32).reshape(3, 4), np.zeros(0, np.int64)):
        np.save(path, array, allow_pickle=False)
        loaded = npy.load(path, mmap=mmap)
        assert isinstance(loaded, np.memmap) is mmap
        assert loaded.dtype == array.dtype and np.array_equal(loaded, array)


def test_nothing_is_parsed_as_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # numpy's reader goes through ast.literal_eval; on CPython 3.11 two threads building
    # syntax trees at once may raise SystemError (python/cpython#106905).
    np.save(tmp_path / "a.npy", np.arange(5), allow_pickle=False)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("ast.parse was called")

    monkeypatch.setattr(ast, "parse", refuse)
    assert npy.load(tmp_path / "a.npy").tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(AssertionError, match=r"ast\.parse"):
        np.load(tmp_path / "a.npy")  # what the module is for


def test_loads_in_many_threads_agree(tmp_path: Path) -> None:
    arrays = [np.arange(i * 100, dtype=np.int32) for i in range(8)]
    for i, array in enumerate(arrays):
        np.save(tmp_path / f"{i}.npy", array, allow_pickle=False)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                for i, array in enumerate(arrays):
                    assert np.array_equal(npy.load(tmp_path / f"{i}.npy"), array)
                ast.parse("x = {'a': (1, 2)}")  # another thread's syntax trees meanwhile
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]


def _saved(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


GOOD = _saved(np.arange(6, dtype=np.float32).reshape(2, 3))
HEADER_END = GOOD.index(b"\n") + 1


def _with_shape(shape: bytes) -> bytes:
    """GOOD with another shape in its header, the header's length field rewritten."""
    header = GOOD[10:HEADER_END].replace(b"(2, 3)", shape)
    return GOOD[:8] + len(header).to_bytes(2, "little") + header + GOOD[HEADER_END:]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", r"not a \.npy file"),
        (b"PK\x03\x04" + GOOD[4:], r"not a \.npy file"),
        (GOOD[:9], "header is truncated"),
        (GOOD[:40], "header is truncated"),
        (GOOD[: HEADER_END + 5], "truncated"),
        (GOOD[:6] + b"\x09" + GOOD[7:], "version 9"),
        (GOOD[:8] + b"\xff\xff" + GOOD[10:], "over 10000"),
        (GOOD.replace(b"'shape'", b"'shapf'"), r"unexpected \.npy header"),
        (GOOD.replace(b"False", b"True "), "Fortran"),
        (GOOD.replace(b"'descr': '<f4'", b"'descr': '|O8'"), "object"),
        (GOOD.replace(b"(2, 3)", b"(2; 3)"), r"unexpected \.npy header"),
        (GOOD.replace(b"(2, 3)", b"(9, 9)"), "truncated"),
        # Shapes whose size overflows 64 bits must not wrap around to a small one.
        (_with_shape(b"(99999999999999999999,)"), "too large"),
        (_with_shape(b"(3037000500, 3037000500)"), "too large"),
        (_with_shape(b"(4294967296, 4294967296, 0)"), "too large"),
        (_with_shape(b"(1000000000,)"), "truncated"),
        (GOOD.replace(b"'descr': '<f4', ", b"'descr': '<f4', 'descr': '<f4'"), "unexpected"),
    ],
)
def test_a_damaged_file_is_a_storage_error_naming_it(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "vectors.npy"
    path.write_bytes(data)
    with pytest.raises(StorageError, match=message) as caught:
        npy.load(path)
    assert str(path) in str(caught.value)
    with pytest.raises(StorageError, match=message):
        npy.parse(data)


def test_a_missing_file_is_a_storage_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"nothing\.npy"):
        npy.load(tmp_path / "nothing.npy")
