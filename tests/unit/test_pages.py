"""srmkb.index.pages: a merge gives back the pages of what it has read, losing nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from srmkb import npy
from srmkb.index.pages import release


def _resident_file_mb() -> float:
    with open("/proc/self/status") as status:
        line = next((s for s in status if s.startswith("RssFile:")), "RssFile: 0 kB")
    return int(line.split()[1]) / 1024


def test_a_mapped_array_gives_back_its_pages_and_reads_the_same(tmp_path: Path) -> None:
    values = np.arange(16 * 2**20, dtype=np.int32)  # 64 MB
    np.save(tmp_path / "a.npy", values, allow_pickle=False)
    mapped = npy.load(tmp_path / "a.npy")
    assert int(mapped.sum(dtype=np.int64)) == int(values.sum(dtype=np.int64))  # all read
    before = _resident_file_mb()
    if release(mapped):  # Linux 5.4 and later
        assert _resident_file_mb() < before - 32
    assert np.array_equal(mapped, values)  # read back from the file


def test_memory_of_its_own_is_never_lost() -> None:
    values = np.random.default_rng(0).integers(0, 2**31, 8 * 2**20, dtype=np.int32)
    copy = values.copy()
    release(values)  # anonymous memory: kept, or swapped out and back
    assert np.array_equal(values, copy)
    assert not release(values[::2])  # not contiguous: left alone
    assert not release(np.zeros(10))  # under a page
