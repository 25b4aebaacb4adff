"""Authentication and tokens: POST/GET/HEAD/DELETE /v3/auth/tokens, and token → Credentials.

Authenticate (password, token, application credential) ▶ pick the scope (project, domain,
system, none) ▶ check the user holds a role there ▶ Fernet-encode a payload. Validation
decrypts, checks expiry and the revocation index, and rebuilds the body from the database;
bodies are cached per token until any identity write (see state.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from overcast.common import faults
from overcast.common.auth import credentials_from_token
from overcast.common.clock import as_utc, epoch, from_epoch
from overcast.common.context import RequestContext
from overcast.common.policy import Credentials
from overcast.identity import fernet, receipts
from overcast.identity.assignments import Assignments
from overcast.identity.catalog import Catalog
from overcast.identity.logins import (
    AUTH_FAILED,
    INSECURE_DEBUG,
    LdapAuthenticated,
    Logins,
    mfa_rules,
)
from overcast.identity.models import ApplicationCredential, Domain, Project, Role, Trust, User
from overcast.identity.policy import forbidden_action
from overcast.identity.receipts import Receipt, ReceiptRequired
from overcast.identity.roles import NULL_DOMAIN
from overcast.identity.state import IdentityState
from overcast.identity.trusts import Trusts

__all__ = ["AUTH_FAILED", "AuthRequest", "InvalidToken", "Issued", "Tokens", "iso"]

#: The auth methods this cloud has (Keystone's [auth] methods, totp enabled).
METHODS = ("password", "token", "application_credential", "totp")


# A project scope's project and its domain, by how the request names it; built once (made
# per login, building a statement and its cache key costs more CPU than the database takes).
_PROJECT = select(Project, Domain).join(Domain, Domain.id == Project.domain_id)
_PROJECT_BY_ID = _PROJECT.where(Project.id == bindparam("id"))
_PROJECT_BY_DOMAIN_ID = _PROJECT.where(Project.name == bindparam("name"),
                                       Domain.id == bindparam("domain"))
_PROJECT_BY_DOMAIN_NAME = _PROJECT.where(Project.name == bindparam("name"),
                                         Domain.name == bindparam("domain"))


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
            if m not in METHODS:
                raise faults.Unauthorized("Attempted to authenticate with an unsupported "
                                          "method.")
            if not isinstance(identity.get(m), dict):
                raise _expecting(m, "identity")
        totp = identity.get("totp")
        if "totp" in methods:
            if not isinstance(totp.get("user"), dict):
                raise _expecting("user", "totp")
            _id_or_name(totp["user"], "identity/totp/user")
            if "id" not in totp["user"] and "domain" not in totp["user"]:
                raise _expecting("domain", "user")
            if not isinstance(totp["user"].get("passcode"), str):
                raise _expecting("passcode", "user")
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
                given = [k for k in ("project", "domain", "system", "unscoped", "OS-TRUST:trust")
                         if k in scope]
                if len(given) != 1:
                    raise _expecting("system, project, domain, OS-TRUST:trust or unscoped",
                                     "scope")
                trust = scope.get("OS-TRUST:trust")
                if trust is not None and not (isinstance(trust, dict) and trust.get("id")):
                    raise _expecting("trust_id", "trust")
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

    def __init__(self, message: str, subject: str | None = None, *, trust_gone: bool = False):
        super().__init__(message)
        self.subject = subject
        self.trust_gone = trust_gone  # the token's trust was deleted, expired or used up


#: Keystone's 404 for an expired or revoked subject token (keystone/token/provider.py).
FAILED_TO_VALIDATE = "Failed to validate token"


@dataclass
class Validated:
    """A valid token: what it says and the body that describes it."""

    payload: fernet.TokenPayload
    body: dict[str, Any]
    credentials: Credentials


@dataclass
class Issued:
    """A token made: its id (the X-Subject-Token) and its body."""

    token: str
    body: dict[str, Any]


class Tokens:
    def __init__(self, state: IdentityState, assignments: Assignments, catalog: Catalog,
                 trusts: Trusts, logins: Logins):
        self.state = state
        self.assignments = assignments
        self.catalog = catalog
        self.trusts = trusts
        self.logins = logins

    def _refused(self, why: str, *, subject: str | None = None,
                 trust_gone: bool = False) -> InvalidToken:
        """An authentication failure: Keystone's one generic message, whatever the cause
        (which user, project or domain exists is nobody's business), unless `[DEFAULT]
        insecure_debug` asks to say why (Keystone's SecurityError). `subject`: the message
        when the token was a subject token (InvalidToken)."""
        if self.state.config.default.insecure_debug:
            return InvalidToken(f"{why} {INSECURE_DEBUG}", subject, trust_gone=trust_gone)
        return InvalidToken(AUTH_FAILED, subject, trust_gone=trust_gone)

    # -- issue --
    async def issue(self, auth: dict[str, Any], *, nocatalog: bool = False,
                    receipt: str | None = None) -> Issued | ReceiptRequired:
        """POST /v3/auth/tokens: authenticate the `auth` object, pick the scope, make a token;
        or, when the user's multi-factor rules want more factors than were given, a receipt.

        The password path is one read session: the user and its domain in one query (with the
        caches' revision when its check is due), the project and its domain in another, the
        roles in a third (role names, implications and the catalog come from caches that any
        identity write drops)."""
        req = AuthRequest.parse(auth)
        # Role graph, role names, catalog and LDAP domain caches must reflect other workers'
        # writes. A password login checks the revision with its first query (Logins.find):
        # no session of its own; other methods check first.
        if "password" not in req.methods:
            await self.state.fresh()
        now = time.time()
        # Whole seconds, as Keystone's: the issued and the validated body must agree exactly.
        expires = float(int(now + self.state.config.identity.token_expiration))
        audit_ids: tuple[str, ...] = (fernet.new_audit_id(),)
        app_cred: ApplicationCredential | None = None
        scope = req.scope
        methods = list(req.methods)
        users: set[str] = set()  # whom each method says the caller is: they must agree
        user: User | None = None
        domain: Domain | None = None

        if "token" in req.methods:
            # Fully validated, domain revocation events included (they match the user's and
            # the project's domains, which only the body knows): a token a disabled domain
            # revoked must not be traded for a new one once the domain is enabled again.
            given = str(req.identity["token"].get("id", ""))
            try:
                prior = (await self.validate(given)).payload
            except InvalidToken as e:
                # Keystone 30 (recorded): a 404 in the words of its subject-token answers;
                # but a trust that is gone is its TrustNotFound, which it turns into the 401
                if e.trust_gone:
                    raise self._refused(str(e)) from e
                raise faults.NotFound(e.subject or f"Could not find token: {given[:8]}...") from e
            if prior.app_cred_id:
                raise faults.Forbidden("Cannot rescope a token made with an application credential.")
            if prior.trust_id:
                raise forbidden_action("Using trust-scoped token to create another token. "
                                       "Create a new trust-scoped token instead")
            users.add(prior.user_id)
            expires = prior.expires_at  # a derived token never outlives its parent
            audit_ids = (audit_ids[0], prior.audit_ids[0])
            methods = [m for m in prior.methods if m != "token"] + ["token"]
            methods = list(dict.fromkeys(methods))
            if prior.project_id or prior.domain_id or prior.system:
                if scope is None:
                    scope = _scope_of(prior)

        generation = self.state.generation  # before the session's first read (state.observe)
        async with contextlib.AsyncExitStack() as session:
            s = await session.enter_async_context(self.state.db.read())
            if "password" in req.methods:
                try:
                    user, domain = await self.logins.password(s, req.identity["password"],
                                                              since=generation)
                except LdapAuthenticated as e:
                    # LDAP's login wrote rows (the user's, its memberships) that the snapshot
                    # of `s` may predate: the login reads on in a session begun after them.
                    await session.aclose()
                    s = await session.enter_async_context(self.state.db.read())
                    user, domain = await self.logins.password(s, req.identity["password"],
                                                              ldap_user=e.user_id)
                users.add(user.id)
            if "totp" in req.methods:
                user, domain = await self.logins.totp(s, req.identity["totp"])
                users.add(user.id)
            if "application_credential" in req.methods:
                app_cred = await self._app_cred(s, req.identity["application_credential"])
                users.add(app_cred.user_id)
                if scope not in (None, "unscoped"):
                    raise self._refused("Application credentials cannot request a scope.")
                scope = {"project": {"id": app_cred.project_id}}
                if app_cred.expires_at is not None:
                    expires = min(expires, float(int(epoch(app_cred.expires_at))))
            if len(users) != 1:
                raise self._refused("The methods name different users.")
            user_id = users.pop()
            if receipt:
                # The factors passed before (keystone/receipt/handlers.py extract_receipt).
                passed = receipts.decode(self.state.keys.fernet(), receipt)
                if passed.user_id != user_id:
                    raise self._refused("The auth receipt is another user's.")
                methods = list(dict.fromkeys([*methods, *passed.methods]))

            if user is None:
                user = await s.get(User, user_id)
            if user is None:
                raise self._refused(f"Could not find user: {user_id}.")
            if not user.enabled:
                raise self._refused(f"The account is disabled for user: {user.id}.")
            if domain is None:
                domain = await s.get(Domain, user.domain_id)
            if domain is None or not domain.enabled:
                raise self._refused(f"The user's domain {user.domain_id} is disabled.")

            required = receipts.required_rules(mfa_rules(user), set(methods), set(METHODS))
            if required is not None:
                r = Receipt(user.id, tuple(methods),
                            float(int(now + self.state.config.identity.receipt_expiration)), now)
                return ReceiptRequired(receipts.encode(self.state.keys.fernet(), r),
                                       receipts.receipt_body(r, user, domain, required, iso))

            trust: Trust | None = None
            if isinstance(scope, dict) and "OS-TRUST:trust" in scope:
                trust = await self._trust_scope(s, user, scope["OS-TRUST:trust"])
                if trust.expires_at is not None:
                    expires = min(expires, float(int(epoch(trust.expires_at))))
                scope = {"project": {"id": trust.project_id}} if trust.project_id else "unscoped"
            if scope is None and user.default_project_id:
                project = await s.get(Project, user.default_project_id)
                if project is not None and project.enabled and await self.assignments.effective_role_ids(
                        s, user.id, project_id=project.id):
                    scope = {"project": {"id": project.id}}
            if trust is not None:
                fields: dict[str, str | None] = {"project_id": trust.project_id}
                roles = await self.trusts.token_roles(s, trust)
                if roles is None:
                    raise self._forbidden("Trustee has no delegated roles.")
            else:
                # `loaded`: rows the body reads again; held here so that the session's
                # (weak) identity map still has them and answers without a query.
                fields, roles, _loaded = await self._resolve_scope(s, user, scope)
            payload = fernet.TokenPayload(
                user_id=user.id, methods=tuple(methods), expires_at=expires, issued_at=now,
                audit_ids=audit_ids, app_cred_id=app_cred.id if app_cred else None,
                trust_id=trust.id if trust else None, **fields)
            # Same session: the rows just read come from its identity map, not the database.
            body = await self._body(payload, nocatalog=nocatalog, session=s, role_ids=roles)
        token = fernet.encode(self.state.keys.fernet(), payload)
        if trust is not None and trust.remaining_uses is not None:
            # Spent once the token is made (Keystone's consume_use), never for a failed login.
            await self.trusts.consume(trust.id)
        body.pop("_credentials")
        return Issued(token, body)

    def _forbidden(self, why: str) -> faults.Forbidden:
        """Keystone's Forbidden (a SecurityError): the reason only with insecure_debug."""
        if self.state.config.default.insecure_debug:
            return faults.Forbidden(f"{why} {INSECURE_DEBUG}")
        return faults.Forbidden("You are not authorized to perform the requested action.")

    async def _trust_scope(self, s: AsyncSession, user: User, ref: dict[str, Any]) -> Trust:
        """The trust a token is to be scoped to: usable (else the generic 401, as Keystone's
        TrustNotFound), with the caller as its trustee and an enabled trustor (403)."""
        try:
            trust = await self.trusts.usable(s, str(ref.get("id")))
        except faults.NotFound as e:
            raise self._refused(str(e)) from e
        if trust.trustee_user_id != user.id:
            raise self._forbidden("User is not a trustee.")
        trustor = await s.get(User, trust.trustor_user_id)
        if trustor is None or not trustor.enabled:
            raise self._forbidden("Trustor is disabled.")
        if trust.project_id:
            project = await s.get(Project, trust.project_id)
            if project is None or not project.enabled:
                raise self._refused(f"Project {trust.project_id} is disabled.")
        return trust

    async def _app_cred(self, s: AsyncSession, ref: dict[str, Any]) -> ApplicationCredential:
        secret = ref.get("secret")
        if not isinstance(secret, str):
            raise faults.BadRequest("Expecting to find secret in application_credential.")
        if ref.get("id"):
            cred = await s.get(ApplicationCredential, str(ref["id"]))
        else:
            user_ref = ref.get("user")
            if not isinstance(user_ref, dict) or not ref.get("name"):
                raise faults.BadRequest(
                    "An application credential is named by id, or by name and user.")
            found = await self.logins.find(s, user_ref)
            cred = None if found is None else await s.scalar(select(ApplicationCredential).where(
                ApplicationCredential.user_id == found[0].id,
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

    async def _domain_id(self, s: AsyncSession, ref: dict[str, Any]) -> str | None:
        if ref.get("id"):
            return str(ref["id"])
        if ref.get("name"):
            return await s.scalar(select(Domain.id).where(Domain.name == ref["name"]))
        raise faults.BadRequest("A domain is named by id or name.")

    async def _resolve_scope(self, s: AsyncSession, user: User, scope: dict[str, Any] | str | None,
                             ) -> tuple[dict[str, str | None], set[str], list[object]]:
        """The payload's scope fields and the user's effective roles there (none: unscoped)."""
        if scope is None or scope == "unscoped":
            return {}, set(), []
        assert isinstance(scope, dict)
        if "project" in scope:
            ref = scope["project"]
            if not isinstance(ref, dict):
                raise faults.BadRequest("Invalid project scope.")
            # The project and its domain in one query.
            if ref.get("id"):
                q, params = _PROJECT_BY_ID, {"id": str(ref["id"])}
            elif ref.get("name") and isinstance(ref.get("domain"), dict):
                dref = ref["domain"]
                if dref.get("id"):
                    q, params = _PROJECT_BY_DOMAIN_ID, {"name": ref["name"],
                                                        "domain": str(dref["id"])}
                elif dref.get("name"):
                    q, params = _PROJECT_BY_DOMAIN_NAME, {"name": ref["name"],
                                                          "domain": dref["name"]}
                else:
                    raise faults.BadRequest("A domain is named by id or name.")
            else:
                raise faults.BadRequest("A project is named by id, or by name and domain.")
            row = (await s.execute(q, params)).first()
            if row is None:
                raise self._refused(f"Could not find project: {ref.get('id') or ref.get('name')}.")
            project, domain = row[0], row[1]
            if not project.enabled or not domain.enabled:
                raise self._refused(f"Project {project.id} is disabled.")
            roles = await self.assignments.effective_role_ids(s, user.id, project=project)
            if not roles:
                raise self._refused(
                    f"User {user.id} has no access to project {project.id}.")
            return {"project_id": project.id}, roles, [project, domain]
        if "domain" in scope:
            ref = scope["domain"]
            if not isinstance(ref, dict):
                raise faults.BadRequest("Invalid domain scope.")
            domain_id = await self._domain_id(s, ref)
            scoped = await s.get(Domain, domain_id) if domain_id else None
            if scoped is None:
                raise self._refused(f"Could not find domain: {ref.get('id') or ref.get('name')}.")
            if not scoped.enabled:
                raise self._refused(f"Domain {scoped.id} is disabled.")
            roles = await self.assignments.effective_role_ids(s, user.id, domain_id=scoped.id)
            if not roles:
                raise self._refused(f"User {user.id} has no access to domain {scoped.id}.")
            return {"domain_id": scoped.id}, roles, [scoped]
        if "system" in scope:
            if scope["system"] != {"all": True}:
                raise faults.BadRequest("The only system scope is {\"all\": true}.")
            roles = await self.assignments.effective_role_ids(s, user.id, system=True)
            if not roles:
                raise self._refused(f"User {user.id} has no access to the system.")
            return {"system": "all"}, roles, []
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
            trust: Trust | None = None
            if p.trust_id:
                trust, role_ids = await self._trust_body(s, p, user, body, known_roles)
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
                if trust is None:  # Keystone's trust-scoped body has no is_domain
                    body["is_domain"] = False
                    role_ids = known_roles if known_roles is not None else \
                        await self.assignments.effective_role_ids(s, user.id, project=project)
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
            scoped = bool(p.project_id or p.domain_id or p.system)
            if scoped and not role_ids:
                raise self._refused("The token's user has no role on its scope any more.")
            if trust is not None:
                # Keystone's trust-scoped body shows each role in full
                body["roles"] = [_full_role(r) for r in sorted(await s.scalars(
                    select(Role).where(Role.id.in_(role_ids))), key=lambda r: r.name)]
            else:
                body["roles"] = await self.assignments.role_refs(s, role_ids) if scoped else []
        if not body["roles"]:
            body.pop("roles")
        if scoped and not nocatalog:
            body["catalog"] = await self.catalog.for_token(p.project_id)
        # The one builder every service uses, so local and remote validation agree.
        body["_credentials"] = credentials_from_token(body)
        return body

    async def _trust_body(self, s: AsyncSession, p: fernet.TokenPayload, trustee: User,
                          body: dict[str, Any], known_roles: set[str] | None,
                          ) -> tuple[Trust, set[str]]:
        """A trust-scoped token's part of the body (keystone/common/render_token.py): the
        trust, the trustor as the user when it impersonates, and the delegated roles. A token
        whose trust was deleted, expired or used up, whose trustor lost a delegated role or
        was disabled, no longer validates."""
        try:
            # Keystone re-reads the trust with get_trust: deleted, expired or used up (its
            # last use spent, even by this very token), the token no longer validates.
            trust = await self.trusts.usable(s, str(p.trust_id))
        except faults.NotFound as e:
            raise self._refused("The token's trust is gone.",
                                subject=f"Could not find trust: {p.trust_id}.",
                                trust_gone=True) from e
        if trust.trustee_user_id != trustee.id:
            raise self._refused("The token's user is not the trustee.")
        trustor = await s.get(User, trust.trustor_user_id)
        if trustor is None or not trustor.enabled:
            raise self._refused("The trustor is disabled.")
        trustor_domain = await s.get(Domain, trustor.domain_id)
        if trustor_domain is None or not trustor_domain.enabled:
            raise self._refused("Trustor domain is disabled.")
        roles = known_roles
        if roles is None:
            try:
                roles = await self.trusts.token_roles(s, trust)
            except faults.NotFound:
                roles = None
            if roles is None:
                raise self._refused("Trustee has no delegated roles.")
        body["OS-TRUST:trust"] = {"id": trust.id, "trustor_user": {"id": trustor.id},
                                  "trustee_user": {"id": trustee.id},
                                  "impersonation": trust.impersonation}
        if trust.impersonation:
            body["user"] = {"id": trustor.id, "name": trustor.name,
                            "domain": _domain_ref(trustor_domain),
                            "password_expires_at": iso(trustor.password_expires_at)}
        return trust, roles


def _full_role(r: Role) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "domain_id": None if r.domain_id == NULL_DOMAIN else r.domain_id,
            "description": r.description, "options": r.options or {}}


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
