"""Password hashing (bcrypt, Keystone's default algorithm and cost) and a verified-login cache.

bcrypt at cost 12 takes ~0.25 s of CPU per check by design. A client that logs in again with
the same password (every `openstack` command does) would pay that each time. The cache keeps,
per user, an HMAC of (stored hash, password) under a random per-process key, so a repeated
correct login skips bcrypt while a wrong or changed password always pays it: the stored hash
is part of the key, so a password change invalidates the entry by itself. Nothing in the cache
can be turned back into a password, and it never leaves the process.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections import OrderedDict

import bcrypt

__all__ = ["PasswordHasher"]

# bcrypt only looks at the first 72 bytes; Keystone truncates the same way (max_password_length
# is checked separately).
_BCRYPT_MAX = 72


class PasswordHasher:
    """Hash and verify passwords off the event loop, remembering recent successes."""

    def __init__(self, rounds: int = 12, cache_size: int = 1024):
        self.rounds = rounds
        self.cache_size = cache_size
        self._key = secrets.token_bytes(32)
        self._verified: OrderedDict[str, bytes] = OrderedDict()
        # A hash of a random password at the same cost: what a login for a user that does not
        # exist is checked against, so that it costs what a wrong password costs. Made on first
        # use (it costs a hash).
        self._decoy: bytes | None = None

    async def hash(self, password: str) -> str:
        raw = password.encode()[:_BCRYPT_MAX]
        salt = bcrypt.gensalt(self.rounds)
        return (await asyncio.to_thread(bcrypt.hashpw, raw, salt)).decode()

    def _mac(self, stored: str, password: str) -> bytes:
        return hmac.new(self._key, stored.encode() + b"\0" + password.encode(),
                        hashlib.sha256).digest()

    async def verify(self, user_id: str, password: str, stored: str | None) -> bool:
        """True when `password` matches the stored hash. Constant-time on the cached path."""
        if not stored:
            return False
        mac = self._mac(stored, password)
        known = self._verified.get(user_id)
        if known is not None and hmac.compare_digest(known, mac):
            self._verified.move_to_end(user_id)
            return True
        try:
            ok = await asyncio.to_thread(
                bcrypt.checkpw, password.encode()[:_BCRYPT_MAX], stored.encode())
        except ValueError:  # a malformed stored hash is a mismatch, not a crash
            return False
        if ok and self.cache_size:
            self._verified[user_id] = mac
            self._verified.move_to_end(user_id)
            while len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
        return ok

    async def decoy(self, password: str) -> None:
        """Spend a full hash on a login that cannot succeed (no such user), so that its answer
        takes as long as a wrong password's and timing does not tell whether the user exists."""
        if self._decoy is None:
            self._decoy = await asyncio.to_thread(
                bcrypt.hashpw, secrets.token_bytes(16), bcrypt.gensalt(self.rounds))
        await asyncio.to_thread(bcrypt.checkpw, password.encode()[:_BCRYPT_MAX], self._decoy)

    async def matches_any(self, password: str, hashes: list[str]) -> bool:
        """Whether `password` is any of `hashes` (a password history: one full hash each)."""
        for stored in hashes:
            try:
                if await asyncio.to_thread(bcrypt.checkpw, password.encode()[:_BCRYPT_MAX],
                                           stored.encode()):
                    return True
            except ValueError:
                continue
        return False

    def forget(self, user_id: str) -> None:
        """Drop a user's cached login (password changed, user disabled or deleted)."""
        self._verified.pop(user_id, None)
