"""Routing documents to shards, and the sharded base's manifest."""

import json
from collections import Counter

import pytest

from srmkb import InputError, StorageError
from srmkb.cluster import ClusterManifest, shard_of
from srmkb.cluster.routing import MANIFEST, ROUTING, route


def test_routing_is_stable_across_processes_and_versions():
    # Fixed values: a change here would send existing documents to the wrong shards.
    assert [shard_of(d, 4) for d in ("reset", "wifi", "refund", "doc-1")] == [1, 2, 1, 1]
    assert [shard_of(f"d{i}", 3) for i in range(10)] == [0, 0, 0, 0, 2, 0, 0, 2, 0, 1]


def test_routing_spreads_ids_evenly():
    counts = Counter(shard_of(f"doc-{i}", 4) for i in range(4000))
    assert set(counts) == {0, 1, 2, 3}
    assert all(850 < n < 1150 for n in counts.values())  # 1000 ± 15 %


def test_route_keeps_the_order_within_each_shard():
    items = [(f"d{i}", i) for i in range(50)]
    parts = route(items, 3)
    assert sorted(x for part in parts for x in part) == list(range(50))
    for i, part in enumerate(parts):
        assert part == sorted(part)
        assert all(shard_of(f"d{x}", 3) == i for x in part)


@pytest.mark.parametrize("bad", [0, -1, True, 2.0])
def test_bad_shard_counts_are_input_errors(bad):
    with pytest.raises(InputError):
        ClusterManifest.new(bad)
    if isinstance(bad, int) and not isinstance(bad, bool):
        with pytest.raises(InputError):
            shard_of("x", bad)


def test_manifest_round_trips_as_json(tmp_path):
    manifest = ClusterManifest.new(3)
    manifest.write(tmp_path)
    data = json.loads((tmp_path / MANIFEST).read_text())
    assert data["routing"] == ROUTING and data["shards"] == ["shard-000", "shard-001", "shard-002"]
    assert ClusterManifest.read(tmp_path) == manifest
    assert manifest.folders(tmp_path)[1] == tmp_path / "shard-001"


def test_a_manifest_from_a_newer_srmkb_or_damaged_is_a_storage_error(tmp_path):
    (tmp_path / MANIFEST).write_text('{"format_version": 99, "routing": "x", "shards": ["a"]}')
    with pytest.raises(StorageError, match="newer srmkb"):
        ClusterManifest.read(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(StorageError, match=MANIFEST):
        ClusterManifest.read(tmp_path)


def test_without_ray_a_cluster_names_the_extra_and_creates_nothing(tmp_path, monkeypatch):
    import sys

    from srmkb import MissingDependencyError
    from srmkb.cluster import ShardedKnowledgeBase

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'srmkb\[ray\]'"):
        ShardedKnowledgeBase(tmp_path / "kb", shards=2, cluster="local", model="hashing")
    assert not (tmp_path / "kb").exists()
