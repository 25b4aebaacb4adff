"""Domain-specific configuration (/v3/domains/{domain_id}/config): per-domain overrides of the
`identity` and `ldap` options, as Keystone keeps them. Only Keystone's whitelisted options are
accepted; sensitive ones (the LDAP password) are stored but never returned. Anything else is
refused with 403, Keystone's InvalidDomainConfig. `[identity] driver = ldap` with the `[ldap]`
options makes the domain read its users and groups from LDAP (directory.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.context import RequestContext
from overcast.identity.models import Domain, DomainConfig
from overcast.identity.state import IdentityState

__all__ = ["SENSITIVE", "WHITELISTED", "DomainConfigs"]

# Keystone's defaults (keystone/conf/ldap.py) of the whitelisted ldap options.
LDAP_DEFAULTS: dict[str, Any] = {
    "url": "ldap://localhost", "user": None, "suffix": "cn=example,cn=com",
    "query_scope": "one", "page_size": 0, "alias_dereferencing": "default",
    "debug_level": None, "chase_referrals": None, "user_tree_dn": None, "user_filter": None,
    "user_objectclass": "inetOrgPerson", "user_id_attribute": "cn",
    "user_name_attribute": "sn", "user_mail_attribute": "mail",
    "user_description_attribute": "description", "user_pass_attribute": "userPassword",
    "user_enabled_attribute": "enabled", "user_enabled_invert": False, "user_enabled_mask": 0,
    "user_enabled_default": "True", "user_attribute_ignore": ["default_project_id"],
    "user_default_project_id_attribute": None, "user_enabled_emulation": False,
    "user_enabled_emulation_dn": None, "user_enabled_emulation_use_group_config": False,
    "user_additional_attribute_mapping": [], "group_tree_dn": None, "group_filter": None,
    "group_objectclass": "groupOfNames", "group_id_attribute": "cn",
    "group_name_attribute": "ou", "group_members_are_ids": False,
    "group_member_attribute": "member", "group_desc_attribute": "description",
    "group_attribute_ignore": [], "group_additional_attribute_mapping": [],
    "tls_cacertfile": None, "tls_cacertdir": None, "use_tls": False, "tls_req_cert": "demand",
    "use_pool": True, "pool_size": 10, "pool_retry_max": 3, "pool_retry_delay": 0.1,
    "pool_connection_timeout": -1, "pool_connection_lifetime": 600, "use_auth_pool": True,
    "auth_pool_size": 100, "auth_pool_connection_lifetime": 60,
}
WHITELISTED: dict[str, tuple[str, ...]] = {
    "identity": ("driver", "list_limit"),
    "ldap": tuple(LDAP_DEFAULTS),
}
SENSITIVE: dict[str, tuple[str, ...]] = {"identity": (), "ldap": ("password",)}


def _invalid(reason: str) -> faults.Forbidden:
    return faults.Forbidden(f"Invalid domain specific configuration: {reason}.")


def _check(group: str | None, option: str | None = None) -> None:
    """A group and option Keystone supports for domain-specific configuration, or 403."""
    if group is None:
        return
    if group not in WHITELISTED and group not in SENSITIVE:
        raise _invalid(f"Group {group} is not supported for domain specific configurations")
    if option is not None and option not in WHITELISTED[group] + SENSITIVE[group]:
        raise _invalid(f"Option {option} in group {group} is not supported for domain "
                       "specific configurations")


def _check_config(config: dict[str, Any]) -> None:
    if not config:
        raise _invalid("No options specified")
    for group, options in config.items():
        if not options or not isinstance(options, dict):
            raise _invalid(f"The value of group {group} specified in the config should be a "
                           "dictionary of options")
        for option in options:
            _check(group, option)


def _not_found(domain_id: str, group: str | None, option: str | None) -> faults.NotFound:
    what = (f"option {option} in group {group}" if option else
            f"group {group}" if group else "any options")
    return faults.NotFound(f"Could not find {what} in domain configuration for domain "
                           f"{domain_id}.")


def _as_config(rows: list[DomainConfig]) -> dict[str, dict[str, Any]]:
    config: dict[str, dict[str, Any]] = {}
    for row in rows:
        config.setdefault(row.group, {})[row.option] = row.value["v"]
    return config


class DomainConfigs:
    def __init__(self, state: IdentityState):
        self.state = state

    @staticmethod
    async def _domain(s: AsyncSession, domain_id: str) -> None:
        if await s.get(Domain, domain_id) is None:
            raise faults.NotFound(f"Could not find domain: {domain_id}.")

    @staticmethod
    async def _rows(s: AsyncSession, domain_id: str, group: str | None = None,
                    option: str | None = None, *, sensitive: bool = False) -> list[DomainConfig]:
        """The domain's options, only the returnable ones unless `sensitive`."""
        q = select(DomainConfig).where(DomainConfig.domain_id == domain_id)
        if group is not None:
            q = q.where(DomainConfig.group == group)
        if option is not None:
            q = q.where(DomainConfig.option == option)
        if not sensitive:
            q = q.where(DomainConfig.sensitive.is_(False))
        rows = list(await s.scalars(q))
        return sorted(rows, key=lambda r: (r.group, r.option))

    async def _merge(self, s: AsyncSession, domain_id: str, config: dict[str, dict[str, Any]],
                     *, replace: bool) -> None:
        """Set the options of `config`; with `replace`, drop every other option too."""
        existing = {(r.group, r.option): r
                    for r in await self._rows(s, domain_id, sensitive=True)}
        for group, options in config.items():
            for option, value in options.items():
                row = existing.pop((group, option), None)
                if row is None:
                    s.add(DomainConfig(domain_id=domain_id, group=group, option=option,
                                       value={"v": value},
                                       sensitive=option in SENSITIVE.get(group, ())))
                else:
                    row.value = {"v": value}
        if replace:
            for row in existing.values():
                await s.delete(row)
        await s.flush()

    async def create(self, ctx: RequestContext, domain_id: str,
                     config: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Replace the domain's whole configuration; the returnable result, and whether the
        domain had none before (201 rather than 200)."""
        ctx.enforce("identity:create_domain_config")
        async with self.state.write() as s:
            await self._domain(s, domain_id)
            _check_config(config)
            had = bool(await self._rows(s, domain_id, sensitive=True))
            await self._merge(s, domain_id, config, replace=True)
            result = _as_config(await self._rows(s, domain_id))
        return result, not had

    async def show(self, ctx: RequestContext, domain_id: str, group: str | None = None,
                   option: str | None = None) -> dict[str, Any]:
        ctx.enforce("identity:get_domain_config")
        _check(group, option)
        async with self.state.db.read() as s:
            await self._domain(s, domain_id)
            rows = await self._rows(s, domain_id, group, option)
        if not rows:
            raise _not_found(domain_id, group, option)
        if option is not None:
            return {option: rows[0].value["v"]}
        return _as_config(rows)

    async def update(self, ctx: RequestContext, domain_id: str, config: dict[str, Any],
                     group: str | None = None, option: str | None = None) -> dict[str, Any]:
        """Merge `config` into the domain's; with a group (and option) in the URL only that
        group (option) may be named, and it must exist already."""
        ctx.enforce("identity:update_domain_config")
        if group is not None and option is not None:
            config = {group: config}
        async with self.state.write() as s:
            await self._domain(s, domain_id)
            _check_config(config)
            _check(group, option)
            if group is not None:
                if len(config) != 1 or (option is not None and len(config[group]) != 1):
                    what = f"option {option} in group {group}" if option else f"group {group}"
                    raise _invalid(f"Trying to update {what}, so that, and only that, "
                                   f"{'option' if option else 'group'} must be specified in "
                                   "the config")
                if group not in config:
                    raise _invalid(f"request to update group {group}, but config provided "
                                   f"contains group {next(iter(config))} instead")
                if option is not None and option not in config[group]:
                    raise _invalid(f"Trying to update option {option} in group {group}, but "
                                   f"config provided contains option "
                                   f"{next(iter(config[group]))} instead")
                if not await self._rows(s, domain_id, group, option, sensitive=True):
                    raise _not_found(domain_id, group, option)
            await self._merge(s, domain_id, config, replace=False)
            result = _as_config(await self._rows(s, domain_id))
        return result

    async def delete(self, ctx: RequestContext, domain_id: str, group: str | None = None,
                     option: str | None = None) -> None:
        ctx.enforce("identity:delete_domain_config")
        async with self.state.write() as s:
            await self._domain(s, domain_id)
            _check(group, option)
            rows = await self._rows(s, domain_id, group, option, sensitive=True)
            if group is not None and not rows:
                raise _not_found(domain_id, group, option)
            for row in rows:
                await s.delete(row)

    def defaults(self, ctx: RequestContext, group: str | None = None,
                 option: str | None = None) -> dict[str, Any]:
        """Keystone's defaults of the whitelisted options (/v3/domains/config/default)."""
        ctx.enforce("identity:get_domain_config_default")
        _check(group, option)
        identity = {"driver": "sql", "list_limit": self.state.config.identity.list_limit or None}
        values = {"identity": identity, "ldap": LDAP_DEFAULTS}
        if option is not None:
            if option not in WHITELISTED[group or ""]:
                raise _invalid(f"Reading the default for option {option} in group {group} is "
                               "not supported")
            return {option: values[group or ""][option]}
        if group is not None:
            return {group: dict(values[group])}
        return {g: dict(v) for g, v in values.items()}
