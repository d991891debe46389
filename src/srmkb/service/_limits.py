"""What one request may ask of the service, and the code that holds requests to it."""

# No `from __future__ import annotations`: Limits.from_env reads its fields' types (float
# or int) at run time, and postponed annotations would make them strings.

import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..errors import InputError
from ..index.query import MAX_QUERY_CHARS
from ._http import _send_error


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the service.

    ``Limits.from_env()`` reads each field from ``SRMKB_`` + its name in capitals
    (``SRMKB_MAX_BODY_BYTES``); the OpenAPI schema states the limits in force.
    """

    max_body_bytes: int = 1_000_000  # counted while the body arrives (413)
    max_query_chars: int = 2_000  # query or question (422)
    max_k: int = 100  # hits per search
    max_filter_items: int = 32  # fields in a filter, values in a list
    feedback_burst: int = 20  # feedback requests a client may send at once...
    feedback_per_minute: float = 30.0  # ...and then per minute (429 beyond)

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"limit {item.name} must be a number, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"limit {item.name} must be positive, got {value!r}")
        if self.max_query_chars > MAX_QUERY_CHARS:
            raise InputError(f"max_query_chars is at most {MAX_QUERY_CHARS:,} (the library's)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: float) -> "Limits":
        """Limits from ``SRMKB_MAX_BODY_BYTES`` etc., then ``overrides`` (None: unset)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in fields(cls):
            name = f"SRMKB_{item.name.upper()}"
            raw = env.get(name)
            if raw:
                kind = float if item.type is float else int
                try:
                    values[item.name] = kind(raw)
                except ValueError:
                    raise InputError(f"{name} must be a number, got {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class BodyLimit:
    """ASGI middleware that refuses a body larger than ``limit`` bytes (413) as it
    arrives, before anything buffers or parses it, with or without Content-Length."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"the body is larger than {self.limit:,} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.isdigit():
                    await _send_error(send, 400, "Content-Length is not a number", "BadRequest")
                    return
                if len(value) > 15 or int(value) > self.limit:
                    await _send_error(send, 413, too_large, "PayloadTooLarge")
                    return
        received = 0
        started = refused = False

        async def counted() -> Any:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    if not started and not refused:
                        refused = True
                        await _send_error(send, 413, too_large, "PayloadTooLarge")
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Any) -> None:
            nonlocal started
            if refused:
                return  # the application's reply to a body cut short is not sent
            started = True
            await send(message)

        await self.app(scope, counted, guarded)


# -- per-client feedback rate ------------------------------------------------------------


class _TokenBuckets:
    """One token bucket per client: ``burst`` requests at once, then ``per_minute``."""

    def __init__(self, burst: int, per_minute: float, clients: int = 10_000) -> None:
        self.burst = float(burst)
        self.rate = per_minute / 60.0
        self.clients = clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when ``client`` may go on, else the seconds until it may."""
        with self._lock:
            now = time.monotonic()
            tokens, last = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[client] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > self.clients:  # forget the longest idle
                self._buckets.popitem(last=False)
            return wait
