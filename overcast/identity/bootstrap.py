"""`overcast bootstrap`: the first domain, project, admin user, roles, region and catalog entry.

Idempotent, as keystone-manage bootstrap: what exists is left alone, except that a given
admin password is (re)set, so running it again is how an operator recovers the admin login,
and that a cloud made before Keystone's `manager` role gets it (and its place in the role
chain) on the next bootstrap.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, select, update

from overcast.common.clock import utcnow
from overcast.identity.assignments import SYSTEM
from overcast.identity.models import (
    Assignment,
    Domain,
    Endpoint,
    ImpliedRole,
    Project,
    Region,
    Revision,
    Role,
    Service,
    User,
)
from overcast.identity.service import Identity

__all__ = ["bootstrap", "ensure_role", "ensure_service_user", "register_service"]

log = logging.getLogger(__name__)

DEFAULT_ROLES = ("admin", "manager", "member", "reader", "service")
#: Keystone 30's bootstrap chain (keystone/cmd/bootstrap.py): admin ⇒ manager ⇒ member ⇒ reader.
IMPLICATIONS = (("admin", "manager"), ("manager", "member"), ("member", "reader"))


async def bootstrap(identity: Identity, admin_password: str | None) -> None:
    """Create what a fresh cloud needs; set the admin password when one is given."""
    state = identity.state
    state.keys.setup()
    # Credential blobs have their own keys (Keystone's credential_setup), made on first start.
    state.credential_keys.setup()
    hashed = await state.hasher.hash(admin_password) if admin_password else None
    async with state.db.transaction() as s:
        if await s.get(Revision, 1) is None:
            s.add(Revision(id=1, value=0))
        if await s.get(Domain, "default") is None:
            s.add(Domain(id="default", name="Default", description="The default domain",
                         enabled=True, extra={}, tags=[]))
        await s.flush()
        roles: dict[str, str] = {}
        for name in DEFAULT_ROLES:
            rid = await s.scalar(select(Role.id).where(Role.name == name,
                                                        Role.domain_id == "<<null>>"))
            if rid is None:
                # Immutable, as keystone-manage bootstrap makes them unless told
                # --no-immutable-roles; a role that exists already is left as it is.
                role = Role(name=name, extra={}, options={"immutable": True})
                s.add(role)
                await s.flush()
                rid = role.id
            roles[name] = rid
        for prior, implied in IMPLICATIONS:
            if await s.get(ImpliedRole, (roles[prior], roles[implied])) is None:
                s.add(ImpliedRole(prior_role_id=roles[prior], implied_role_id=roles[implied]))
        # A cloud bootstrapped before `manager` existed has admin ⇒ member: admin now reaches
        # member through manager, so the direct rule goes (Keystone's _bootstrap_admin_role).
        await s.execute(delete(ImpliedRole).where(
            ImpliedRole.prior_role_id == roles["admin"],
            ImpliedRole.implied_role_id == roles["member"]))
        project_ids = {}
        for name, desc in (("admin", "Bootstrap project for the cloud administrator"),
                           ("service", "Project of the cloud's own service users")):
            pid = await s.scalar(select(Project.id).where(Project.name == name,
                                                           Project.domain_id == "default"))
            if pid is None:
                project = Project(name=name, domain_id="default", description=desc,
                                  enabled=True, extra={}, tags=[])
                s.add(project)
                await s.flush()
                pid = project.id
            project_ids[name] = pid
        admin = await s.scalar(select(User).where(User.name == "admin",
                                                  User.domain_id == "default"))
        if admin is None:
            admin = User(name="admin", domain_id="default", enabled=True, extra={}, options={})
            s.add(admin)
            await s.flush()
        if hashed:
            admin.password_hash = hashed
            admin.password_created_at = utcnow()
        for kind, target in (("UserProject", project_ids["admin"]), ("UserSystem", SYSTEM)):
            key = (kind, admin.id, target, roles["admin"], False)
            if await s.get(Assignment, key) is None:
                s.add(Assignment(type=kind, actor_id=admin.id, target_id=target,
                                 role_id=roles["admin"], inherited=False))
        region = identity.config.default.region
        if await s.get(Region, region) is None:
            s.add(Region(id=region, description="", extra={}))
        await s.flush()
        await s.execute(update(Revision).values(value=Revision.value + 1))
    await register_service(identity, "identity", "keystone", "OpenStack Identity",
                           f"{identity.config.public_url('identity')}/v3")
    state.hasher.forget(admin.id)
    # Rows stored in plain text before blobs were encrypted are sealed on the first start
    # after the upgrade; rows under an older key wait for `overcast credential migrate`.
    sealed = await identity.credentials.migrate(plaintext_only=True)
    if sealed:
        log.info("encrypted %d credential blobs stored in plain text", sealed)


async def register_service(identity: Identity, type: str, name: str, description: str,
                           url: str) -> None:
    """Put a service with public, internal and admin endpoints at `url` in the catalog, or
    move its endpoints to `url` when it is already there."""
    region = identity.config.default.region
    async with identity.state.write() as s:
        service = await s.scalar(select(Service).where(Service.type == type))
        if service is None:
            service = Service(type=type, enabled=True,
                              extra={"name": name, "description": description})
            s.add(service)
            await s.flush()
        existing = {e.interface: e for e in await s.scalars(
            select(Endpoint).where(Endpoint.service_id == service.id))}
        for interface in ("public", "internal", "admin"):
            ep = existing.get(interface)
            if ep is None:
                s.add(Endpoint(service_id=service.id, interface=interface, url=url,
                               region_id=region, enabled=True, extra={}))
            elif ep.url != url:
                ep.url = url


async def ensure_service_user(identity: Identity, name: str, password: str,
                              roles: tuple[str, ...] = ("admin", "service"),
                              project: str = "service") -> str:
    """A service user (the guides' `openstack user create --domain default placement` and
    `openstack role add --project service --user placement admin`), idempotent: an existing
    user keeps its password unless it no longer matches `password`. Returns the user id."""
    state = identity.state
    async with state.db.transaction() as s:
        pid = await s.scalar(select(Project.id).where(Project.name == project,
                                                      Project.domain_id == "default"))
        if pid is None:
            raise RuntimeError(f"project {project!r} is missing: run bootstrap first")
        user = await s.scalar(select(User).where(User.name == name, User.domain_id == "default"))
        if user is None:
            user = User(name=name, domain_id="default", enabled=True, extra={}, options={})
            s.add(user)
            await s.flush()
        if not await state.hasher.verify(user.id, password, user.password_hash):
            user.password_hash = await state.hasher.hash(password)
            user.password_created_at = utcnow()
        for role_name in roles:
            rid = await s.scalar(select(Role.id).where(Role.name == role_name,
                                                        Role.domain_id == "<<null>>"))
            if rid is None:
                continue
            key = ("UserProject", user.id, pid, rid, False)
            if await s.get(Assignment, key) is None:
                s.add(Assignment(type="UserProject", actor_id=user.id, target_id=pid,
                                 role_id=rid, inherited=False))
        await s.flush()
        await s.execute(update(Revision).values(value=Revision.value + 1))
        user_id = user.id
    state.hasher.forget(user_id)
    return user_id
async def ensure_role(identity: Identity, name: str) -> None:
    """A global role a service needs (Swift's ResellerAdmin), made if it does not exist."""
    async with identity.state.write() as s:
        if await s.scalar(select(Role.id).where(Role.name == name,
                                                Role.domain_id == "<<null>>")) is None:
            s.add(Role(name=name, extra={}, options={}))
