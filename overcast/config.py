"""Overcast configuration: one INI file, a section per service, environment overrides.

`overcast.conf` has a `[DEFAULT]` section and one section per service (`[identity]`,
`[image]`, ...). Every option has a default and a description here; `overcast config sample`
prints them. Any option can be overridden from the environment as
`OVERCAST_<SECTION>__<OPTION>` (e.g. `OVERCAST_IDENTITY__DATABASE_URL`), which is how tests and
benchmarks point a service at MariaDB or PostgreSQL without writing a file.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CONFIG_FILE_NAME = "overcast.conf"
ENV_PREFIX = "OVERCAST_"


def default_state_dir() -> Path:
    """/var/lib/overcast as root, ~/.local/share/overcast otherwise."""
    if os.geteuid() == 0:
        return Path("/var/lib/overcast")
    return Path.home() / ".local" / "share" / "overcast"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: oslo.middleware's sizelimit default, which Keystone and the other APIs run with.
MAX_REQUEST_BODY_SIZE = 114_688


class DefaultSection(_Section):
    """[DEFAULT]: what every service shares."""

    public_host: str = Field(
        "127.0.0.1",
        description="Host name or address that clients use to reach this cloud; it goes into "
        "every catalog URL, clouds.yaml and the openrc files.",
    )
    bind_host: str = Field("0.0.0.0", description="Address the API servers listen on.")
    region: str = Field("RegionOne", description="Region name of this cloud's endpoints.")
    log_level: str = Field("INFO", description="Python logging level.")
    bus_url: str = Field(
        "memory://",
        description="Message bus: memory:// (one process) or amqp://user:pass@host:5672/.",
    )
    insecure_debug: bool = Field(
        False, description="Say in authentication errors why they failed (which user, project "
        "or domain); this tells a caller what exists, so never in production (Keystone's "
        "[DEFAULT] insecure_debug).")


class CorsSection(_Section):
    """[cors]: cross-origin requests from browser pages (oslo.middleware's cors options).

    Off until allowed_origin names an origin; then every service answers preflight requests
    before authentication and marks its responses for that origin."""

    allowed_origin: str = Field(
        "", description="Comma-separated origins (scheme://host[:port]) whose pages may call the "
        "APIs, or * for any; empty disables CORS.")
    allow_credentials: bool = Field(True, description="Let the browser send credentials "
                                    "(Access-Control-Allow-Credentials).")
    expose_headers: str = Field(
        "", description="Comma-separated response headers a page may read, besides each "
        "service's own (X-Openstack-Request-Id, X-Subject-Token, ...).")
    max_age: int = Field(3600, ge=0, description="Seconds a browser may cache a preflight answer.")
    allow_methods: str = Field("GET,PUT,POST,DELETE,PATCH,HEAD,OPTIONS",
                               description="Comma-separated methods a page may use.")
    allow_headers: str = Field(
        "", description="Comma-separated request headers a page may send, besides each "
        "service's own (X-Auth-Token, Content-Type, ...).")


class IdentitySection(_Section):
    """[identity]: the Keystone v3 service."""

    enabled: bool = Field(True, description="Run the identity API in `overcast up`.")
    port: int = Field(5000, description="Port of the identity API.")
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means the SQLite file identity.sqlite in the "
        "state directory. E.g. mysql+asyncmy://root@127.0.0.1/overcast_identity."
    )
    token_expiration: int = Field(3600, description="Token lifetime in seconds.", ge=60)
    allow_expired_window: int = Field(
        172800, description="Seconds after expiry during which a revocation event is kept."
    )
    password_hash_rounds: int = Field(
        12, ge=4, le=31, description="bcrypt cost factor (Keystone's default is 12)."
    )
    password_cache_size: int = Field(
        1024,
        ge=0,
        description="Verified (user, password) pairs remembered in memory as keyed HMACs so a "
        "repeated login skips bcrypt; 0 disables. Cleared for a user when the password changes.",
    )
    fernet_key_repository: str = Field(
        "", description="Directory of Fernet keys; empty means STATE_DIR/fernet-keys."
    )
    fernet_max_active_keys: int = Field(3, ge=2, description="Keys kept by `fernet rotate`.")
    credential_key_repository: str = Field(
        "", description="Directory of the Fernet keys that encrypt credential blobs (EC2 "
        "secrets, TOTP seeds) at rest, apart from the token keys (Keystone's [credential] "
        "key_repository); empty means STATE_DIR/credential-keys. `overcast credential "
        "setup|rotate|migrate` manage it.")
    policy_file: str = Field("", description="YAML file with policy overrides.")
    max_request_body_size: int = Field(
        MAX_REQUEST_BODY_SIZE, ge=1, description="Largest request body in bytes (413 above it); "
        "streamed data (image data) is exempt.")
    list_limit: int = Field(0, ge=0, description="Cap on list sizes; 0 means no cap.")
    cache_check_interval: float = Field(
        0.1, ge=0, description="Seconds between checks whether another worker or node wrote "
        "(revoked a token, changed a role); writes in this process are seen at once.")
    workers: int = Field(1, ge=1, description="Worker processes for `overcast serve identity`.")
    max_redelegation_count: int = Field(
        3, ge=0, description="Longest chain of trusts one trust may start by redelegation "
        "(Keystone's [trust] max_redelegation_count).")
    receipt_expiration: int = Field(
        300, ge=1, description="Seconds an auth receipt (the first factor of a multi-factor "
        "login) stays valid (Keystone's [receipt] expiration).")
    totp_included_previous_windows: int = Field(
        1, ge=0, le=10, description="Earlier 30-second TOTP windows whose passcode is still "
        "accepted, for clock drift (Keystone's [totp] included_previous_windows).")


class SecurityComplianceSection(_Section):
    """[security_compliance]: Keystone's PCI-DSS options, same names and defaults.

    Unset (empty) means off, as in Keystone; they apply to users whose passwords Overcast
    keeps (the SQL backend)."""

    lockout_failure_attempts: int | None = Field(
        None, ge=1, description="Failed logins in a row after which a user is locked out; "
        "unset: never.")
    lockout_duration: int = Field(
        1800, ge=1, description="Seconds a locked-out user stays locked (with "
        "lockout_failure_attempts).")
    password_expires_days: int | None = Field(
        None, ge=1, description="Days a password stays valid after it is set; unset: forever.")
    unique_last_password_count: int = Field(
        0, ge=0, description="A new password (own change) must differ from this many latest "
        "ones, the current one included; 0 or 1: no history.")
    minimum_password_age: int = Field(
        0, ge=0, description="Days a user must keep a password they set themselves before "
        "changing it again.")
    password_regex: str | None = Field(
        None, description="A password must match this regular expression (Python syntax); "
        "unset: any.")
    password_regex_description: str | None = Field(
        None, description="What password_regex asks for, in words; it is the 400's detail.")
    change_password_upon_first_use: bool = Field(
        False, description="A password an administrator sets (new user or reset) is expired "
        "at once, so its user must change it before logging in.")
    disable_user_account_days_inactive: int | None = Field(
        None, ge=1, description="Days without a login after which a user counts as disabled; "
        "unset: never.")


class UnifiedLimitSection(_Section):
    """[unified_limit]: Keystone's unified limits (/v3/limits, /v3/registered_limits)."""

    enforcement_model: Literal["flat", "strict_two_level"] = Field(
        "flat", description="How limits relate along the project tree, as Keystone's: `flat` "
        "(no relation) or `strict_two_level` (a project's limit never above its parent's, "
        "projects at most two levels under their domain).")
    list_limit: int = Field(0, ge=0, description="Cap on limit lists; 0: [identity] list_limit.")


class ImageSection(_Section):
    """[image]: the Glance v2 service."""

    enabled: bool = Field(True, description="Run the image API in `overcast up`.")
    port: int = Field(9292, description="Port of the image API.")
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means the SQLite file image.sqlite in the state "
        "directory. E.g. mysql+asyncmy://root@127.0.0.1/overcast_image.")
    store_dir: str = Field("", description="Directory of image data (the file store); empty "
                           "means STATE_DIR/images.")
    extra_stores: str = Field(
        "", description="More file stores besides the default one (id `file`, in store_dir), as "
        "comma-separated id=directory pairs, e.g. `fast=/srv/ssd/images,bulk=/srv/hdd/images`; "
        "uploads and imports can then name a store, and an image can live in several.")
    staging_dir: str = Field("", description="Directory where glance-direct and web-download "
                             "stage data before import; empty means STATE_DIR/image-staging.")
    policy_file: str = Field("", description="YAML file with policy overrides.")
    max_request_body_size: int = Field(
        MAX_REQUEST_BODY_SIZE, ge=1, description="Largest request body in bytes (413 above it); "
        "streamed data (image data) is exempt.")
    workers: int = Field(1, ge=1, description="Worker processes for `overcast serve image`.")
    image_size_cap: int = Field(1 << 40, ge=1, description="Largest image, in bytes "
                                "(Glance's default, 1 TiB).")
    image_count_quota: int = Field(-1, ge=-1, description="Images per project; -1: no limit.")
    image_size_quota: int = Field(
        -1, ge=-1, description="Total bytes of image data per project; -1: no limit.")
    image_member_quota: int = Field(128, ge=-1, description="Members per image; -1: no limit.")
    image_property_quota: int = Field(128, ge=-1,
                                      description="Custom properties per image; -1: no limit.")
    image_tag_quota: int = Field(128, ge=-1, description="Tags per image; -1: no limit.")
    limit_param_default: int = Field(25, ge=1, description="Page size when a list has no limit.")
    api_limit_max: int = Field(1000, ge=1, description="Largest page a list returns.")
    require_image_format_match: bool = Field(
        True, description="Refuse uploads whose content is not in their declared disk_format "
        "(Glance's [image_format] require_image_format_match). Unsafe content (a qcow2 backing "
        "file, a vmdk with extra extents) is refused either way.")
    web_download_allowed_hosts: str = Field(
        "", description="Comma-separated host names (or host:port) web-download may fetch "
        "from; empty disables the web-download import method (this cloud may have no internet).")
    import_claim_lease: float = Field(
        60, gt=0, description="Seconds a worker's claim on an import (or a copy to more stores) "
        "holds without renewal; a worker renews it every third of that while it works, so a "
        "dead worker's imports are taken over by another worker after at most this long.")
    import_resync_interval: float = Field(
        30, gt=0, description="Seconds between two passes of each worker's importer agent over "
        "every unfinished import and copy (besides the one started when a request asks).")


class Config(BaseModel):
    """The whole configuration of one Overcast node."""

    model_config = ConfigDict(extra="forbid")

    state_dir: Path
    default: DefaultSection = DefaultSection()
    identity: IdentitySection = IdentitySection()
    image: ImageSection = ImageSection()
    cors: CorsSection = CorsSection()
    security_compliance: SecurityComplianceSection = SecurityComplianceSection()
    unified_limit: UnifiedLimitSection = UnifiedLimitSection()

    def database_url(self, service: str) -> str:
        """The service's database URL, the SQLite default filled in."""
        section = getattr(self, service)
        url: str = section.database_url
        if url:
            return url
        return f"sqlite+aiosqlite:///{self.state_dir / f'{service}.sqlite'}"

    def public_url(self, service: str) -> str:
        """Base URL clients use for a service (no version path)."""
        port = getattr(self, service).port
        return f"http://{self.default.public_host}:{port}"

    @property
    def image_store_dir(self) -> Path:
        return Path(self.image.store_dir) if self.image.store_dir else self.state_dir / "images"

    @property
    def image_stores(self) -> dict[str, Path]:
        """Store id -> directory; the default store ("file") first."""
        stores = {"file": self.image_store_dir}
        for item in self.image.extra_stores.split(","):
            if not item.strip():
                continue
            name, sep, path = item.partition("=")
            name = name.strip()
            if not sep or not name or not path.strip() or name in stores or "," in name:
                raise ValueError(f"[image] extra_stores: bad entry {item.strip()!r}")
            stores[name] = Path(path.strip())
        return stores

    @property
    def image_staging_dir(self) -> Path:
        d = self.image.staging_dir
        return Path(d) if d else self.state_dir / "image-staging"

    @property
    def fernet_key_repository(self) -> Path:
        repo = self.identity.fernet_key_repository
        return Path(repo) if repo else self.state_dir / "fernet-keys"

    @property
    def credential_key_repository(self) -> Path:
        repo = self.identity.credential_key_repository
        return Path(repo) if repo else self.state_dir / "credential-keys"


# INI section -> Config field; derived from the fields so a new section is one line above.
_SECTIONS: dict[str, str] = {
    "DEFAULT": "default",
    **{name: name for name in Config.model_fields if name not in ("default", "state_dir")}}


def load_config(
    state_dir: Path | str | None = None,
    config_file: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read overcast.conf (if any) and OVERCAST_* environment overrides.

    The file is `config_file`, else $OVERCAST_CONFIG, else STATE_DIR/overcast.conf if present.
    """
    env = os.environ if environ is None else environ
    state = Path(state_dir or env.get("OVERCAST_STATE_DIR") or default_state_dir())
    values: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS.values()}

    path = Path(config_file) if config_file else None
    if path is None and env.get("OVERCAST_CONFIG"):
        path = Path(env["OVERCAST_CONFIG"])
    if path is None and (state / CONFIG_FILE_NAME).exists():
        path = state / CONFIG_FILE_NAME
    if path is not None:
        parser = configparser.ConfigParser(interpolation=None)
        with path.open(encoding="utf-8") as f:
            parser.read_file(f)
        values["default"].update(parser.defaults())
        for section in parser.sections():
            if section not in _SECTIONS:
                raise ValueError(f"{path}: unknown section [{section}]")
            own = {k: v for k, v in parser.items(section) if k not in parser.defaults()}
            values[_SECTIONS[section]].update(own)

    for key, value in env.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key:
            continue
        section, _, option = key[len(ENV_PREFIX):].partition("__")
        target = _SECTIONS.get(section.upper()) or _SECTIONS.get(section.lower())
        if target is None:
            continue
        values[target][option.lower()] = value

    return Config(
        state_dir=state,
        default=DefaultSection(**values["default"]),
        identity=IdentitySection(**values["identity"]),
        image=ImageSection(**values["image"]),
        cors=CorsSection(**values["cors"]),
        security_compliance=SecurityComplianceSection(**{
            k: (None if v == "" else v) for k, v in values["security_compliance"].items()}),
        unified_limit=UnifiedLimitSection(**values["unified_limit"]),
    )


def sample_config() -> str:
    """overcast.conf with every option commented out at its default."""
    lines: list[str] = []
    for section, attr in _SECTIONS.items():
        model = Config.model_fields[attr].annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        lines.append(f"[{section}]")
        for name, field in model.model_fields.items():
            lines.append(f"# {field.description}")
            lines.append(f"#{name} = {_ini_value(field.default)}")
        lines.append("")
    return "\n".join(lines)


def _ini_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
