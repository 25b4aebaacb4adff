"""Authentication and tokens: POST/GET/HEAD/DELETE /v3/auth/tokens, and token → Credentials.

Authenticate (password, token, application credential) ▶ pick the scope (project, domain,
system, none) ▶ check the user holds a role there ▶ Fernet-encode a payload. Validation
decrypts, checks expiry and the revocation index, and rebuilds the body from the database;
bodies are cached per token until any identity write (see state.py).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.auth import credentials_from_token
from overcast.common.clock import as_utc, epoch, from_epoch
from overcast.common.context import RequestContext
from overcast.common.policy import Credentials
from overcast.identity import fernet
from overcast.identity.assignments import Assignments
from overcast.identity.catalog import Catalog
from overcast.identity.directory import AuthFailed, Directory
from overcast.identity.models import ApplicationCredential, Domain, Project, Role, User
from overcast.identity.state import IdentityState

__all__ = ["AuthRequest", "InvalidToken", "Tokens", "iso"]

AUTH_FAILED = "The request you have made requires authentication."
#: Appended to the reason of an authentication failure with insecure_debug (Keystone's).
INSECURE_DEBUG = "(Disable insecure_debug mode to suppress these details.)"


def iso(ts: float | datetime | None) -> str | None:
    """Keystone's timestamp format: 2026-11-21T23:28:45.000000Z."""
    if ts is None:
        return None
    dt = as_utc(ts) if isinstance(ts, datetime) else from_epoch(ts)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _domain_ref(d: Domain) -> dict[str, str]:
    return {"id": d.id, "name": d.name}


@dataclass
class AuthRequest:
    """A parsed `{"auth": {...}}` body."""

    identity: dict[str, Any]
    methods: list[str]
    scope: dict[str, Any] | str | None

    @classmethod
    def parse(cls, auth: dict[str, Any]) -> AuthRequest:
        """The auth object of a body whose types were checked (api/schemas.py AuthBody): what
        JSON schema cannot say, with Keystone's messages (keystone/auth/schema.py, core.py)."""
        identity = auth["identity"]
        methods = identity["methods"]
        if not methods:
            raise _expecting("methods", "identity")
        for m in methods:
            if m not in ("password", "token", "application_credential"):
                raise faults.Unauthorized("Attempted to authenticate with an unsupported "
                                          "method.")
            if not isinstance(identity.get(m), dict):
                raise _expecting(m, "identity")
        user = identity.get("password", {}).get("user")
        if "password" in methods:
            if user is None:
                raise _expecting("user", "password")
            _id_or_name(user, "identity/password/user")
            if "id" not in user and "domain" not in user:
                raise _expecting("domain", "user")
            if "password" not in user:
                raise _expecting("password", "user")
        if user is not None and user.get("domain") is not None:
            _id_or_name(user["domain"], "identity/password/user/domain")
        app_cred = identity.get("application_credential")
        if app_cred is not None and "application_credential" in methods:
            if "secret" not in app_cred:
                raise _expecting("secret", "application_credential")
            if "id" not in app_cred:
                if "name" not in app_cred or "user" not in app_cred:
                    raise faults.BadRequest("Could not find Application Credential: "
                                            "name and user are needed without an id.")
                _id_or_name(app_cred["user"], "identity/application_credential/user")
                if "id" not in app_cred["user"]:
                    if "domain" not in app_cred["user"]:
                        raise _expecting("domain", "user")
                    _id_or_name(app_cred["user"]["domain"],
                                "identity/application_credential/user/domain")
        scope = auth.get("scope")
        if isinstance(scope, dict):
            if "unscoped" in scope and len(scope) == 1:
                scope = "unscoped"  # old keystoneauth's spelling
            else:
                project = scope.get("project")
                if project is not None:
                    _id_or_name(project, "scope/project")
                    if "id" not in project:
                        if "domain" not in project:
                            raise _expecting("domain", "project")
                        _id_or_name(project["domain"], "scope/project/domain")
                if scope.get("domain") is not None:
                    _id_or_name(scope["domain"], "scope/domain")
        elif scope is not None and scope != "unscoped":
            raise faults.BadRequest(f"Invalid input for field 'scope': {scope!r} is not "
                                    "'unscoped'")
        return cls(identity, methods, scope)


def _expecting(attribute: str, target: str) -> faults.BadRequest:
    """Keystone's ValidationError text."""
    return faults.BadRequest(
        f"Expecting to find {attribute} in {target}. The server could not comply with the "
        "request since it is either malformed or otherwise incorrect. The client is assumed "
        "to be in error.")


def _id_or_name(ref: dict[str, Any], field: str) -> None:
    if "id" not in ref and "name" not in ref:
        raise faults.BadRequest(f"Invalid input for field {field}: id or name must be present.")


class InvalidToken(faults.Unauthorized):
    """A token that does not validate: a 401 to whoever bears it. `subject` is what Keystone
    answers (404) when the token is instead the X-Subject-Token of /v3/auth/tokens; None where
    Keystone gives its catch-all "Could not find token"."""

    def __init__(self, message: str, subject: str | None = None):
        super().__init__(message)
        self.subject = subject


#: Keystone's 404 for an expired or revoked subject token (keystone/token/provider.py).
FAILED_TO_VALIDATE = "Failed to validate token"


@dataclass
class Validated:
    """A valid token: what it says and the body that describes it."""

    payload: fernet.TokenPayload
    body: dict[str, Any]
    credentials: Credentials


class Tokens:
    def __init__(self, state: IdentityState, assignments: Assignments, catalog: Catalog,
                 directory: Directory):
        self.state = state
        self.assignments = assignments
        self.catalog = catalog
        self.directory = directory

    def _refused(self, why: str, *, subject: str | None = None) -> InvalidToken:
        """An authentication failure: Keystone's one generic message, whatever the cause
        (which user, project or domain exists is nobody's business), unless `[DEFAULT]
        insecure_debug` asks to say why (Keystone's SecurityError). `subject`: the message
        when the token was a subject token (InvalidToken)."""
        if self.state.config.default.insecure_debug:
            return InvalidToken(f"{why} {INSECURE_DEBUG}", subject)
        return InvalidToken(AUTH_FAILED, subject)

    # -- issue --
    async def issue(self, auth: dict[str, Any], *,
                    nocatalog: bool = False) -> tuple[str, dict[str, Any]]:
        """POST /v3/auth/tokens: authenticate the `auth` object, pick the scope, make a token;
        the token and its body."""
        req = AuthRequest.parse(auth)
        await self.state.fresh()  # role graph and catalog caches must reflect other workers' writes
        now = time.time()
        # Whole seconds, as Keystone's: the issued and the validated body must agree exactly.
        expires = float(int(now + self.state.config.identity.token_expiration))
        audit_ids: tuple[str, ...] = (fernet.new_audit_id(),)
        user_id: str | None = None
        app_cred: ApplicationCredential | None = None
        scope = req.scope
        methods = list(req.methods)

        if "token" in req.methods:
            # Fully validated, domain revocation events included (they match the user's and
            # the project's domains, which only the body knows): a token a disabled domain
            # revoked must not be traded for a new one once the domain is enabled again.
            prior = (await self.validate(str(req.identity["token"].get("id", "")))).payload
            if prior.app_cred_id:
                raise faults.Forbidden("Cannot rescope a token made with an application credential.")
            user_id = prior.user_id
            expires = prior.expires_at  # a derived token never outlives its parent
            audit_ids = (audit_ids[0], prior.audit_ids[0])
            methods = [m for m in prior.methods if m != "token"] + ["token"]
            methods = list(dict.fromkeys(methods))
            if prior.project_id or prior.domain_id or prior.system:
                if scope is None:
                    scope = _scope_of(prior)
        if "password" in req.methods:
            pw_user = await self._password_user(req.identity["password"])
            if user_id is not None and pw_user != user_id:
                raise self._refused("The password and the token name different users.")
            user_id = pw_user
        if "application_credential" in req.methods:
            app_cred = await self._app_cred(req.identity["application_credential"])
            if user_id is not None and app_cred.user_id != user_id:
                raise self._refused("The application credential is another user's.")
            user_id = app_cred.user_id
            if scope not in (None, "unscoped"):
                raise self._refused("Application credentials cannot request a scope.")
            scope = {"project": {"id": app_cred.project_id}}
            if app_cred.expires_at is not None:
                expires = min(expires, float(int(epoch(app_cred.expires_at))))
        assert user_id is not None

        async with self.state.db.read() as s:
            user = await s.get(User, user_id)
            if user is None:
                raise self._refused(f"Could not find user: {user_id}.")
            if not user.enabled:
                raise self._refused(f"The account is disabled for user: {user.id}.")
            domain = await s.get(Domain, user.domain_id)
            if domain is None or not domain.enabled:
                raise self._refused(f"The user's domain {user.domain_id} is disabled.")
            if scope is None and user.default_project_id:
                project = await s.get(Project, user.default_project_id)
                if project is not None and project.enabled and await self.assignments.effective_role_ids(
                        s, user.id, project_id=project.id):
                    scope = {"project": {"id": project.id}}
            fields, roles = await self._resolve_scope(s, user, scope)
            payload = fernet.TokenPayload(
                user_id=user.id, methods=tuple(methods), expires_at=expires, issued_at=now,
                audit_ids=audit_ids, app_cred_id=app_cred.id if app_cred else None, **fields)
            # Same session: the rows just read come from its identity map, not the database.
            body = await self._body(payload, nocatalog=nocatalog, session=s, role_ids=roles)
        token = fernet.encode(self.state.keys.fernet(), payload)
        body.pop("_credentials")
        return token, body

    async def _password_user(self, password: dict[str, Any]) -> str:
        user_ref = password.get("user")
        if not isinstance(user_ref, dict):
            raise faults.BadRequest("Expecting to find user in password.")
        secret = user_ref.get("password")
        if not isinstance(secret, str):
            raise faults.BadRequest("Expecting to find password in user.")
        try:  # a user of an LDAP-backed domain: LDAP checks the password (directory.py)
            ldap_user = await self.directory.password_user(user_ref, secret)
        except AuthFailed as e:
            raise self._refused(str(e)) from e
        if ldap_user is not None:
            return ldap_user
        async with self.state.db.read() as s:
            user = await self._find_user(s, user_ref)
        if user is None:
            raise self._refused("Could not find user: "
                                f"{user_ref.get('id') or user_ref.get('name')}.")
        if not await self.state.hasher.verify(user.id, secret, user.password_hash):
            raise self._refused(f"Invalid password for user {user.id}.")
        return user.id

    async def _find_user(self, s: AsyncSession, ref: dict[str, Any]) -> User | None:
        if ref.get("id"):
            return await s.get(User, str(ref["id"]))
        name = ref.get("name")
        domain = ref.get("domain")
        if not isinstance(name, str) or not isinstance(domain, dict):
            raise faults.BadRequest("A user is named by id, or by name and domain.")
        domain_id = await self._domain_id(s, domain)
        if domain_id is None:
            return None
        return await s.scalar(select(User).where(User.name == name, User.domain_id == domain_id))

    async def _domain_id(self, s: AsyncSession, ref: dict[str, Any]) -> str | None:
        if ref.get("id"):
            return str(ref["id"])
        if ref.get("name"):
            return await s.scalar(select(Domain.id).where(Domain.name == ref["name"]))
        raise faults.BadRequest("A domain is named by id or name.")

    async def _app_cred(self, ref: dict[str, Any]) -> ApplicationCredential:
        secret = ref.get("secret")
        if not isinstance(secret, str):
            raise faults.BadRequest("Expecting to find secret in application_credential.")
        async with self.state.db.read() as s:
            if ref.get("id"):
                cred = await s.get(ApplicationCredential, str(ref["id"]))
            else:
                user_ref = ref.get("user")
                if not isinstance(user_ref, dict) or not ref.get("name"):
                    raise faults.BadRequest(
                        "An application credential is named by id, or by name and user.")
                user = await self._find_user(s, user_ref)
                cred = None if user is None else await s.scalar(select(ApplicationCredential).where(
                    ApplicationCredential.user_id == user.id,
                    ApplicationCredential.name == ref["name"]))
        if cred is None:
            raise self._refused("Could not find Application Credential: "
                                f"{ref.get('id') or ref.get('name')}.")
        if cred.expires_at is not None and epoch(cred.expires_at) < time.time():
            raise self._refused("Error authenticating with application credential: "
                                "Application credential has expired.")
        if not await self.state.hasher.verify(f"appcred:{cred.id}", secret, cred.secret_hash):
            raise self._refused("Error authenticating with application credential: "
                                "Invalid application credential secret.")
        return cred

    async def _resolve_scope(self, s: AsyncSession, user: User, scope: dict[str, Any] | str | None,
                             ) -> tuple[dict[str, str | None], set[str]]:
        """The payload's scope fields and the user's effective roles there (none: unscoped)."""
        if scope is None or scope == "unscoped":
            return {}, set()
        assert isinstance(scope, dict)
        if "project" in scope:
            ref = scope["project"]
            if not isinstance(ref, dict):
                raise faults.BadRequest("Invalid project scope.")
            if ref.get("id"):
                project = await s.get(Project, str(ref["id"]))
            elif ref.get("name") and isinstance(ref.get("domain"), dict):
                domain_id = await self._domain_id(s, ref["domain"])
                project = await s.scalar(select(Project).where(
                    Project.name == ref["name"], Project.domain_id == domain_id))
            else:
                raise faults.BadRequest("A project is named by id, or by name and domain.")
            if project is None:
                raise self._refused(f"Could not find project: {ref.get('id') or ref.get('name')}.")
            domain = await s.get(Domain, project.domain_id)
            if not project.enabled or domain is None or not domain.enabled:
                raise self._refused(f"Project {project.id} is disabled.")
            roles = await self.assignments.effective_role_ids(s, user.id, project_id=project.id)
            if not roles:
                raise self._refused(
                    f"User {user.id} has no access to project {project.id}.")
            return {"project_id": project.id}, roles
        if "domain" in scope:
            ref = scope["domain"]
            if not isinstance(ref, dict):
                raise faults.BadRequest("Invalid domain scope.")
            domain_id = await self._domain_id(s, ref)
            domain = await s.get(Domain, domain_id) if domain_id else None
            if domain is None:
                raise self._refused(f"Could not find domain: {ref.get('id') or ref.get('name')}.")
            if not domain.enabled:
                raise self._refused(f"Domain {domain.id} is disabled.")
            roles = await self.assignments.effective_role_ids(s, user.id, domain_id=domain.id)
            if not roles:
                raise self._refused(f"User {user.id} has no access to domain {domain.id}.")
            return {"domain_id": domain.id}, roles
        if "system" in scope:
            if scope["system"] != {"all": True}:
                raise faults.BadRequest("The only system scope is {\"all\": true}.")
            roles = await self.assignments.effective_role_ids(s, user.id, system=True)
            if not roles:
                raise self._refused(f"User {user.id} has no access to the system.")
            return {"system": "all"}, roles
        if "OS-TRUST:trust" in scope:
            raise faults.NotImplementedFault("Trusts are not supported.")
        raise faults.BadRequest("Invalid scope.")

    # -- validate --
    async def _validate_payload(self, token: str) -> fernet.TokenPayload:
        if not token:
            raise self._refused("No token was given.", subject="No token in the request")
        try:
            payload = fernet.decode(self.state.keys.fernet(), token)
        except fernet.InvalidToken as e:
            # Keystone's TokenFormatter.unpack wording
            raise self._refused("The token is not valid.",
                                subject="Could not recognize Fernet token") from e
        if payload.expires_at <= time.time():
            raise self._refused("The token has expired.", subject=FAILED_TO_VALIDATE)
        await self.state.fresh()
        if self.state.revocations.revoked(payload, ()):
            raise self._refused("The token has been revoked.", subject=FAILED_TO_VALIDATE)
        return payload

    async def validate(self, token: str, *, nocatalog: bool = False) -> Validated:
        """The token's body and credentials; Unauthorized when it is not (or no longer) valid."""
        await self.state.fresh()
        cache = self.state.token_cache
        hit = cache.get(token)
        if hit is not None and hit[1] > time.time():
            body = hit[0]
            payload = body["_payload"]
        else:
            # A write (a revocation, a role removed) that lands while we read must not let
            # this read be cached: it was made before the write and may be stale.
            generation = self.state.generation
            payload = await self._validate_payload(token)
            body = await self._body(payload, nocatalog=False)
            body["_payload"] = payload
            # Domain events match the user's domain and the project's (Keystone's
            # identity_domain_id and assignment_domain_id).
            domains = {body["user"]["domain"]["id"],
                       body.get("project", {}).get("domain", {}).get("id")}
            if self.state.revocations.revoked(payload, domains):
                raise self._refused("The token has been revoked.", subject=FAILED_TO_VALIDATE)
            if generation == self.state.generation:
                cache[token] = (body, payload.expires_at)
                while len(cache) > self.state.token_cache_size:
                    cache.popitem(last=False)
        view = {k: v for k, v in body.items() if k not in ("_payload", "_credentials")}
        if nocatalog:
            view.pop("catalog", None)
        return Validated(payload, view, body["_credentials"])

    async def credentials(self, token: str) -> Credentials:
        return (await self.validate(token)).credentials

    # -- GET/HEAD/DELETE /v3/auth/tokens: the subject token, for its owner or a service --
    async def _subject(self, ctx: RequestContext, rule: str, subject: str | None, *,
                       nocatalog: bool = False,
                       enforces_access_rules: bool = False) -> Validated:
        ctx.creds  # noqa: B018 - the caller must be authenticated
        try:
            validated = await self.validate(subject or "", nocatalog=nocatalog)
        except InvalidToken as e:
            # 404 for any invalid subject, in Keystone's words for its cause. Its catch-all
            # "Could not find token: <token>." echoes the whole token; a bearer secret is not
            # repeated here, its first characters say which one it was.
            shown = (subject or "")[:8]
            raise faults.NotFound(e.subject or f"Could not find token: {shown}...") from e
        ctx.enforce(rule, {"token": {"user_id": validated.payload.user_id}})
        rules = validated.body.get("application_credential", {}).get("access_rules")
        if rules is not None and not enforces_access_rules:
            # A validator that would not enforce the rules must not learn the token is valid
            # (Keystone's _validate_token_access_rules).
            raise faults.NotFound(FAILED_TO_VALIDATE)
        return validated

    async def show(self, ctx: RequestContext, subject: str | None, *, nocatalog: bool,
                   enforces_access_rules: bool) -> dict[str, Any]:
        """GET /v3/auth/tokens: the subject token's body."""
        validated = await self._subject(ctx, "identity:validate_token", subject,
                                        nocatalog=nocatalog,
                                        enforces_access_rules=enforces_access_rules)
        return validated.body

    async def check(self, ctx: RequestContext, subject: str | None, *,
                    enforces_access_rules: bool) -> None:
        """HEAD /v3/auth/tokens: whether the subject token is valid (404 if not)."""
        await self._subject(ctx, "identity:check_token", subject, nocatalog=True,
                            enforces_access_rules=enforces_access_rules)

    async def revoke(self, ctx: RequestContext, subject: str | None) -> None:
        """DELETE /v3/auth/tokens: revoke the subject token (its audit chain's first id)."""
        validated = await self._subject(ctx, "identity:revoke_token", subject, nocatalog=True,
                                        enforces_access_rules=True)
        async with self.state.write() as s:
            await self.state.revoke(s, audit_id=validated.payload.audit_ids[0])

    # -- body --
    @asynccontextmanager
    async def _session(self, s: AsyncSession | None) -> AsyncIterator[AsyncSession]:
        if s is not None:
            yield s
        else:
            async with self.state.db.read() as new:
                yield new

    async def _body(self, p: fernet.TokenPayload, *, nocatalog: bool,
                    session: AsyncSession | None = None,
                    role_ids: set[str] | None = None) -> dict[str, Any]:
        """The token body; with `session` and `role_ids` (at issue) nothing is read twice."""
        known_roles = role_ids
        async with self._session(session) as s:
            # Disabling or deleting a user or a project revokes its tokens: the revocation
            # index refuses them before this ("Failed to validate token"). A domain's events
            # are matched after the body, which names the disabled domain first, as Keystone.
            user = await s.get(User, p.user_id)
            if user is None or not user.enabled:
                raise self._refused("The token's user no longer exists or is disabled.")
            user_domain = await s.get(Domain, user.domain_id)
            if user_domain is None or not user_domain.enabled:
                raise self._refused("The token's user domain is disabled.",
                                    subject=_domain_disabled(user.domain_id))
            body: dict[str, Any] = {
                "methods": list(p.methods),
                "user": {"id": user.id, "name": user.name, "domain": _domain_ref(user_domain),
                         "password_expires_at": iso(user.password_expires_at)},
                "audit_ids": list(p.audit_ids),
                "expires_at": iso(p.expires_at),
                "issued_at": iso(p.issued_at),
            }
            role_ids = set()
            if p.project_id:
                project = await s.get(Project, p.project_id)
                if project is None or not project.enabled:
                    raise self._refused("The token's project no longer exists or is disabled.")
                pdomain = await s.get(Domain, project.domain_id)
                if pdomain is None or not pdomain.enabled:
                    raise self._refused("The token's project domain is disabled.",
                                        subject=_domain_disabled(project.domain_id))
                body["project"] = {"id": project.id, "name": project.name,
                                   "domain": _domain_ref(pdomain)}
                body["is_domain"] = False
                role_ids = known_roles if known_roles is not None else \
                    await self.assignments.effective_role_ids(s, user.id, project_id=project.id)
            elif p.domain_id:
                domain = await s.get(Domain, p.domain_id)
                if domain is None or not domain.enabled:
                    raise self._refused("The token's domain no longer exists or is disabled.")
                body["domain"] = _domain_ref(domain)
                role_ids = known_roles if known_roles is not None else \
                    await self.assignments.effective_role_ids(s, user.id, domain_id=domain.id)
            elif p.system:
                body["system"] = {"all": True}
                role_ids = known_roles if known_roles is not None else \
                    await self.assignments.effective_role_ids(s, user.id, system=True)
            if p.app_cred_id:
                cred = await s.get(ApplicationCredential, p.app_cred_id)
                if cred is None:
                    raise self._refused("The application credential no longer exists.")
                role_ids &= set(cred.roles)
                body["application_credential"] = {"id": cred.id, "name": cred.name,
                                                  "restricted": not cred.unrestricted}
                if cred.access_rules:
                    # Every service enforces these (common/auth.py access_allowed).
                    body["application_credential"]["access_rules"] = [
                        {"id": r.get("id"), "service": r["service"], "path": r["path"],
                         "method": r["method"]} for r in cred.access_rules]
            if (p.project_id or p.domain_id or p.system) and not role_ids:
                raise self._refused("The token's user has no role on its scope any more.")
            roles = list(await s.scalars(select(Role).where(Role.id.in_(role_ids)))) if role_ids else []
        body["roles"] = [{"id": r.id, "name": r.name} for r in sorted(roles, key=lambda r: r.name)] \
            if (p.project_id or p.domain_id or p.system) else []
        if not body["roles"]:
            body.pop("roles")
        if (p.project_id or p.domain_id or p.system) and not nocatalog:
            body["catalog"] = await self.catalog.for_token(p.project_id)
        # The one builder every service uses, so local and remote validation agree.
        body["_credentials"] = credentials_from_token(body)
        return body


def _domain_disabled(domain_id: str) -> str:
    """Keystone's 404 for a subject token whose user's or project's domain is disabled
    (keystone/models/token_model.py)."""
    return f"Unable to validate token because domain {domain_id} is disabled"


def _scope_of(p: fernet.TokenPayload) -> dict[str, Any]:
    if p.project_id:
        return {"project": {"id": p.project_id}}
    if p.domain_id:
        return {"domain": {"id": p.domain_id}}
    return {"system": {"all": True}}
