"""Small measuring helpers shared by the scale and profile suites."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def timed(fn: Callable[[T], object], items: Iterable[T], warmup: int = 3) -> list[float]:
    """Milliseconds of ``fn(item)`` per item, after ``warmup`` untimed calls."""
    items = list(items)
    for item in items[:warmup]:
        fn(item)
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(ms: list[float]) -> dict[str, float]:
    """p50, p95 and mean of latencies in ms, and how many were timed."""
    if not ms:
        return {}
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "mean_ms": round(float(np.mean(ms)), 3),
        "n": len(ms),
    }


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds``."""

    seconds: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def rss_mb() -> dict[str, float]:
    """This process's resident memory now and at its peak, in MB (from /proc)."""
    out: dict[str, float] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out["rss_now_mb" if line.startswith("VmRSS") else "rss_peak_mb"] = round(
                    int(line.split()[1]) / 1024, 1
                )
    except OSError:  # not Linux: the peak from getrusage (kilobytes on Linux)
        out["rss_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def disk_mb(path: Path) -> float:
    """Bytes of every file under ``path`` (or the file itself), in MB."""
    if path.is_file():
        return round(path.stat().st_size / 1e6, 2)
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 2)
