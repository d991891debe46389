"""Keys and roles: who a caller is, from the ``X-API-Key`` it sends.

A key grants a role — customer, agent or admin — and a role bounds the audience a request
may see: customers see public documents, agents and admins internal ones too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from ..errors import InputError

Role = Literal["customer", "agent", "admin"]
ROLES: tuple[Role, ...] = ("customer", "agent", "admin")
KEY_HEADER = "X-API-Key"
API_KEY_ENV = "SRMKB_API_KEY"
API_KEYS_ENV = "SRMKB_API_KEYS"
API_KEYS_FILE_ENV = "SRMKB_API_KEYS_FILE"

# A key travels unchanged in an HTTP header: printable ASCII without spaces.
_KEY_CHARS = re.compile(r"[\x21-\x7e]+")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class Keyring:
    """The API keys a service accepts and the role each grants.

    ``keys`` maps a key to its role; ``digests`` maps the hex SHA-256 of a key to its
    role, so that a configuration file need not hold the key itself. Only digests are
    kept, and a key is compared with every one of them in constant time, so neither the
    keys nor which one matched show in timings; keys are never logged.
    """

    def __init__(
        self, keys: Mapping[str, str] | None = None, *, digests: Mapping[str, str] | None = None
    ) -> None:
        self._entries: list[tuple[bytes, Role]] = []
        for i, (key, role) in enumerate((keys or {}).items()):
            self._add(_digest(key, f"keys[{i}]"), role, f"keys[{i}]")
        for i, (digest, role) in enumerate((digests or {}).items()):
            self._add(_from_hex(digest, f"digests[{i}]"), role, f"digests[{i}]")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Keyring:
        """Keys from ``SRMKB_API_KEY`` (an admin key), ``SRMKB_API_KEYS``
        (``role:key,role:key``) and the JSON file named by ``SRMKB_API_KEYS_FILE``."""
        env = os.environ if environ is None else environ
        ring = cls()
        if env.get(API_KEY_ENV):
            ring._add(_digest(env[API_KEY_ENV], API_KEY_ENV), "admin", API_KEY_ENV)
        items = [item.strip() for item in env.get(API_KEYS_ENV, "").split(",")]
        for n, item in enumerate((item for item in items if item), start=1):
            where = f"{API_KEYS_ENV} entry {n}"
            role, sep, key = item.partition(":")
            if not sep:
                raise InputError(f"{where} must look like role:key (roles: {', '.join(ROLES)})")
            ring._add(_digest(key, where), role.strip(), where)
        if env.get(API_KEYS_FILE_ENV):
            for digest, role in cls.from_file(env[API_KEYS_FILE_ENV])._entries:
                ring._add(digest, role, env[API_KEYS_FILE_ENV])
        return ring

    @classmethod
    def from_file(cls, path: str | Path) -> Keyring:
        """Keys from a JSON file: ``{"keys": [{"key": ..., "role": ...}, {"sha256": ...,
        "role": ...}]}``; ``sha256`` is the hex digest of a key, for files that should not
        hold the key."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"cannot read the key file: {exc}", path=str(path)) from None
        entries = data.get("keys") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise InputError('must be a JSON object {"keys": [...]}', path=str(path))
        ring = cls()
        for i, entry in enumerate(entries):
            where = f"{path}: keys[{i}]"
            if not isinstance(entry, dict) or ("key" in entry) == ("sha256" in entry):
                raise InputError(f'{where} must be an object with "role" and "key" or "sha256"')
            if "key" in entry:
                digest = _digest(entry["key"], where)
            else:
                digest = _from_hex(entry["sha256"], where)
            ring._add(digest, entry.get("role"), where)
        return ring

    def with_key(self, key: str, role: Role) -> Keyring:
        """A copy of this ring that also accepts ``key`` with ``role``."""
        ring = Keyring()
        ring._entries = list(self._entries)
        ring._add(_digest(key, "key"), role, "key")
        return ring

    def _add(self, digest: bytes, role: object, where: str) -> None:
        if role not in ROLES:
            raise InputError(f"{where}: role must be one of {', '.join(ROLES)}, got {role!r}")
        for known, other in self._entries:
            if known == digest and other != role:
                raise InputError(f"{where}: this key is already given the role {other!r}")
        self._entries.append((digest, role))  # type: ignore[arg-type]  # checked above

    def identify(self, key: str) -> tuple[Role, int] | None:
        """The role ``key`` grants and the key's position (an id that is not the key), or
        None for a key this ring does not hold."""
        if not _KEY_CHARS.fullmatch(key):
            return None
        digest = hashlib.sha256(key.encode("ascii")).digest()
        found: tuple[Role, int] | None = None
        for i, (known, role) in enumerate(self._entries):  # all of them: constant time
            if hmac.compare_digest(known, digest):
                found = (role, i)
        return found

    def count(self, role: Role) -> int:
        return sum(1 for _, r in self._entries if r == role)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        counts = ", ".join(f"{role} {self.count(role)}" for role in ROLES)
        return f"Keyring({counts})"


def _digest(key: object, where: str) -> bytes:
    if not isinstance(key, str) or not _KEY_CHARS.fullmatch(key):
        raise InputError(f"{where}: a key must be printable ASCII without spaces")
    return hashlib.sha256(key.encode("ascii")).digest()


def _from_hex(value: object, where: str) -> bytes:
    if not isinstance(value, str) or not _SHA256.fullmatch(value.lower()):
        raise InputError(f"{where}: sha256 must be 64 hexadecimal digits")
    return bytes.fromhex(value)
