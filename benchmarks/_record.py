"""What every benchmark result records about where it ran, and where results are written."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

HERE = Path(__file__).resolve().parent
# A quick smoke run writes elsewhere (make bench QUICK=1) so it never replaces results.
RESULTS = Path(os.environ.get("SRMKB_BENCH_RESULTS", HERE / "results"))


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], capture_output=True, text=True, cwd=HERE)
    return out.stdout.strip()


def package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: other work on shared cores skews timings."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return []


# What srmkb and the peers it is measured against run on; every result records versions.
PEER_PACKAGES = (
    "numpy",
    "faiss-cpu",
    "torch",
    "sentence-transformers",
    "rank-bm25",
    "bm25s",
    "langchain-core",
    "langchain-community",
    "langchain-classic",
    "txtai",
)


def provenance(suite: str, packages: tuple[str, ...] = ()) -> dict[str, object]:
    """Suite name, time, git commit (and whether the tree was dirty), machine, Python,
    package versions and the command line that produced a result."""
    return {
        "suite": suite,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "processor": platform.processor(),
            "load_average": load_average(),
            "threads": os.environ.get("SRMKB_THREADS") or os.cpu_count(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        },
        "python": platform.python_version(),
        "versions": {p: package_version(p) for p in ("srmkb", *packages)},
        "command": " ".join(["python", *sys.argv]),
    }


def write_result(record: dict[str, object]) -> Path:
    """Write ``results/<suite>-<UTC stamp>.json``; returns its path."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{record['suite']}-{stamp}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return path


def provenance_line(record: dict, *, load: bool = False) -> str:  # type: ignore[type-arg]
    """The closing line of a results table: machine, Python, versions and command."""
    machine = record["machine"]
    loaded = f", load average {machine['load_average']}" if load else ""
    versions = ", ".join(f"{k} {v}" for k, v in record["versions"].items() if v)
    return (
        f"Machine: {machine['platform']}, {machine['cpus']} CPUs{loaded}; Python"
        f" {record['python']}; versions: {versions}. Command: `{record['command']}`."
    )
