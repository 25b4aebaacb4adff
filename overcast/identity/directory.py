"""Domain-specific identity backends: a domain whose configuration says `[identity] driver =
ldap` keeps its users and groups in an LDAP server (drivers/ldap.py), read-only, as Keystone's
domain-specific drivers.

Users and groups read from LDAP get a public id from `id_mapping`, Keystone's sha256 of the
domain, the entry's id attribute and its kind, so an id never changes while the entry does not
(and is the id Keystone would give it). Each one seen is also kept as a row of the `user` or
`group` table under that id (a shadow: the name, mail and enabled flag LDAP said last; no
password), so that role assignments, application credentials, credentials and tokens refer to
it as to any user. LDAP stays the truth: lists and shows ask it, passwords are checked by
binding to it, and a login brings the user's group memberships up to date (they give roles).
"""

from __future__ import annotations

import builtins
import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.identity.drivers.ldap import DirectoryDown, Entry, LdapDirectory, LdapOptions
from overcast.identity.models import Domain, DomainConfig, Group, IdMapping, Membership, User
from overcast.identity.state import IdentityState

__all__ = ["READ_ONLY", "AuthFailed", "Directory", "public_id"]

log = logging.getLogger(__name__)

#: Keystone's answer to any write into an LDAP-backed domain.
READ_ONLY = "LDAP does not support write operations"


class AuthFailed(Exception):
    """A password the directory refused, or a user it does not know; the reason is for
    insecure_debug only (tokens.py)."""


def public_id(domain_id: str, local_id: str, entity_type: str) -> str:
    """Keystone's id_mapping sha256 generator: the values hashed in the order of their keys
    (domain_id, entity_type, local_id)."""
    digest = hashlib.sha256()
    for value in (domain_id, entity_type, local_id):
        digest.update(value.encode("utf-8"))
    return digest.hexdigest()


class _Broken:
    """An LDAP configuration that cannot be used; every call on its domain says why (503)."""

    def __init__(self, reason: str):
        self.reason = reason


class Directory:
    def __init__(self, state: IdentityState):
        self.state = state

    # -- which domains --
    async def _domains(self) -> Mapping[str, LdapDirectory | _Broken]:
        """Domain id -> its LDAP directory, for every domain configured so (cached until any
        identity write, as the other caches: state.py)."""
        cached = self.state.ldap_domains
        if cached is not None:
            return cast(Mapping[str, LdapDirectory | _Broken], cached)
        generation = self.state.generation
        async with self.state.db.read() as s:
            rows = list(await s.scalars(select(DomainConfig).where(
                DomainConfig.group.in_(("identity", "ldap")))))
        by_domain: dict[str, dict[str, dict[str, Any]]] = {}
        for row in rows:
            by_domain.setdefault(row.domain_id, {}).setdefault(row.group, {})[row.option] = \
                row.value["v"]
        found: dict[str, LdapDirectory | _Broken] = {}
        for domain_id, config in by_domain.items():
            if config.get("identity", {}).get("driver") != "ldap":
                continue
            try:
                found[domain_id] = LdapDirectory(LdapOptions.from_config(config.get("ldap", {})))
            except (TypeError, ValueError) as e:
                log.error("domain %s: unusable LDAP configuration: %s", domain_id, e)
                found[domain_id] = _Broken(str(e))
        if generation == self.state.generation:
            self.state.ldap_domains = found
        return found

    async def of(self, domain_id: str | None) -> LdapDirectory | None:
        """The domain's LDAP directory, or None when its users live in the SQL tables."""
        if domain_id is None:
            return None
        found = (await self._domains()).get(domain_id)
        if isinstance(found, _Broken):
            raise faults.ServiceUnavailable(
                f"The LDAP configuration of domain {domain_id} cannot be used: {found.reason}")
        return found

    async def refuse_writes(self, domain_id: str) -> None:
        """403, Keystone's words, for a create/update/delete in an LDAP-backed domain."""
        if await self.of(domain_id) is not None:
            raise faults.Forbidden(READ_ONLY)

    async def ldap_domain_ids(self) -> builtins.list[str]:
        return sorted(await self._domains())

    # -- reading the directory (503 when it is down) --
    @staticmethod
    async def _ask(call: Any) -> Any:
        try:
            return await call
        except DirectoryDown as e:
            log.error("LDAP: %s", e)
            raise faults.ServiceUnavailable("The identity backend (LDAP) is unavailable.") from e

    # -- shadow rows --
    async def _shadow_users(self, domain_id: str, entries: Sequence[Entry]) -> builtins.list[User]:
        try:
            return await self._shadow_users_once(domain_id, entries)
        except faults.Conflict:
            # Another request wrote the same new rows first: theirs are ours, read them.
            return await self._shadow_users_once(domain_id, entries)

    async def _shadow_users_once(self, domain_id: str,
                                 entries: Sequence[Entry]) -> builtins.list[User]:
        """The users' rows under their public ids, written only where LDAP says something new
        (a write drops every cache, so an unchanged listing must not make one)."""
        wanted: dict[str, Entry] = {}
        names: set[str] = set()
        for e in entries:
            # A user's name is unique in its domain (and compared without case by MariaDB):
            # of entries sharing one, the first is kept (Keystone's default name attribute,
            # sn, is a surname: use uid or cn).
            if e.name.lower() in names:
                log.warning("LDAP domain %s: more than one user named %r; %s left out",
                            domain_id, e.name, e.dn)
                continue
            names.add(e.name.lower())
            wanted[public_id(domain_id, e.local_id, "user")] = e
        async with self.state.db.read() as s:
            have = {u.id: u for u in await s.scalars(select(User).where(
                User.id.in_(list(wanted))))} if wanted else {}
        if all(uid in have and _user_is(have[uid], e) for uid, e in wanted.items()):
            return [have[uid] for uid in wanted]
        async with self.state.write() as s:
            rows = []
            for uid, e in wanted.items():
                user = await s.get(User, uid)
                if user is None:
                    await self._map(s, uid, domain_id, e.local_id, "user")
                    user = User(id=uid, domain_id=domain_id, name=e.name, enabled=e.enabled,
                                extra=_user_extra(e), options={})
                    s.add(user)
                elif not _user_is(user, e):
                    # (no revocation: a token's body is rebuilt from this row, which now
                    # says disabled; an event here would also revoke a token being issued)
                    user.name, user.enabled, user.extra = e.name, e.enabled, _user_extra(e)
                rows.append(user)
        return rows

    async def _shadow_groups(self, domain_id: str,
                             entries: Sequence[Entry]) -> builtins.list[Group]:
        try:
            return await self._shadow_groups_once(domain_id, entries)
        except faults.Conflict:
            return await self._shadow_groups_once(domain_id, entries)

    async def _shadow_groups_once(self, domain_id: str,
                                  entries: Sequence[Entry]) -> builtins.list[Group]:
        wanted: dict[str, Entry] = {}
        names: set[str] = set()
        for e in entries:
            if e.name.lower() in names:  # a group's name is unique in its domain, as a user's
                log.warning("LDAP domain %s: more than one group named %r; %s left out",
                            domain_id, e.name, e.dn)
                continue
            names.add(e.name.lower())
            wanted[public_id(domain_id, e.local_id, "group")] = e
        async with self.state.db.read() as s:
            have = {g.id: g for g in await s.scalars(select(Group).where(
                Group.id.in_(list(wanted))))} if wanted else {}
        if all(gid in have and _group_is(have[gid], e) for gid, e in wanted.items()):
            return [have[gid] for gid in wanted]
        async with self.state.write() as s:
            rows = []
            for gid, e in wanted.items():
                group = await s.get(Group, gid)
                if group is None:
                    await self._map(s, gid, domain_id, e.local_id, "group")
                    group = Group(id=gid, domain_id=domain_id, name=e.name,
                                  description=e.description or "", extra={})
                    s.add(group)
                else:
                    group.name, group.description = e.name, e.description or ""
                rows.append(group)
        return rows

    @staticmethod
    async def _map(s: AsyncSession, public: str, domain_id: str, local_id: str,
                   entity_type: str) -> None:
        if await s.get(IdMapping, public) is None:
            s.add(IdMapping(public_id=public, domain_id=domain_id, local_id=local_id,
                            entity_type=entity_type))

    async def _local(self, public: str, entity_type: str) -> IdMapping | None:
        async with self.state.db.read() as s:
            row = await s.get(IdMapping, public)
        return row if row is not None and row.entity_type == entity_type else None

    # -- users --
    async def list_users(self, d: LdapDirectory, domain_id: str, *, name: str | None,
                         enabled: bool | None) -> builtins.list[User]:
        entries = await self._ask(d.users(name))
        users = await self._shadow_users(domain_id, entries)
        users = [u for u in users if enabled is None or u.enabled == enabled]
        return sorted(users, key=lambda u: (u.name, u.id))

    async def refresh_user(self, user: User) -> User:
        """A user of an LDAP domain as LDAP has it now (404 when it left the directory)."""
        d = await self.of(user.domain_id)
        mapping = await self._local(user.id, "user")
        if d is None or mapping is None:
            return user
        entry = await self._ask(d.user(mapping.local_id))
        if entry is None:
            raise faults.NotFound(f"Could not find user: {user.id}.")
        return (await self._shadow_users(user.domain_id, [entry]))[0]

    async def password_user(self, ref: dict[str, Any], password: str) -> str | None:
        """The public id of an LDAP user the password authenticates; None when the user
        named is not in an LDAP-backed domain (the SQL tables then decide)."""
        domains = await self._domains()
        if not domains:
            return None  # the common case costs nothing more
        async with self.state.db.read() as s:
            domain_id, local_id = await self._which(s, ref)
        if domain_id is None or domain_id not in domains:
            return None
        d = await self.of(domain_id)
        assert d is not None
        if local_id is not None:
            entry = await self._ask(d.user(local_id))
        else:
            found = await self._ask(d.users(str(ref.get("name"))))
            entry = next((e for e in found if e.name == ref.get("name")), None)
        if entry is None:
            raise AuthFailed(f"Could not find user: {ref.get('id') or ref.get('name')}.")
        if not await self._ask(d.authenticate(entry.dn, password)):
            raise AuthFailed(f"Invalid password for user {entry.local_id} (LDAP).")
        user = (await self._shadow_users(domain_id, [entry]))[0]
        await self._sync_memberships(d, domain_id, user.id, entry)
        return user.id

    async def _which(self, s: AsyncSession, ref: dict[str, Any]) -> tuple[str | None, str | None]:
        """(domain id, LDAP local id if known) of an auth request's user reference."""
        if ref.get("id"):
            mapping = await s.get(IdMapping, str(ref["id"]))
            if mapping is None or mapping.entity_type != "user":
                return None, None
            return mapping.domain_id, mapping.local_id
        domain = ref.get("domain")
        if not isinstance(domain, dict):
            return None, None
        if domain.get("id"):
            return str(domain["id"]), None
        if domain.get("name"):
            return await s.scalar(select(Domain.id).where(Domain.name == domain["name"])), None
        return None, None

    async def _sync_memberships(self, d: LdapDirectory, domain_id: str, user_id: str,
                                entry: Entry) -> None:
        """Make the user's group memberships in this domain what LDAP says (they give roles
        through group assignments); writes only on a change."""
        groups = await self._shadow_groups(domain_id, await self._ask(d.groups_of(entry)))
        wanted = {g.id for g in groups}
        async with self.state.db.read() as s:
            have = set(await s.scalars(select(Membership.group_id).join(
                Group, Group.id == Membership.group_id).where(
                Membership.user_id == user_id, Group.domain_id == domain_id)))
        if have == wanted:
            return
        async with self.state.write() as s:
            gone = have - wanted
            if gone:
                # Roles through them leave the user's tokens as their bodies are rebuilt.
                await s.execute(delete(Membership).where(Membership.user_id == user_id,
                                                         Membership.group_id.in_(gone)))
            for gid in wanted - have:
                s.add(Membership(user_id=user_id, group_id=gid))

    # -- groups --
    async def list_groups(self, d: LdapDirectory, domain_id: str, *,
                          name: str | None) -> builtins.list[Group]:
        groups = await self._shadow_groups(domain_id, await self._ask(d.groups(name)))
        return sorted(groups, key=lambda g: (g.name, g.id))

    async def members(self, d: LdapDirectory, group: Group) -> builtins.list[User]:
        """The users the LDAP group's member attribute names."""
        mapping = await self._local(group.id, "group")
        if mapping is None:
            return []
        entry = await self._ask(d.group(mapping.local_id))
        if entry is None:
            raise faults.NotFound(f"Could not find group: {group.id}.")
        everyone = await self._ask(d.users())
        inside = [u for u in everyone if d.is_member(entry, u)]
        users = await self._shadow_users(group.domain_id, inside)
        return sorted(users, key=lambda u: (u.name, u.id))

    async def groups_of_user(self, d: LdapDirectory, user: User) -> builtins.list[Group]:
        mapping = await self._local(user.id, "user")
        if mapping is None:
            return []
        entry = await self._ask(d.user(mapping.local_id))
        if entry is None:
            raise faults.NotFound(f"Could not find user: {user.id}.")
        groups = await self._shadow_groups(user.domain_id, await self._ask(d.groups_of(entry)))
        return sorted(groups, key=lambda g: (g.name, g.id))


def _user_extra(e: Entry) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if e.email is not None:
        extra["email"] = e.email
    if e.description is not None:
        extra["description"] = e.description
    return extra


def _user_is(u: User, e: Entry) -> bool:
    return u.name == e.name and u.enabled == e.enabled and u.extra == _user_extra(e)


def _group_is(g: Group, e: Entry) -> bool:
    return g.name == e.name and g.description == (e.description or "")
