"""Fernet token format and its key repository.

The repository is a directory of key files named by integers, as Keystone's: `0` is the staged
key (the next primary, already accepted so that every node can decrypt before it is used),
the highest number is the primary (encrypts), the rest are secondaries (decrypt only).
`rotate()` promotes the staged key, stages a new one and prunes down to max_active_keys.

A token is Fernet(JSON payload): who, how, which scope, until when, and audit ids. Nothing
secret is in it; nothing about roles either, so a role change takes effect at validation.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["InvalidToken", "KeyRepository", "TokenPayload", "decode", "encode"]

PAYLOAD_VERSION = 1


@dataclass(frozen=True)
class TokenPayload:
    """What a token says. Scope is one of: project, domain, system ("all") or none."""

    user_id: str
    methods: tuple[str, ...]
    expires_at: float
    issued_at: float
    audit_ids: tuple[str, ...]
    project_id: str | None = None
    domain_id: str | None = None
    system: str | None = None
    app_cred_id: str | None = None
    #: A trust-scoped token's trust (its user is the trustee; project_id is the trust's).
    trust_id: str | None = None


def new_audit_id() -> str:
    # Keystone's audit ids are 16 random bytes, urlsafe base64 without padding (22 chars).
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()


def encode(fernet: MultiFernet, p: TokenPayload) -> str:
    raw = json.dumps(
        [PAYLOAD_VERSION, p.user_id, list(p.methods), p.expires_at,
         p.issued_at, list(p.audit_ids), p.project_id, p.domain_id, p.system,
         p.app_cred_id, *([p.trust_id] if p.trust_id else [])],
        separators=(",", ":"),
    ).encode()
    # Keystone strips the base64 padding from Fernet tokens; they then fit URLs and headers.
    return fernet.encrypt(raw).decode().rstrip("=")


def decode(fernet: MultiFernet, token: str) -> TokenPayload:
    """The payload of a token we issued, or InvalidToken (bad key, tampered, not ours)."""
    padded = token + "=" * (-len(token) % 4)
    try:
        raw = fernet.decrypt(padded.encode())
        fields = json.loads(raw)
        # a trust id is appended only to trust-scoped tokens: others keep their length
        trust_id = fields.pop() if isinstance(fields, list) and len(fields) == 11 else None
        (version, user_id, methods, expires_at, issued_at, audit_ids, project_id, domain_id,
         system, app_cred_id) = fields
    except (ValueError, TypeError) as e:
        raise InvalidToken from e
    if version != PAYLOAD_VERSION:
        raise InvalidToken
    return TokenPayload(user_id, tuple(methods), expires_at, issued_at, tuple(audit_ids),
                        project_id, domain_id, system, app_cred_id, trust_id)


class KeyRepository:
    """The key directory: create, rotate, and load as a MultiFernet (primary first)."""

    def __init__(self, path: Path, max_active_keys: int = 3):
        self.path = path
        self.max_active_keys = max_active_keys
        self._loaded_mtime: float | None = None
        self._fernet: MultiFernet | None = None

    def _keys(self) -> dict[int, bytes]:
        keys: dict[int, bytes] = {}
        for f in self.path.iterdir():
            if f.name.isdigit():
                keys[int(f.name)] = f.read_bytes().strip()
        return keys

    def _write_key(self, index: int, key: bytes) -> None:
        # temp file + rename: a reader never sees a half-written key.
        tmp = self.path / f".{index}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path / str(index))

    def setup(self) -> bool:
        """Create the repository with a staged and a primary key; False if it exists."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self._keys():
            return False
        self._write_key(0, Fernet.generate_key())
        self._write_key(1, Fernet.generate_key())
        return True

    def rotate(self) -> int:
        """Promote the staged key to primary, stage a new key, prune; returns the new primary."""
        keys = self._keys()
        if not keys:
            raise RuntimeError(f"no Fernet keys in {self.path}; run bootstrap first")
        primary = max(keys) + 1
        os.replace(self.path / "0", self.path / str(primary))
        self._write_key(0, Fernet.generate_key())
        secondaries = sorted(k for k in keys if k not in (0,))
        # Keep the staged key, the new primary and the newest secondaries.
        excess = len(secondaries) + 2 - self.max_active_keys
        for index in secondaries[: max(0, excess)]:
            (self.path / str(index)).unlink()
        self._fernet = None
        return primary

    def exists(self) -> bool:
        """Whether the repository has keys (setup ran)."""
        return self.path.is_dir() and bool(self._keys())

    def primary_key(self) -> bytes:
        """The key new data is encrypted with (the highest-numbered one)."""
        keys = self._keys()
        if not keys:
            raise RuntimeError(f"no Fernet keys in {self.path}")
        return keys[max(keys)]

    def fernet(self) -> MultiFernet:
        """The keys as a MultiFernet, reloaded when another process rotated them."""
        mtime = self.path.stat().st_mtime
        if self._fernet is None or mtime != self._loaded_mtime:
            keys = self._keys()
            if not keys:
                raise RuntimeError(f"no Fernet keys in {self.path}; run bootstrap first")
            order = sorted(keys, reverse=True)  # primary (highest) first, staged (0) last
            self._fernet = MultiFernet([Fernet(keys[i]) for i in order])
            self._loaded_mtime = mtime
        return self._fernet
