"""OS-TRUST trusts: a trustor delegates some of its roles on a project to a trustee.

Created, listed, shown and deleted, with their roles; redelegated from a trust-scoped token
(`allow_redelegation`, `redelegation_count`, at most `[identity] max_redelegation_count`
deep); used to scope tokens (tokens.py asks `usable`, `token_roles` and `consume`).

A token made from an application credential can do nothing with trusts, restricted or not
(Keystone's `_check_application_credential`): an application credential is a delegation to
one project, and trusts would let it widen that.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.clock import as_utc, utcnow
from overcast.common.context import RequestContext
from overcast.identity.application_credentials import PAST_EXPIRY, parse_expiry
from overcast.identity.assignments import Assignments
from overcast.identity.models import Project, Role, Trust, User
from overcast.identity.policy import forbidden_action
from overcast.identity.roles import NULL_DOMAIN, close_over_implications
from overcast.identity.state import IdentityState

__all__ = ["TrustWithRoles", "Trusts"]


@dataclass(frozen=True)
class TrustWithRoles:
    trust: Trust
    roles: list[Role]


def _refuse_application_credential(ctx: RequestContext) -> None:
    if ctx.creds.app_cred_id is not None:
        raise forbidden_action(
            "Using method 'application_credential' is not allowed for managing trusts.")


def _target(t: Trust) -> dict[str, Any]:
    return {"trust": {"id": t.id, "trustor_user_id": t.trustor_user_id,
                      "trustee_user_id": t.trustee_user_id, "project_id": t.project_id}}


class Trusts:
    def __init__(self, state: IdentityState, assignments: Assignments):
        self.state = state
        self.assignments = assignments

    @staticmethod
    async def _get(s: AsyncSession, trust_id: str) -> Trust:
        trust = await s.get(Trust, trust_id)
        if trust is None or trust.deleted_at is not None:
            raise faults.NotFound(f"Could not find trust: {trust_id}.")
        return trust

    @staticmethod
    async def _roles(s: AsyncSession, trust: Trust) -> list[Role]:
        return list(await s.scalars(select(Role).where(Role.id.in_(trust.roles))))

    async def create(self, ctx: RequestContext, body: dict[str, Any]) -> TrustWithRoles:
        ctx.enforce("identity:create_trust", {"trust": body})
        _refuse_application_credential(ctx)
        for key in ("trustor_user_id", "trustee_user_id"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise faults.BadRequest(f"Invalid input for field '{key}'.")
        if not isinstance(body.get("impersonation"), bool):
            raise faults.BadRequest("Invalid input for field 'impersonation': a boolean.")
        expires_at = parse_expiry(body.get("expires_at"))
        if expires_at is not None and expires_at < utcnow():
            raise faults.BadRequest(PAST_EXPIRY)
        uses = body.get("remaining_uses")
        if uses is not None and (not isinstance(uses, int) or uses <= 0):
            raise faults.BadRequest("remaining_uses must be a positive integer or null.")
        project_id = body.get("project_id")
        wanted = body.get("roles") or []
        if not isinstance(wanted, list) or not all(isinstance(r, dict) for r in wanted):
            raise faults.BadRequest("Invalid role reference.")
        if project_id and not wanted:
            # Keystone refuses to delegate nothing on a project (keystone/api/trusts.py post)
            raise forbidden_action("At least one role should be specified")
        async with self.state.write() as s:
            for key in ("trustor_user_id", "trustee_user_id"):
                if await s.get(User, body[key]) is None:
                    raise faults.NotFound(f"Could not find user: {body[key]}.")
            role_ids: list[str] = []
            for ref in wanted:
                if ref.get("id"):
                    role_ids.append(str(ref["id"]))
                    continue
                # by name: a global role (Keystone's get_unique_role_by_name)
                rid = await s.scalar(select(Role.id).where(Role.name == ref.get("name"),
                                                            Role.domain_id == NULL_DOMAIN))
                if rid is None:
                    raise faults.NotFound(f"Role {ref.get('name')} is not defined")
                role_ids.append(rid)
            # A trust-scoped caller redelegates the trust its token carries.
            parent = await self.usable(s, ctx.creds.trust_id) if ctx.creds.trust_id else None
            chain = await self.pedigree(s, parent) if parent else []
            # Each role must be one the (original) trustor holds on the project; with no
            # project there is none to hold. Keystone answers a role that is not held as one
            # not found (_require_trustor_has_role_in_project), domain-specific roles counted.
            held: set[str] = set()
            if project_id:
                if await s.get(Project, project_id) is None:
                    raise faults.NotFound(f"Could not find project: {project_id}.")
                origin = chain[-1] if chain else None
                held = await self.assignments.effective_role_ids(
                    s, origin.trustor_user_id if origin else body["trustor_user_id"],
                    project_id=origin.project_id if origin and origin.project_id else project_id,
                    strip_domain_roles=False)
            for rid in role_ids:
                if rid not in held:
                    raise faults.NotFound(f"Could not find role: {rid}.")
            role_ids = list(dict.fromkeys(role_ids))
            extra = {k: v for k, v in body.items() if k not in (
                "trustor_user_id", "trustee_user_id", "project_id", "impersonation",
                "expires_at", "remaining_uses", "roles", "allow_redelegation",
                "redelegation_count", "id", "links")}
            trust = Trust(trustor_user_id=body["trustor_user_id"],
                          trustee_user_id=body["trustee_user_id"], project_id=project_id,
                          impersonation=body["impersonation"], expires_at=expires_at,
                          remaining_uses=uses,
                          allow_redelegation=bool(body.get("allow_redelegation", False)),
                          roles=role_ids, extra=extra)
            self._redelegation(trust, body.get("redelegation_count"), parent, chain)
            s.add(trust)
            await s.flush()
            roles = await self._roles(s, trust)
        return TrustWithRoles(trust, roles)

    async def show(self, ctx: RequestContext, trust_id: str) -> TrustWithRoles:
        async with self.state.db.read() as s:
            trust = await self._get(s, trust_id)
            ctx.enforce("identity:get_trust", _target(trust))
            _refuse_application_credential(ctx)
            return TrustWithRoles(trust, await self._roles(s, trust))

    async def list(self, ctx: RequestContext, trustor_user_id: str | None = None,
                   trustee_user_id: str | None = None) -> builtins.list[Trust]:
        """Every trust for whom list_trusts allows; a party's own trusts for whom the
        trustor (or trustee) rule allows, as Keystone decides by the filter given."""
        if trustor_user_id:
            ctx.enforce("identity:list_trusts_for_trustor",
                        {"trust": {"trustor_user_id": trustor_user_id}})
        elif trustee_user_id:
            ctx.enforce("identity:list_trusts_for_trustee",
                        {"trust": {"trustee_user_id": trustee_user_id}})
        else:
            ctx.enforce("identity:list_trusts")
        _refuse_application_credential(ctx)
        q = select(Trust).where(Trust.deleted_at.is_(None))
        if trustor_user_id:
            q = q.where(Trust.trustor_user_id == trustor_user_id)
        if trustee_user_id:
            q = q.where(Trust.trustee_user_id == trustee_user_id)
        async with self.state.db.read() as s:
            return list(await s.scalars(q))

    async def roles(self, ctx: RequestContext, trust_id: str) -> builtins.list[Role]:
        async with self.state.db.read() as s:
            trust = await self._get(s, trust_id)
            ctx.enforce("identity:list_roles_for_trust", _target(trust))
            _refuse_application_credential(ctx)
            return await self._roles(s, trust)

    async def role(self, ctx: RequestContext, trust_id: str, role_id: str) -> Role:
        async with self.state.db.read() as s:
            trust = await self._get(s, trust_id)
            ctx.enforce("identity:get_role_for_trust", _target(trust))
            _refuse_application_credential(ctx)
            role = await s.get(Role, role_id) if role_id in trust.roles else None
        if role is None:
            raise faults.NotFound(f"Could not find role: {role_id}.")
        return role

    async def delete(self, ctx: RequestContext, trust_id: str) -> None:
        """Delete a trust and every trust redelegated from it (Keystone's delete_trust);
        their tokens stop validating (the write drops the token cache; validation re-reads)."""
        async with self.state.write() as s:
            trust = await self._get(s, trust_id)
            ctx.enforce("identity:delete_trust", _target(trust))
            _refuse_application_credential(ctx)
            now = utcnow()
            doomed = [trust]
            while doomed:
                t = doomed.pop()
                t.deleted_at = now
                doomed.extend(await s.scalars(select(Trust).where(
                    Trust.redelegated_trust_id == t.id, Trust.deleted_at.is_(None))))

    # -- redelegation (keystone/trust/core.py) --
    def _forbidden(self, why: str) -> faults.Forbidden:
        """Keystone's Forbidden: its reason shown only with insecure_debug."""
        if self.state.config.default.insecure_debug:
            return faults.Forbidden(f"{why} (Disable insecure_debug mode to suppress these "
                                    "details.)")
        return faults.Forbidden("You are not authorized to perform the requested action.")

    def _redelegation(self, trust: Trust, requested: int | None, parent: Trust | None,
                      chain: builtins.list[Trust]) -> None:
        """Set the new trust's redelegation_count and redelegated_trust_id, refusing what
        Keystone refuses: a depth above max_redelegation_count, remaining_uses on a
        redelegatable trust, and a redelegation that widens its parent (longer life, more
        roles, impersonation, or a count it does not inherit)."""
        most = self.state.config.identity.max_redelegation_count
        redelegatable = trust.allow_redelegation and requested != 0
        count: int | None
        if not redelegatable:
            count = 0
        else:
            if requested and requested > most:
                raise self._forbidden(f"Requested redelegation depth of {requested} is greater "
                                      f"than allowed {most}")
            if trust.remaining_uses is not None:
                raise faults.BadRequest("remaining_uses must not be set if redelegation is "
                                        "allowed")
            count = requested
        if parent is not None:
            trust.redelegated_trust_id = parent.id
            remaining = (parent.redelegation_count or 0) - 1
            if redelegatable and requested and requested != remaining:
                raise self._forbidden('Modifying "redelegation_count" upon redelegation is '
                                      'forbidden. Omitting this parameter is advised.')
            if count is None:
                count = remaining
            for ancestor in chain:
                self._check_redelegation(ancestor, trust)
        trust.redelegation_count = most if count is None else count

    def _check_redelegation(self, parent: Trust, child: Trust) -> None:
        most = self.state.config.identity.max_redelegation_count
        depth = parent.redelegation_count or 0
        if not 0 < depth <= most:
            raise self._forbidden(f"Remaining redelegation depth of {depth} out of allowed "
                                  f"range of [0..{most}]")
        if child.remaining_uses is not None:
            raise self._forbidden(f'Field "remaining_uses" is set to {child.remaining_uses} '
                                  "while it must not be set in order to redelegate a trust")
        if child.expires_at is None:
            child.expires_at = parent.expires_at
        elif parent.expires_at is not None and as_utc(parent.expires_at) < as_utc(child.expires_at):
            raise self._forbidden("Requested expiration time is more than redelegated trust "
                                  "can provide")
        if not set(child.roles) <= set(parent.roles):
            raise self._forbidden("Some of requested roles are not in redelegated trust")
        if child.impersonation and not parent.impersonation:
            raise self._forbidden("Impersonation is not allowed because redelegated trust does "
                                  f"not specify impersonation. Redelegated trust id: {parent.id}")

    @staticmethod
    async def pedigree(s: AsyncSession, trust: Trust) -> builtins.list[Trust]:
        """The trust and the trusts it was redelegated from, back to the first one."""
        chain = [trust]
        while chain[-1].redelegated_trust_id and len(chain) <= 64:
            parent = await s.get(Trust, chain[-1].redelegated_trust_id)
            if parent is None or parent.deleted_at is not None:
                raise faults.NotFound(f"Could not find trust: {chain[-1].redelegated_trust_id}.")
            chain.append(parent)
        return chain

    # -- trust-scoped tokens --
    @staticmethod
    async def usable(s: AsyncSession, trust_id: str) -> Trust:
        """A trust that can scope a token now: not deleted, not expired, uses left
        (Keystone's get_trust answers TrustNotFound otherwise)."""
        trust = await s.get(Trust, trust_id)
        if (trust is None or trust.deleted_at is not None
                or (trust.expires_at is not None and as_utc(trust.expires_at) < utcnow())
                or (trust.remaining_uses is not None and trust.remaining_uses <= 0)):
            raise faults.NotFound(f"Could not find trust: {trust_id}.")
        return trust

    async def token_roles(self, s: AsyncSession, trust: Trust) -> set[str] | None:
        """The role ids a token scoped to the trust carries: the trust's roles and those they
        imply, all of which the (original) trustor must still hold on the project, global
        roles only (Keystone's _get_trust_roles); None when the trustor lost one, or a
        trustee on the way is disabled or gone: the trust no longer gives anything."""
        chain = await self.pedigree(s, trust)
        for parent, child in zip(chain[1:], chain, strict=False):
            self._check_redelegation_for_token(parent, child)
            trustee = await s.get(User, parent.trustee_user_id)
            if trustee is None or not trustee.enabled:
                return None
        origin = chain[-1]
        implications, domain_roles = await self.assignments.role_graph(s)
        wanted = close_over_implications(set(trust.roles), implications)
        if not trust.project_id:
            return set()
        held = await self.assignments.effective_role_ids(
            s, origin.trustor_user_id, project_id=trust.project_id, strip_domain_roles=False)
        if not wanted <= held:
            return None
        return wanted - domain_roles

    def _check_redelegation_for_token(self, parent: Trust, child: Trust) -> None:
        if child.expires_at is not None and parent.expires_at is not None and \
                as_utc(parent.expires_at) < as_utc(child.expires_at):
            raise faults.NotFound(f"Could not find trust: {child.id}.")
        if not set(child.roles) <= set(parent.roles):
            raise faults.NotFound(f"Could not find trust: {child.id}.")

    async def consume(self, trust_id: str) -> None:
        """Spend one of a limited trust's uses, once its token is made (Keystone's
        consume_use): a compare-and-set, so two logins racing for the last use get one token."""
        for _ in range(10):
            async with self.state.write() as s:
                uses = await s.scalar(select(Trust.remaining_uses).where(
                    Trust.id == trust_id, Trust.deleted_at.is_(None)))
                if uses is None:
                    return
                if uses <= 0:
                    raise faults.NotFound(f"Could not find trust: {trust_id}.")
                done = await s.execute(update(Trust).where(
                    Trust.id == trust_id, Trust.remaining_uses == uses).values(
                    remaining_uses=uses - 1))
                if getattr(done, "rowcount", 0) == 1:
                    return
        raise faults.Conflict("The trust is being used by too many logins at once.")
