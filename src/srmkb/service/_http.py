"""How the service speaks HTTP: errors as JSON ``{"error", "type"}`` and strict bodies.

Every error, whoever raises it (a route, FastAPI's validation, the library, the disk), is
answered as JSON with a status the caller can act on. Routes parse their JSON bodies
strictly and refuse query parameters they do not declare.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from ..errors import DiskFullError, FilterError, InputError, SrmkbError, StorageError


class _HTTPError(Exception):
    def __init__(
        self, status: int, message: str, *, kind: str | None = None, headers: Any = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind or _KINDS.get(status, "Error")
        self.headers = headers


_KINDS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    422: "ValidationError",
    429: "TooManyRequests",
    503: "NotReady",
}


def _error(status: int, message: str, kind: str, headers: Any = None) -> JSONResponse:
    return JSONResponse({"error": message, "type": kind}, status_code=status, headers=headers)


def _status_of(exc: SrmkbError) -> int:
    if isinstance(exc, DiskFullError):
        return 507
    if isinstance(exc, StorageError):
        return 503
    if isinstance(exc, (InputError, FilterError)):
        return 400
    return 500


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p)[:40] for p in err.get("loc", ()) if p != "body") or "body"
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "JSON decode error")
            parts.append(f"the body is not valid JSON: {reason}")
        else:
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = len(exc.errors()) - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


async def _send_error(send: Any, status: int, message: str, kind: str) -> None:
    body = json.dumps({"error": message, "type": kind}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -- strict bodies -----------------------------------------------------------------------


def _strict_json(body: bytes) -> Any:
    """Parse a request body as strict JSON: UTF-8, no NaN or Infinity (Python's json
    takes them, JSON does not), no number too large for a float, no lone surrogate, no
    key twice in an object (which of the two would count is anyone's guess)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("the body is not UTF-8", "", exc.start) from None

    def constant(name: str) -> Any:
        raise json.JSONDecodeError(f"{name} is not a JSON number", text, 0)

    def number(raw: str) -> float:
        value = float(raw)
        if not math.isfinite(value):
            raise json.JSONDecodeError(f"{raw[:20]} is too large a number", text, 0)
        return value

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        data = dict(pairs)
        if len(data) != len(pairs):
            raise json.JSONDecodeError("an object has the same key twice", text, 0)
        return data

    try:
        data = json.loads(
            text, parse_constant=constant, parse_float=number, object_pairs_hook=unique
        )
    except (RecursionError, ValueError) as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
        raise json.JSONDecodeError(f"cannot be read ({type(exc).__name__})", text, 0) from None
    if _SURROGATE_ESCAPE.search(text):
        _check_unicode(data, text)
    return data


# "\ud83d\ude00" is one character, a lone "\ud83d" none: only escapes can produce one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_unicode(data: Any, text: str) -> None:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise json.JSONDecodeError(
                    "a string holds a lone surrogate (half of a character)", text, 0
                ) from None


class _StrictRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = _strict_json(await self.body())
        return self._json


class _StrictRoute(APIRoute):
    """Routes whose JSON bodies are parsed by :func:`_strict_json` and that refuse query
    parameters they do not declare (a misspelt ``?sinse=`` is an error, not ignored)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        known = _query_names(self.dependant)

        async def strict(request: Request) -> Response:
            unknown = sorted(set(request.query_params) - known)
            if unknown:
                names = ", ".join(repr(name[:40]) for name in unknown[:3])
                raise _HTTPError(422, f"unknown query parameter {names}", kind="ValidationError")
            return await handler(_StrictRequest(request.scope, request.receive))

        return strict


def _query_names(dependant: Any) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names
