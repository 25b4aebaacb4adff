"""The LDAP identity driver: users and groups read from an LDAP server, read-only, passwords
checked by binding as the user; plain LDAP, StartTLS (`use_tls`) or LDAPS (`ldaps://`).

Options are Keystone's `[ldap]` names and defaults (keystone/conf/ldap.py), as a domain's
configuration gives them (`/v3/domains/{id}/config`). The client is python-ldap, the binding
of OpenLDAP's own libldap that Keystone uses: maintained, complete (StartTLS, paged results,
referrals), its TLS the same stack as slapd's. It blocks, so every call runs in a worker
thread (`asyncio.to_thread`) on a connection of its own, never on the event loop.

LIMITATIONS: no connection pool (a connection per operation), no `user_enabled_emulation`,
no `user_additional_attribute_mapping`, no `alias_dereferencing`/`chase_referrals` tuning.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import ldap  # type: ignore[import-untyped]
import ldap.dn  # type: ignore[import-untyped]
import ldap.filter  # type: ignore[import-untyped]
from ldap.controls import SimplePagedResultsControl  # type: ignore[import-untyped]

__all__ = ["DirectoryDown", "Entry", "LdapDirectory", "LdapOptions"]

T = TypeVar("T")

#: Seconds a connect or an operation may take before the directory counts as unreachable.
TIMEOUT = 10.0

_SCOPES = {"one": ldap.SCOPE_ONELEVEL, "sub": ldap.SCOPE_SUBTREE}
_REQUIRE_CERT = {"demand": ldap.OPT_X_TLS_DEMAND, "allow": ldap.OPT_X_TLS_ALLOW,
                 "never": ldap.OPT_X_TLS_NEVER}


class DirectoryDown(Exception):
    """The LDAP server could not be reached or refused the service bind (a deployment
    problem, not the caller's)."""


@dataclass(frozen=True)
class LdapOptions:
    """Keystone's `[ldap]` options that this driver reads (the rest are stored, not used)."""

    url: str = "ldap://localhost"
    user: str | None = None
    password: str | None = None
    suffix: str = "cn=example,cn=com"
    query_scope: str = "one"
    page_size: int = 0
    user_tree_dn: str | None = None
    user_filter: str | None = None
    user_objectclass: str = "inetOrgPerson"
    user_id_attribute: str = "cn"
    user_name_attribute: str = "sn"
    user_mail_attribute: str = "mail"
    user_description_attribute: str = "description"
    user_enabled_attribute: str = "enabled"
    user_enabled_invert: bool = False
    user_enabled_mask: int = 0
    user_enabled_default: str = "True"
    group_tree_dn: str | None = None
    group_filter: str | None = None
    group_objectclass: str = "groupOfNames"
    group_id_attribute: str = "cn"
    group_name_attribute: str = "ou"
    group_member_attribute: str = "member"
    group_members_are_ids: bool = False
    group_desc_attribute: str = "description"
    use_tls: bool = False
    tls_cacertfile: str | None = None
    tls_cacertdir: str | None = None
    tls_req_cert: str = "demand"

    @classmethod
    def from_config(cls, options: Mapping[str, Any]) -> LdapOptions:
        """The options of a domain's `ldap` group; unknown ones are ignored, strings from an
        INI-minded client ("true", "10") read as Keystone's oslo.config would."""
        known = cls.__dataclass_fields__
        values: dict[str, Any] = {}
        for name, value in options.items():
            if name not in known or value is None:
                continue
            default = getattr(cls, name, None)
            if isinstance(default, bool):
                value = value if isinstance(value, bool) else str(value).lower() in (
                    "1", "true", "yes", "on")
            elif isinstance(default, int):
                value = int(value)
            values[name] = value
        opts = cls(**values)
        if opts.query_scope not in _SCOPES:
            raise ValueError(f"Invalid LDAP scope: {opts.query_scope}. Choose one of: one, sub")
        if opts.tls_req_cert not in _REQUIRE_CERT:
            raise ValueError(f"Invalid LDAP TLS certs option: {opts.tls_req_cert}. Choose one "
                             "of: demand, allow, never")
        if opts.use_tls and any(u.strip().startswith("ldaps://")
                                for u in opts.url.replace(",", " ").split()):
            raise ValueError("Invalid TLS / LDAPS combination")
        return opts

    @property
    def users_dn(self) -> str:
        return self.user_tree_dn or f"ou=Users,{self.suffix}"

    @property
    def groups_dn(self) -> str:
        return self.group_tree_dn or f"ou=UserGroups,{self.suffix}"


@dataclass(frozen=True)
class Entry:
    """A user or group as the directory holds it: `local_id` is its id attribute's value."""

    dn: str
    local_id: str
    name: str
    enabled: bool = True
    email: str | None = None
    description: str | None = None
    members: tuple[str, ...] = ()  # a group's member attribute values (DNs or ids)


def _first(attrs: Mapping[str, list[bytes]], name: str) -> str | None:
    for key, values in attrs.items():
        if key.lower() == name.lower() and values:
            return values[0].decode("utf-8", "replace")
    return None


def _all(attrs: Mapping[str, list[bytes]], name: str) -> tuple[str, ...]:
    for key, values in attrs.items():
        if key.lower() == name.lower():
            return tuple(v.decode("utf-8", "replace") for v in values)
    return ()


class LdapDirectory:
    """One domain's LDAP server."""

    def __init__(self, options: LdapOptions):
        self.options = options

    # -- connections --
    @contextmanager
    def _connection(self, bind_dn: str | None, password: str | None) -> Iterator[Any]:
        o = self.options
        conn = ldap.initialize(o.url.replace(",", " "))
        try:
            conn.protocol_version = ldap.VERSION3
            conn.set_option(ldap.OPT_REFERRALS, 0)
            conn.set_option(ldap.OPT_NETWORK_TIMEOUT, TIMEOUT)
            conn.set_option(ldap.OPT_TIMEOUT, TIMEOUT)
            if o.tls_cacertfile:
                conn.set_option(ldap.OPT_X_TLS_CACERTFILE, o.tls_cacertfile)
            if o.tls_cacertdir:
                conn.set_option(ldap.OPT_X_TLS_CACERTDIR, o.tls_cacertdir)
            conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, _REQUIRE_CERT[o.tls_req_cert])
            conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)  # the TLS options above take effect
            if o.use_tls:
                conn.start_tls_s()
            conn.simple_bind_s(bind_dn or "", password or "")
            yield conn
        finally:
            try:
                conn.unbind_s()
            except ldap.LDAPError:  # a connection that never opened has nothing to close
                pass

    async def _run(self, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(fn)
        except (ldap.SERVER_DOWN, ldap.CONNECT_ERROR, ldap.TIMEOUT) as e:
            raise DirectoryDown(f"the LDAP server is unreachable ({type(e).__name__})") from e
        except ldap.INVALID_CREDENTIALS as e:
            raise DirectoryDown("the LDAP server refused the configured user") from e
        except ldap.LDAPError as e:
            raise DirectoryDown(f"LDAP error {type(e).__name__}") from e

    def _search(self, conn: Any, base: str, filterstr: str, attrs: list[str]) -> list[
            tuple[str, dict[str, list[bytes]]]]:
        scope = _SCOPES[self.options.query_scope]
        if self.options.page_size <= 0:
            try:
                found = conn.search_s(base, scope, filterstr, attrs)
            except ldap.NO_SUCH_OBJECT:
                return []
            return [(dn, a) for dn, a in found if dn]
        # RFC 2696 paged results, as Keystone's page_size
        control = SimplePagedResultsControl(True, size=self.options.page_size, cookie="")
        out: list[tuple[str, dict[str, list[bytes]]]] = []
        while True:
            try:
                msgid = conn.search_ext(base, scope, filterstr, attrs, serverctrls=[control])
            except ldap.NO_SUCH_OBJECT:
                return out
            _, data, _, controls = conn.result3(msgid)
            out.extend((dn, a) for dn, a in data if dn)
            cookies = [c.cookie for c in controls
                       if c.controlType == SimplePagedResultsControl.controlType]
            if not cookies or not cookies[0]:
                return out
            control.cookie = cookies[0]

    # -- users --
    def _user_filter(self, extra: str = "") -> str:
        o = self.options
        return f"(&(objectClass={o.user_objectclass}){o.user_filter or ''}{extra})"

    def _user(self, dn: str, attrs: Mapping[str, list[bytes]]) -> Entry | None:
        o = self.options
        local_id = _first(attrs, o.user_id_attribute)
        name = _first(attrs, o.user_name_attribute)
        if local_id is None or name is None:
            return None  # not a usable user entry: Keystone skips it too
        raw = _first(attrs, o.user_enabled_attribute)
        if o.user_enabled_mask:
            value = int(raw if raw is not None else o.user_enabled_default)
            enabled = (value & o.user_enabled_mask) != o.user_enabled_mask
        else:
            text = raw if raw is not None else o.user_enabled_default
            enabled = text.strip().lower() == "true"
            if o.user_enabled_invert:
                enabled = not enabled
        return Entry(dn=dn, local_id=local_id, name=name, enabled=enabled,
                     email=_first(attrs, o.user_mail_attribute),
                     description=_first(attrs, o.user_description_attribute))

    def _user_attrs(self) -> list[str]:
        o = self.options
        return [o.user_id_attribute, o.user_name_attribute, o.user_mail_attribute,
                o.user_description_attribute, o.user_enabled_attribute]

    def _users(self, extra: str = "") -> list[Entry]:
        with self._connection(self.options.user, self.options.password) as conn:
            rows = self._search(conn, self.options.users_dn, self._user_filter(extra),
                                self._user_attrs())
        return [u for u in (self._user(dn, a) for dn, a in rows) if u is not None]

    async def users(self, name: str | None = None) -> list[Entry]:
        extra = ""
        if name is not None:
            extra = f"({self.options.user_name_attribute}={ldap.filter.escape_filter_chars(name)})"
        return await self._run(lambda: self._users(extra))

    async def user(self, local_id: str) -> Entry | None:
        extra = (f"({self.options.user_id_attribute}="
                 f"{ldap.filter.escape_filter_chars(local_id)})")
        found = await self._run(lambda: self._users(extra))
        return found[0] if found else None

    async def authenticate(self, dn: str, password: str) -> bool:
        """Whether binding as `dn` with `password` succeeds (an empty password never does:
        LDAP would take it as an anonymous bind)."""
        if not password:
            return False

        def bind() -> bool:
            try:
                with self._connection(dn, password):
                    return True
            except ldap.INVALID_CREDENTIALS:
                return False

        return await self._run(bind)

    # -- groups --
    def _group(self, dn: str, attrs: Mapping[str, list[bytes]]) -> Entry | None:
        o = self.options
        local_id = _first(attrs, o.group_id_attribute)
        if local_id is None:
            return None
        return Entry(dn=dn, local_id=local_id,
                     name=_first(attrs, o.group_name_attribute) or local_id,
                     description=_first(attrs, o.group_desc_attribute),
                     members=_all(attrs, o.group_member_attribute))

    def _groups(self, extra: str = "") -> list[Entry]:
        o = self.options
        with self._connection(o.user, o.password) as conn:
            rows = self._search(conn, o.groups_dn,
                                f"(&(objectClass={o.group_objectclass}){o.group_filter or ''}"
                                f"{extra})",
                                [o.group_id_attribute, o.group_name_attribute,
                                 o.group_desc_attribute, o.group_member_attribute])
        return [g for g in (self._group(dn, a) for dn, a in rows) if g is not None]

    async def groups(self, name: str | None = None) -> list[Entry]:
        extra = ""
        if name is not None:
            extra = f"({self.options.group_name_attribute}={ldap.filter.escape_filter_chars(name)})"
        return await self._run(lambda: self._groups(extra))

    async def group(self, local_id: str) -> Entry | None:
        extra = (f"({self.options.group_id_attribute}="
                 f"{ldap.filter.escape_filter_chars(local_id)})")
        found = await self._run(lambda: self._groups(extra))
        return found[0] if found else None

    async def groups_of(self, user: Entry) -> list[Entry]:
        """The groups whose member attribute names the user (by DN, or by id when
        `group_members_are_ids`)."""
        o = self.options
        member = user.local_id if o.group_members_are_ids else user.dn
        extra = f"({o.group_member_attribute}={ldap.filter.escape_filter_chars(member)})"
        return await self._run(lambda: self._groups(extra))

    def is_member(self, group: Entry, user: Entry) -> bool:
        if self.options.group_members_are_ids:
            return user.local_id in group.members
        wanted = _normal_dn(user.dn)
        return any(_normal_dn(m) == wanted for m in group.members)


def _normal_dn(dn: str) -> str:
    """A DN compared as LDAP compares them: attribute names and values case-insensitively,
    spaces around separators ignored."""
    try:
        return str(ldap.dn.dn2str(ldap.dn.str2dn(dn))).lower()
    except ldap.DECODING_ERROR:
        return dn.lower()
