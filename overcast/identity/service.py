"""The identity service's domain objects, wired once per app (no HTTP here)."""

from __future__ import annotations

from overcast.common import faults
from overcast.common.db import Database
from overcast.common.policy import Credentials
from overcast.config import Config
from overcast.identity.application_credentials import ApplicationCredentials
from overcast.identity.assignments import Assignments
from overcast.identity.catalog import Catalog
from overcast.identity.consumers import Consumers
from overcast.identity.credentials import Credentials as CredentialStore
from overcast.identity.directory import Directory
from overcast.identity.domain_configs import DomainConfigs
from overcast.identity.domains import Domains
from overcast.identity.endpoint_groups import EndpointGroups
from overcast.identity.groups import Groups
from overcast.identity.limits import Limits
from overcast.identity.logins import Logins
from overcast.identity.policies import Policies
from overcast.identity.projects import Projects
from overcast.identity.roles import Roles
from overcast.identity.state import IdentityState
from overcast.identity.tokens import AUTH_FAILED, Tokens
from overcast.identity.trusts import Trusts
from overcast.identity.users import Users

__all__ = ["Identity"]


class Identity:
    """Every identity noun over one state; also the token validator other services use."""

    def __init__(self, config: Config, db: Database):
        self.config = config
        self.state = IdentityState(config, db)
        self.domains = Domains(self.state)
        self.assignments = Assignments(self.state)
        self.projects = Projects(self.state, self.domains, self.assignments)
        self.directory = Directory(self.state)
        self.logins = Logins(self.state, self.directory)
        self.users = Users(self.state, self.logins, self.directory)
        self.groups = Groups(self.state, self.directory)
        self.roles = Roles(self.state)
        self.catalog = Catalog(self.state)
        self.application_credentials = ApplicationCredentials(self.state, self.assignments)
        self.credentials = CredentialStore(self.state)
        self.trusts = Trusts(self.state, self.assignments)
        self.tokens = Tokens(self.state, self.assignments, self.catalog, self.trusts, self.logins)
        self.consumers = Consumers(self.state)
        self.policies = Policies(self.state)
        self.domain_configs = DomainConfigs(self.state)
        self.endpoint_groups = EndpointGroups(self.state)
        self.limits = Limits(self.state)

    @property
    def list_limit(self) -> int:
        """Keystone's `[identity] list_limit`: lists answer at most this many (0: all)."""
        return self.state.list_limit

    # TokenValidator (common/app.py): in-process validation, no network hop.
    async def validate(self, token: str) -> Credentials:
        try:
            return await self.tokens.credentials(token)
        except faults.Unauthorized:
            raise
        except faults.Fault as e:
            raise faults.Unauthorized(AUTH_FAILED) from e

    def auth_uri(self) -> str:
        return f"{self.config.public_url('identity')}/v3"
