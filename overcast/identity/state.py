"""The identity service's shared state: database, keys, hasher, caches and their invalidation.

Caches (validated tokens, catalog, revocation index) are only correct while nothing was
written. Every write goes through `IdentityState.write()`, which bumps a revision row in the
same transaction and drops this process's caches at once; a reader calls `fresh()` first,
which compares the stored revision with the one its caches were built at (one primary-key
read, at most every `[identity] cache_check_interval` seconds) and drops them when it moved.
That keeps several worker processes, or several nodes on one database, coherent without a bus:
a write made elsewhere is seen here within the interval (0.1 s by default).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import epoch, from_epoch, utcnow
from overcast.common.db import Database
from overcast.config import Config
from overcast.identity.fernet import KeyRepository, TokenPayload
from overcast.identity.models import Revision, RevocationEvent
from overcast.identity.passwords import PasswordHasher

__all__ = ["REVISION", "REVISION_COLUMN", "IdentityState", "RevocationIndex"]

T = TypeVar("T")

#: The stored revision (one primary-key read), as a statement and as a column that rides on
#: another query.
REVISION = select(Revision.value).where(Revision.id == 1)
REVISION_COLUMN = REVISION.scalar_subquery()


def _duplicate(e: IntegrityError) -> bool:
    """Whether a database error is a unique key violation (SQLite, MariaDB, PostgreSQL)."""
    text = str(e.orig)
    return ("UNIQUE constraint failed" in text or "Duplicate entry" in text
            or getattr(e.orig, "sqlstate", None) == "23505" or "UniqueViolation" in text
            or "duplicate key value" in text)


@dataclass
class RevocationIndex:
    """Revocation events indexed by what they match, so a check is a few dict lookups
    however many events pile up (Keystone scans its list per validation)."""

    by_audit: dict[str, float] = field(default_factory=dict)
    by_user: dict[str, float] = field(default_factory=dict)
    by_project: dict[str, float] = field(default_factory=dict)
    by_domain: dict[str, float] = field(default_factory=dict)
    by_user_project: dict[tuple[str, str], float] = field(default_factory=dict)

    def add(self, ev: RevocationEvent) -> None:
        t = epoch(ev.issued_before)

        def put(d: dict[Any, float], k: Any) -> None:
            d[k] = max(d.get(k, 0.0), t)

        if ev.audit_id:
            put(self.by_audit, ev.audit_id)
        elif ev.user_id and ev.project_id:
            put(self.by_user_project, (ev.user_id, ev.project_id))
        elif ev.user_id:
            put(self.by_user, ev.user_id)
        elif ev.project_id:
            put(self.by_project, ev.project_id)
        elif ev.domain_id:
            put(self.by_domain, ev.domain_id)

    def revoked(self, p: TokenPayload, domain_ids: Iterable[str | None]) -> bool:
        """Whether an event revokes the token; `domain_ids` are the domains it belongs to (its
        user's and its project's), matched by domain events besides a domain-scoped token's."""
        issued = p.issued_at
        for audit_id in p.audit_ids:
            if self.by_audit.get(audit_id, -1.0) >= issued:
                return True
        if self.by_user.get(p.user_id, -1.0) >= issued:
            return True
        if p.project_id is not None:
            if self.by_project.get(p.project_id, -1.0) >= issued:
                return True
            if self.by_user_project.get((p.user_id, p.project_id), -1.0) >= issued:
                return True
        for domain in {p.domain_id, *domain_ids}:
            if domain is not None and self.by_domain.get(domain, -1.0) >= issued:
                return True
        return False


class IdentityState:
    """Everything the identity service's modules share; made in the app's lifespan."""

    def __init__(self, config: Config, db: Database):
        self.config = config
        self.db = db
        self.keys = KeyRepository(config.fernet_key_repository,
                                  config.identity.fernet_max_active_keys)
        # Keystone keeps 3 credential keys (credential/providers/fernet MAX_ACTIVE_KEYS): with
        # rotation refused until every row is under the primary, no needed key is pruned.
        self.credential_keys = KeyRepository(config.credential_key_repository, 3)
        self.hasher = PasswordHasher(config.identity.password_hash_rounds,
                                     config.identity.password_cache_size)
        self.revision = -1
        self.revocations = RevocationIndex()
        # token string -> (validated body, expires_at epoch); cleared on any write
        self.token_cache: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()
        self.token_cache_size = 10_000
        self.catalog_cache: dict[str | None, list[dict[str, Any]]] = {}
        # (role implications, domain-specific role ids): read on every effective-role check
        self.role_graph: tuple[dict[str, set[str]], set[str]] | None = None
        self.role_names: dict[str, str] | None = None  # role id -> name, for token bodies
        # domain id -> its LDAP directory (directory.py), for the domains configured so
        self.ldap_domains: Mapping[str, object] | None = None
        self._fernet: object = None
        self._checked_at = 0.0  # monotonic time of the last revision read
        # Bumped by every local write: a cache fill or revocation reload that began before a
        # write (and awaited the database meanwhile) must not install what it read.
        self.generation = 0

    @property
    def list_limit(self) -> int:
        """Keystone's `[identity] list_limit` (0: none)."""
        return self.config.identity.list_limit

    def capped(self, q: Select[Any]) -> Select[Any]:
        """A list query fetching at most list_limit + 1 rows: enough to know it was cut."""
        return q.limit(self.list_limit + 1) if self.list_limit else q

    def cap(self, rows: list[T]) -> list[T]:
        """`capped` for a list already filtered in Python."""
        return rows[: self.list_limit + 1] if self.list_limit else rows

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction that invalidates every cache, here and in other workers.

        A unique key the domain code did not check first (two concurrent creates of one
        name) is a 409, as Keystone's DBDuplicateEntry, never a 500."""
        try:
            async with self.db.transaction() as s:
                yield s
                await s.execute(update(Revision).where(Revision.id == 1)
                                .values(value=Revision.value + 1))
        except IntegrityError as e:
            if not _duplicate(e):
                raise
            raise faults.Conflict("Conflict occurred attempting to store the resource - "
                                  "Duplicate entry.") from e
        self.generation += 1
        self._drop_caches()
        self.revision = -1  # and re-read the revision (and revocations) on the next check

    def _drop_caches(self) -> None:
        self.token_cache.clear()
        self.catalog_cache.clear()
        self.role_graph = None
        self.role_names = None
        self.ldap_domains = None

    def due(self) -> bool:
        """Whether the next read must check the revision: the check interval has passed (or
        a local write asked for it). Keys rotated meanwhile drop the token cache at once (a
        token of a pruned key must stop validating)."""
        fernet = self.keys.fernet()
        if fernet is not self._fernet:
            self._fernet = fernet
            self.token_cache.clear()
        return (self.revision < 0 or time.monotonic() - self._checked_at
                >= self.config.identity.cache_check_interval)

    async def fresh(self) -> None:
        """Drop caches if anyone wrote since they were built or the keys were rotated;
        reload revocations. A read session of its own, when the check is due."""
        if not self.due():
            return
        generation, at = self.generation, time.monotonic()
        async with self.db.read() as s:
            current = await s.scalar(REVISION)
            await self.observe(s, current, since=generation, at=at)

    async def observe(self, s: AsyncSession, current: int | None, *, since: int,
                      at: float) -> None:
        """Take in a revision read in `s` (`fresh`'s own query, or a column of a caller's
        first query: a login checks it so, without a session of its own). `since`: the
        generation before that read, so that a local write its snapshot may predate is not
        taken as seen; `at`: the monotonic time before it."""
        if current is None:
            raise RuntimeError("identity database is not bootstrapped")
        self._checked_at = at
        if current == self.revision:
            return
        index = RevocationIndex()
        horizon = time.time() - self.config.identity.token_expiration
        for ev in await s.scalars(select(RevocationEvent)):
            if epoch(ev.issued_before) >= horizon - 1:
                index.add(ev)
        if since != self.generation:
            return  # a local write landed while we read: the next check reads again
        self.revocations = index
        self._drop_caches()
        self.revision = current

    async def revoke(self, s: AsyncSession, **match: str | None) -> None:
        """Record a revocation event (inside a write transaction): tokens matching `match`
        and issued up to now are no longer valid."""
        now = utcnow()
        s.add(RevocationEvent(issued_before=now, **match))
        # Events older than any token's lifetime can match nothing: prune as we go.
        window = self.config.identity.token_expiration + self.config.identity.allow_expired_window
        cutoff = from_epoch(time.time() - window)
        await s.execute(delete(RevocationEvent).where(RevocationEvent.issued_before < cutoff))
