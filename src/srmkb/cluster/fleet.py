"""Calling every shard at once: in this process, or as actors on a Ray cluster.

A fleet runs one method of several :class:`~srmkb.cluster.shard.Shard` objects and
returns every answer, or raises: a shard that fails fails the whole call, so a caller
never sees some shards' answers as if they were all. :class:`LocalFleet` calls the shards
together in this process; :class:`RayFleet` sends the calls to the shards'
actors together and waits for all of them. Errors the shards raise arrive as themselves
(an :class:`~srmkb.InputError` stays one); a shard's actor that died or cannot be reached
raises :class:`ShardUnavailableError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol

from ..errors import MissingDependencyError, SrmkbError
from .shard import Shard

__all__ = ["Fleet", "LocalFleet", "RayFleet", "ShardUnavailableError", "start_actors"]

Requests = Mapping[int, tuple[tuple[object, ...], Mapping[str, object]]]

# Restarts Ray grants a shard's actor that died (each reopens the shard from its folder).
ACTOR_RESTARTS = 3
# The environment of a shard's actor: one thread each, and no busy-waiting OpenMP
# threads burning the cores other shards need.
ACTOR_ENV = {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1", "RAY_DISABLE_USAGE_STATS": "1"}


class ShardUnavailableError(SrmkbError):
    """A shard did not answer (its actor died, is restarting, or timed out): the search
    was not answered from the other shards alone."""


class Fleet(Protocol):
    """The shards of one base, called together."""

    @property
    def size(self) -> int: ...

    def call(self, method: str, requests: Requests, *, writing: bool = False) -> dict[int, Any]:
        """``method(*args, **kwargs)`` of each shard named in ``requests``; a read waits
        for the fleet's timeout at most, a write (``writing``: embedding is slow) for as
        long as it takes."""
        ...

    def notify(self, method: str, requests: Requests) -> None:
        """Like :meth:`call`, without waiting for (or seeing) the outcome."""
        ...

    def close(self) -> None: ...


def same(shards: Sequence[int], *args: object, **kwargs: object) -> Requests:
    """The same call for each of ``shards``."""
    return {i: (args, kwargs) for i in shards}


class LocalFleet:
    """Shards in this process, called together from a pool of threads (one per shard:
    NumPy, faiss, SQLite and onnxruntime release the GIL, so shards use the cores a
    single base's query leaves idle)."""

    def __init__(self, shards: Sequence[Shard]) -> None:
        self.shards = list(shards)
        self._pool = (
            ThreadPoolExecutor(len(self.shards), "srmkb-shard") if len(shards) > 1 else None
        )

    @property
    def size(self) -> int:
        return len(self.shards)

    def call(self, method: str, requests: Requests, *, writing: bool = False) -> dict[int, Any]:
        if self._pool is None or len(requests) < 2:
            return {
                i: getattr(self.shards[i], method)(*args, **kwargs)
                for i, (args, kwargs) in requests.items()
            }
        futures = {
            i: self._pool.submit(getattr(self.shards[i], method), *args, **kwargs)
            for i, (args, kwargs) in requests.items()
        }
        wait(futures.values())  # every shard finishes (a write commits or fails) first
        return {i: future.result() for i, future in futures.items()}

    def notify(self, method: str, requests: Requests) -> None:
        self.call(method, requests)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        for shard in self.shards:
            shard.close()


class RayFleet:
    """Shards as Ray actors (see :func:`start_actors`); ``timeout`` (seconds) bounds the
    wait for one call of every shard."""

    def __init__(
        self, actors: Sequence[Any], names: Sequence[str], *, timeout: float | None = 300
    ) -> None:
        self.actors = list(actors)
        self._names = list(names)
        self._timeout = timeout

    @property
    def size(self) -> int:
        return len(self.actors)

    def call(self, method: str, requests: Requests, *, writing: bool = False) -> dict[int, Any]:
        import ray
        from ray import exceptions as rx

        refs = {
            i: getattr(self.actors[i], method).remote(*args, **kwargs)
            for i, (args, kwargs) in requests.items()
        }
        out: dict[int, Any] = {}
        for i, ref in refs.items():  # every ref runs meanwhile: waiting in turn costs nothing
            try:
                out[i] = ray.get(ref, timeout=None if writing else self._timeout)
            except rx.RayTaskError as exc:  # the shard's own error: raise it as itself
                cause = getattr(exc, "cause", None)
                if isinstance(cause, BaseException):
                    raise cause from None
                raise
            except (rx.RayActorError, rx.GetTimeoutError, rx.ActorUnavailableError) as exc:
                raise ShardUnavailableError(
                    f"shard {self._names[i]} did not answer {method} ({type(exc).__name__});"
                    " nothing was answered from the other shards alone: try again, or check"
                    " the cluster"
                ) from exc
        return out

    def notify(self, method: str, requests: Requests) -> None:
        for i, (args, kwargs) in requests.items():
            getattr(self.actors[i], method).remote(*args, **kwargs)

    def close(self) -> None:
        import ray

        for actor in self.actors:
            try:
                ray.get(actor.close.remote(), timeout=30)
            except Exception:
                pass
            ray.kill(actor, no_restart=True)


def connect(cluster: str) -> None:
    """Join the Ray cluster ``cluster`` names (``"local"``: start one on this machine,
    ``"auto"``: the one this machine belongs to, else its address), unless this process
    already has."""
    ray = _ray()
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    if cluster == "local":
        ray.init(include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=cluster, log_to_driver=False)


def start_actors(
    folders: Sequence[Path], *, options: Mapping[str, object] | None = None
) -> list[Any]:
    """One actor per shard folder, each opening its (existing) shard with one thread.

    Actors hold no CPU reservation by default (``num_cpus=0``): a shard mostly waits,
    and a small cluster then holds many shards; ``options`` (Ray's actor options)
    overrides it. A dead actor restarts (up to :data:`ACTOR_RESTARTS` times) and reopens
    its shard from its folder: a shard keeps nothing that is not on disk, but its pinned
    versions, so a query it was serving is ranked again (see :class:`Shard`)."""
    ray = _ray()
    settings: dict[str, object] = {
        "num_cpus": 0,
        "max_restarts": ACTOR_RESTARTS,
        "max_task_retries": 0,
        "runtime_env": {"env_vars": ACTOR_ENV},
        **(options or {}),
    }
    remote = ray.remote(Shard)
    return [remote.options(**settings).remote(str(folder), threads=1) for folder in folders]


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray (for shards on a Ray cluster)", "ray") from exc
    return ray
