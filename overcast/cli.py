"""The `overcast` command: up, serve, db upgrade, bootstrap, fernet, credential, status,
samples."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import secrets
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
import yaml

from overcast.config import Config, load_config, sample_config
from overcast.services import SERVICES, LocalValidator

if TYPE_CHECKING:
    from fastapi import FastAPI

    from overcast.identity.service import Identity

log = logging.getLogger("overcast")

ADMIN_PASSWORD_FILE = "admin-password"


# -- helpers --
def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds a password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def secure_state_dir(state_dir: Path) -> None:
    """Keep the state private: this process creates files 0600 and directories 0700, and what
    an earlier version (or a careless copy) left readable to others is closed now. The state
    holds databases with password hashes, token and credential keys and users' image data."""
    os.umask(0o077)
    state_dir.mkdir(parents=True, exist_ok=True)
    for root, dirs, files in os.walk(state_dir):
        for name in dirs:
            path = Path(root) / name
            if not path.is_symlink():
                path.chmod(0o700)
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                path.chmod(0o600)
    state_dir.chmod(0o700)


def _announce_password(generated: str, where: Path) -> None:
    """Say the generated admin password once, on a terminal only: a service manager keeps
    standard output in its logs, where a password must never be."""
    if sys.stdout.isatty():
        print(f"Overcast: admin password (shown once, kept in {where}): {generated}", flush=True)
    else:
        print(f"Overcast: admin password generated; read it from {where} (mode 0600)",
              flush=True)


def _setup_logging(config: Config) -> None:
    logging.basicConfig(
        level=config.default.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _services(config: Config) -> list[str]:
    # The metadata API and the console proxy read the compute database: they run beside
    # Compute or not at all.
    return [name for name in SERVICES if getattr(config, name).enabled
            and (name not in ("metadata", "novncproxy") or config.compute.enabled)]


# -- db upgrade / bootstrap --
async def db_upgrade(config: Config, services: Sequence[str] | None = None) -> None:
    from overcast.common.db import ensure_database, migrate

    config.state_dir.mkdir(parents=True, exist_ok=True)
    for name in services or _services(config):
        if not hasattr(getattr(config, name), "database_url"):
            continue  # object storage keeps its databases on its devices, as Swift does
        url = config.database_url(name)
        await ensure_database(url)
        # Alembic's env.py runs its own event loop: give it a thread.
        await asyncio.to_thread(migrate, name, url)
        log.info("database of %s is at the latest revision", name)


async def bootstrap(config: Config, admin_password: str | None) -> str | None:
    """Bootstrap identity and register every enabled service in the catalog.
    Returns the admin password when this call generated it."""
    from overcast.common.db import Database
    from overcast.identity.bootstrap import bootstrap as bootstrap_identity
    from overcast.identity.bootstrap import ensure_role, register_service
    from overcast.identity.service import Identity

    generated = None
    pw_file = config.state_dir / ADMIN_PASSWORD_FILE
    if admin_password is None and not pw_file.exists():
        admin_password = generated = secrets.token_urlsafe(18)
    if admin_password is not None:
        _write_private(pw_file, admin_password + "\n")
    db = Database(config.database_url("identity"))
    try:
        identity = Identity(config, db)
        await bootstrap_identity(identity, admin_password)
        for name in _services(config):
            spec = SERVICES[name]
            if spec.catalog_type and name != "identity":
                await register_service(identity, spec.catalog_type, spec.catalog_name,
                                       spec.description,
                                       config.public_url(name) + spec.version_path)
        await _service_users(config, identity)
        if "object" in _services(config):
            # keystoneauth's reseller admin role, which resellers (and tempest) are given.
            await ensure_role(identity, config.object.reseller_admin_role)
    finally:
        await db.dispose()
    if "image" in _services(config):
        from overcast.image.manage import bootstrap_metadefs

        await bootstrap_metadefs(config)
    if "compute" in _services(config):
        from overcast.compute.manage import bootstrap_flavors

        await bootstrap_flavors(config)
    write_client_files(config)
    return generated


async def _service_users(config: Config, identity: Identity) -> None:
    """The service users of the services this cloud runs (common/service_users.py), with
    passwords kept in the state directory; Compute's user once its service exists."""
    from overcast.common import service_users
    from overcast.identity.bootstrap import ensure_service_user

    for service, user in service_users.SERVICE_USERS.items():
        section = getattr(config, service, None)
        if section is None or not section.enabled:
            continue
        await ensure_service_user(
            identity, user, service_users.password(config.state_dir, user, create=True),
            service_users.SERVICE_ROLES, service_users.SERVICE_PROJECT)


def write_client_files(config: Config) -> None:
    """clouds.yaml, admin-openrc and demo-openrc in the state directory."""
    pw_file = config.state_dir / ADMIN_PASSWORD_FILE
    password = pw_file.read_text().strip() if pw_file.exists() else ""
    auth_url = f"{config.public_url('identity')}/v3"
    region = config.default.region

    def cloud(user: str, project: str, pw: str | None) -> dict[str, object]:
        auth: dict[str, object] = {"auth_url": auth_url, "username": user, "project_name": project,
                                   "user_domain_name": "Default",
                                   "project_domain_name": "Default"}
        if pw is not None:
            auth["password"] = pw
        return {"auth": auth, "region_name": region, "interface": "public",
                "identity_api_version": 3}

    clouds = {"clouds": {"overcast": cloud("admin", "admin", password),
                         "overcast-demo": cloud("demo", "demo", None)}}
    _write_private(config.state_dir / "clouds.yaml", yaml.safe_dump(clouds, sort_keys=False))
    common = (f"export OS_AUTH_URL={auth_url}\nexport OS_IDENTITY_API_VERSION=3\n"
              f"export OS_USER_DOMAIN_NAME=Default\nexport OS_PROJECT_DOMAIN_NAME=Default\n"
              f"export OS_REGION_NAME={region}\nexport OS_INTERFACE=public\n")
    _write_private(config.state_dir / "admin-openrc",
                   "# Overcast: credentials of the cloud administrator\n" + common
                   + f"export OS_USERNAME=admin\nexport OS_PROJECT_NAME=admin\n"
                   f"export OS_PASSWORD='{password}'\n")
    _write_private(config.state_dir / "demo-openrc",
                   "# Overcast: a regular user's credentials. Create them first, as admin:\n"
                   "#   openstack project create --domain default demo\n"
                   "#   openstack user create --domain default --password-prompt demo\n"
                   "#   openstack role add --project demo --user demo member\n" + common
                   + "export OS_USERNAME=demo\nexport OS_PROJECT_NAME=demo\n"
                   "if [ -z \"${OS_PASSWORD_DEMO:-}\" ]; then\n"
                   "  read -rsp 'Password of demo: ' OS_PASSWORD_DEMO; echo\nfi\n"
                   "export OS_PASSWORD=\"$OS_PASSWORD_DEMO\"\n")


async def credential_keys(config: Config, action: str) -> int:
    """`overcast credential setup|rotate|migrate`, as keystone-manage credential_*: rotate only
    when every blob is under the primary key (else a key some blob needs could be pruned);
    migrate re-encrypts every blob under the primary key."""
    from overcast.common.db import Database
    from overcast.identity.service import Identity

    db = Database(config.database_url("identity"))
    try:
        identity = Identity(config, db)
        repo = identity.state.credential_keys
        if action == "setup":
            print("created" if repo.setup() else "already set up")
            return 0
        if not repo.exists():
            print(f"no credential keys in {repo.path}: run `overcast credential setup` first",
                  file=sys.stderr)
            return 1
        if action == "migrate":
            print(f"re-encrypted {await identity.credentials.migrate()} credentials")
            return 0
        behind = await identity.credentials.outside_primary()
        if behind:
            print(f"Unable to rotate credential keys because not all credentials are "
                  f"encrypted with the primary key ({behind} are not). Please make sure all "
                  f"credentials have been encrypted with the primary key using `overcast "
                  f"credential migrate`.", file=sys.stderr)
            return 1
        print(f"new primary key: {repo.rotate()}")
        return 0
    finally:
        await db.dispose()


# -- serving --
class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to us: several share one event loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _uvicorn_config(app: FastAPI, config: Config, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=config.default.bind_host, port=port, log_config=None,
                          access_log=False, lifespan="on", server_header=False,
                          timeout_graceful_shutdown=10)


async def serve_all(config: Config, names: Sequence[str]) -> None:
    """Serve the named services on one event loop until SIGTERM or SIGINT."""
    servers = []
    apps = {}
    local: LocalValidator | None = None
    if "identity" in names:
        identity_app = apps["identity"] = SERVICES["identity"].create_app(config, None)
        # The other services validate tokens with this process's Identity: no network hop.
        local = functools.partial(getattr, identity_app.state, "identity", None)

    for name in names:
        app = apps.get(name) or SERVICES[name].create_app(config, local)
        servers.append(_Server(_uvicorn_config(app, config, getattr(config, name).port)))
    loop = asyncio.get_running_loop()

    def stop() -> None:
        log.info("stopping")
        for s in servers:
            s.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    results = await asyncio.gather(*(s.serve() for s in servers), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    if any(not s.started for s in servers):
        raise SystemExit("a service failed to start (is its port in use?)")


async def up(config: Config) -> None:
    config.state_dir.mkdir(parents=True, exist_ok=True)
    await db_upgrade(config)
    generated = await bootstrap(config, None)
    clouds = config.state_dir / "clouds.yaml"
    if generated:
        _announce_password(generated, config.state_dir / ADMIN_PASSWORD_FILE)
    print(f"Overcast: use it with  OS_CLIENT_CONFIG_FILE={clouds} "
          f"openstack --os-cloud overcast token issue", flush=True)
    names = _services(config)
    for name in names:
        print(f"Overcast: {name} on {config.public_url(name)}", flush=True)
    await serve_all(config, names)


async def serve_compute_agent(config: Config, host: str | None, driver: str | None,
                              simulated: int | None) -> None:
    """Compute agents alone, reaching the conductor over `[DEFAULT] bus_url`."""
    from overcast.common.bus import connect
    from overcast.common.clients import ImageClient
    from overcast.compute.runtime import start_agents

    bus = connect(config.default.bus_url)
    await bus.start()
    images = ImageClient(config.public_url("image"))
    agents = await start_agents(config, bus, images, host=host, driver=driver,
                                simulated=simulated)
    log.info("compute agents running: %s", ", ".join(a.host for a in agents))
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    try:
        await done.wait()
    finally:
        for agent in agents:
            await agent.stop()
        await images.close()
        await bus.close()


def _serve_workers(config: Config, name: str, workers: int) -> None:
    """Several worker processes: uvicorn re-creates the app in each from the environment."""
    os.environ["OVERCAST_STATE_DIR"] = str(config.state_dir)
    os.environ["OVERCAST_SERVE_SERVICE"] = name
    uvicorn.run("overcast.cli:app_from_environment", factory=True, workers=workers,
                host=config.default.bind_host, port=getattr(config, name).port, log_config=None,
                access_log=False, server_header=False,
                # uvicorn kills a worker that misses a 5 s health check; a worker still running
                # its migrations check or a long request on a busy host is not dead.
                timeout_worker_healthcheck=60)


def app_from_environment() -> object:
    """The app named by OVERCAST_SERVE_SERVICE, configured from the environment."""
    config = load_config()
    _setup_logging(config)
    return SERVICES[os.environ["OVERCAST_SERVE_SERVICE"]].create_app(config, None)


# -- argument parsing --
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="overcast", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help)
        sp.add_argument("--state-dir", help="state directory (default: /var/lib/overcast as "
                        "root, ~/.local/share/overcast otherwise)")
        sp.add_argument("--config", help="overcast.conf (default: STATE_DIR/overcast.conf)")
        return sp

    add("up", help="run the all-in-one cloud in the foreground")
    sp = add("serve", help="run one service")
    sp.add_argument("service", choices=sorted([*SERVICES, "compute-agent", "object-storage"]))
    sp.add_argument("--host", help="bind address; for compute-agent: the compute host name")
    sp.add_argument("--driver", choices=["qemu", "fake", "auto"],
                    help="compute-agent: the hypervisor driver (default: [compute] driver)")
    sp.add_argument("--simulated", type=int,
                    help="compute-agent: run N simulated hosts with the fake driver")
    sp.add_argument("--devices", help="object-storage: the directory of this node's devices")
    sp.add_argument("--port", type=int)
    sp.add_argument("--workers", type=int)
    sp = add("db", help="database commands")
    sp.add_argument("action", choices=["upgrade"])
    sp.add_argument("services", nargs="*", choices=[[], *sorted(SERVICES)], default=[])
    sp = add("bootstrap", help="create the first admin, roles, and catalog entries")
    sp.add_argument("--admin-password", help="set the admin password (default: generate "
                    "one on first run; or $OVERCAST_ADMIN_PASSWORD)")
    sp = add("fernet", help="Fernet token keys")
    sp.add_argument("action", choices=["setup", "rotate"])
    sp = add("credential", help="keys that encrypt credential blobs (keystone-manage "
             "credential_setup, credential_rotate, credential_migrate)")
    sp.add_argument("action", choices=["setup", "rotate", "migrate"])
    add("status", help="show what is configured and whether each API answers")
    sp = add("config", help="configuration")
    sp.add_argument("action", choices=["sample"])
    sp = add("policy", help="policy")
    sp.add_argument("action", choices=["sample"])
    sp.add_argument("service", choices=sorted(SERVICES))
    sp = add("image", help="image service tasks")
    sp.add_argument("action", choices=["import-agent", "load-metadefs"])
    sp.add_argument("--once", action="store_true",
                    help="import-agent: one pass over unfinished imports and copies, then exit")
    sp.add_argument("--force", action="store_true",
                    help="load-metadefs: replace standard namespaces that exist (an operator's "
                    "edits to them are lost)")
    sp = add("object", help="object storage: the ring builder and the daemons")
    sp.add_argument("object_command", choices=["ring", "replicator", "auditor", "expirer",
                                               "updater"])
    sp.add_argument("--once", action="store_true", help="daemons: one pass, then exit")
    from overcast.object.manage import add_ring_arguments

    add_ring_arguments(sp)
    sp = add("guest", help="the guest image")
    sp.add_argument("action", choices=["build"])
    sp.add_argument("--out", required=True, help="output directory")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = load_config(args.state_dir, args.config)
    _setup_logging(config)
    cmd = args.command
    if cmd in ("up", "serve", "db", "bootstrap", "fernet", "credential", "image", "object"):
        secure_state_dir(config.state_dir)
    if cmd == "up":
        asyncio.run(up(config))
    elif cmd == "serve" and args.service == "compute-agent":
        asyncio.run(serve_compute_agent(config, args.host, args.driver, args.simulated))
    elif cmd == "serve" and args.service == "object-storage":
        from overcast.object.manage import serve_storage

        if args.host:
            config.default.bind_host = args.host
        asyncio.run(serve_storage(config, args.devices, args.port))
    elif cmd == "object":
        from overcast.object import manage as object_manage

        if args.object_command == "ring":
            return object_manage.ring_command(config, args)
        return asyncio.run(object_manage.run_daemon(config, args.object_command, args.once))
    elif cmd == "serve":
        section = getattr(config, args.service)
        if args.host:
            config.default.bind_host = args.host
        if args.port:
            section.port = args.port
        workers = args.workers or getattr(section, "workers", 1)
        if workers > 1:
            if args.port:
                os.environ[f"OVERCAST_{args.service.upper()}__PORT"] = str(args.port)
            _serve_workers(config, args.service, workers)
        else:
            asyncio.run(serve_all(config, [args.service]))
    elif cmd == "db":
        asyncio.run(db_upgrade(config, args.services or None))
    elif cmd == "bootstrap":
        password = args.admin_password or os.environ.get("OVERCAST_ADMIN_PASSWORD")
        generated = asyncio.run(bootstrap(config, password))
        if generated:
            _announce_password(generated, config.state_dir / ADMIN_PASSWORD_FILE)
    elif cmd == "fernet":
        from overcast.identity.fernet import KeyRepository

        repo = KeyRepository(config.fernet_key_repository, config.identity.fernet_max_active_keys)
        if args.action == "setup":
            print("created" if repo.setup() else "already set up")
        else:
            print(f"new primary key: {repo.rotate()}")
    elif cmd == "credential":
        return asyncio.run(credential_keys(config, args.action))
    elif cmd == "status":
        return _status(config)
    elif cmd == "config":
        print(sample_config())
    elif cmd == "policy":
        print(_policy_sample(config, args.service))
    elif cmd == "image":
        from overcast.image import manage

        if args.action == "load-metadefs":
            outcomes = asyncio.run(manage.load_metadefs(config, force=args.force))
            print(", ".join(f"{kind} {len(names)}" for kind, names in outcomes.items()
                            if kind != "skipped"))
        else:
            asyncio.run(manage.run_importer(config, args.once))
    elif cmd == "guest":
        from overcast.compute.guest_image import build

        for kind, path in build(Path(args.out)).items():
            print(f"{kind}: {path}")
    return 0


def _policy_sample(config: Config, service: str) -> str:
    """The service's rules as policy.yaml, each with the operations whose routes declare it
    (the declarations the request path enforces, so the sample cannot drift from the code)."""
    import dataclasses

    from fastapi.routing import APIRoute, iter_route_contexts

    from overcast.common.api import POLICY_KEY
    from overcast.common.policy import sample_yaml

    app = SERVICES[service].create_app(config, None)
    guards: dict[str, list[tuple[str, str]]] = {}
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        declared = (route.openapi_extra or {}).get(POLICY_KEY) or ()
        for i, rule in enumerate(declared):
            # The first rule is the route's own; the others it may check besides.
            path = (route.path or "") + ("" if i == 0 else "  (also checked)")
            guards.setdefault(rule, []).extend(
                (method, path) for method in sorted(route.methods or ()))
    rules = [dataclasses.replace(r, operations=sorted(set(r.operations) | set(guards.get(r.name, ()))))
             for r in SERVICES[service].policy_rules()]
    return sample_yaml(rules)


def _status(config: Config) -> int:
    import httpx

    print(f"state directory: {config.state_dir}")
    rc = 0
    for name in _services(config):
        url = config.public_url(name)
        try:
            code = httpx.get(url + "/", timeout=2).status_code
            state = f"answers ({code})"
        except httpx.HTTPError:
            state, rc = "not answering", 1
        if hasattr(getattr(config, name), "database_url"):
            where = config.database_url(name)
        elif name in ("metadata", "novncproxy"):  # they read Compute's
            where = config.database_url("compute")
        else:
            where = "on the storage devices"
        print(f"{name:12} {url:32} {state}  database: {where}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
