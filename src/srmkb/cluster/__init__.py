"""A knowledge base sharded over several ordinary bases, on a Ray cluster or in-process
(``pip install 'srmkb[ray]'`` for Ray).

Documents go to shards by a stable hash of their id (:mod:`.routing`); each shard is an
ordinary base in its own folder (:mod:`.shard`), run as a Ray actor or in this process
(:mod:`.fleet`); searches rank over every shard with the collection's statistics and
pooled candidates, exactly as one base would (:mod:`.sharded`), behind
:class:`ShardedKnowledgeBase` (:mod:`.base`).
"""

from .base import ShardedKnowledgeBase, check_shards
from .fleet import ShardUnavailableError
from .routing import ClusterManifest, shard_of
from .shard import Shard
from .sharded import ShardedIndex

__all__ = [
    "ClusterManifest",
    "Shard",
    "ShardUnavailableError",
    "ShardedIndex",
    "ShardedKnowledgeBase",
    "check_shards",
    "shard_of",
]
