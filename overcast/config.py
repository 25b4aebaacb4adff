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
from dataclasses import dataclass
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


class _ServiceSection(_Section):
    """What every API service's section has: on or off, its port, database, policy, body cap and
    workers (each service sets its own default of the first two)."""

    enabled: bool = Field(True, description="Run this service in `overcast up`.")
    port: int = Field(0, description="Port of this service's API.")
    database_url: str = Field(
        "", description="SQLAlchemy URL of this service's database; empty means the SQLite file "
        "<section>.sqlite in the state directory (identity.sqlite for [identity]). E.g. "
        "mysql+asyncmy://root@127.0.0.1/overcast_identity.")
    policy_file: str = Field("", description="YAML file with policy overrides.")
    max_request_body_size: int = Field(
        MAX_REQUEST_BODY_SIZE, ge=1, description="Largest JSON request body in bytes (413 "
        "above it); streamed data (image data, objects) is exempt.")
    workers: int = Field(1, ge=1, description="Worker processes for `overcast serve` of this "
                         "service.")


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
        description="Message bus between the control plane and the agents: memory:// (all in "
        "one process) or RabbitMQ as rabbit://user:pass@host:5672/[vhost] (amqp:// and amqps:// "
        "too); ?prefix=NAME names its exchanges and queues (default overcast), so two clouds "
        "can share a broker.",
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


class IdentitySection(_ServiceSection):
    """[identity]: the Keystone v3 service."""

    enabled: bool = Field(True, description="Run the identity API in `overcast up`.")
    port: int = Field(5000, description="Port of the identity API.")
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
    list_limit: int = Field(0, ge=0, description="Cap on list sizes; 0 means no cap.")
    cache_check_interval: float = Field(
        0.1, ge=0, description="Seconds between checks whether another worker or node wrote "
        "(revoked a token, changed a role); writes in this process are seen at once.")
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


class ImageSection(_ServiceSection):
    """[image]: the Glance v2 service."""

    enabled: bool = Field(True, description="Run the image API in `overcast up`.")
    port: int = Field(9292, description="Port of the image API.")
    store_dir: str = Field("", description="Directory of image data (the file store); empty "
                           "means STATE_DIR/images.")
    extra_stores: str = Field(
        "", description="More stores besides the default one (id `file`, in store_dir), as "
        "comma-separated id=store pairs: a directory (or file:DIRECTORY) for a file store, "
        "`swift` (or swift:CONTAINER) for a store in Object Storage, as glance_store's swift "
        "driver; e.g. `fast=/srv/ssd/images,swift-store=swift`. Uploads and imports can then "
        "name a store, and an image can live in several.")
    swift_store_container: str = Field(
        "glance", description="Container of a swift store's images (Glance's "
        "swift_store_container), in the service project's account (single tenant).")
    swift_store_large_object_size: int = Field(
        5120, ge=1, description="Images of this many MB or more, or of unknown size, go to a "
        "swift store as a Dynamic Large Object (Glance's swift_store_large_object_size).")
    swift_store_large_object_chunk_size: int = Field(
        200, ge=1, le=5120, description="Size in MB of the segments of a Dynamic Large Object "
        "(Glance's swift_store_large_object_chunk_size).")
    swift_store_create_container_on_put: bool = Field(
        True, description="Create the container on the first upload if it does not exist "
        "(Glance's option of that name, whose default is false).")
    swift_store_endpoint_type: Literal["publicURL", "internalURL", "adminURL"] = Field(
        "publicURL", description="Which object-store endpoint of the catalog a swift store "
        "uses (Glance's swift_store_endpoint_type).")
    swift_store_region: str = Field(
        "", description="Region of that endpoint; empty: the first the catalog lists.")
    staging_dir: str = Field("", description="Directory where glance-direct and web-download "
                             "stage data before import; empty means STATE_DIR/image-staging.")
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


class ComputeSection(_ServiceSection):
    """[compute]: the Nova v2.1 API (preview: off in `overcast up` until its interop part
    passes)."""

    enabled: bool = Field(False, description="Run the compute API in `overcast up`.")
    port: int = Field(8774, description="Port of the compute API.")
    max_limit: int = Field(1000, ge=1, description="Largest page a list returns, and the page "
                           "size of a list asked without a limit (Nova's [api] max_limit).")
    default_availability_zone: str = Field(
        "nova", description="Availability zone of hosts in no aggregate with a zone "
        "(Nova's default_availability_zone).")
    internal_service_availability_zone: str = Field(
        "internal", description="Availability zone shown for services that run no servers "
        "(scheduler, conductor).")
    service_down_time: int = Field(
        60, ge=1, description="Seconds without a heartbeat after which a compute service is "
        "reported down.")
    quota_instances: int = Field(10, ge=-1, description="Servers per project; -1: no limit.")
    quota_cores: int = Field(20, ge=-1, description="vCPUs per project; -1: no limit.")
    quota_ram: int = Field(51200, ge=-1, description="MiB of RAM per project; -1: no limit.")
    quota_metadata_items: int = Field(128, ge=-1, description="Metadata items per server.")
    quota_injected_files: int = Field(5, ge=-1, description="Injected files per server.")
    quota_injected_file_content_bytes: int = Field(
        10240, ge=-1, description="Bytes per injected file.")
    quota_injected_file_path_length: int = Field(
        255, ge=-1, description="Length of an injected file's path.")
    quota_key_pairs: int = Field(100, ge=-1, description="Keypairs per user.")
    quota_server_groups: int = Field(10, ge=-1, description="Server groups per project.")
    quota_server_group_members: int = Field(10, ge=-1, description="Servers per server group.")
    driver: str = Field(
        "auto", description="Hypervisor of the compute agents this node runs: qemu (real VMs, "
        "KVM when it boots, else TCG), fake (simulated, instant), or auto (qemu when QEMU is "
        "installed, else fake).")
    simulated_hosts: int = Field(
        0, ge=0, description="With the fake driver: how many simulated hypervisors one process "
        "presents (0: one, named after this host).")
    host: str = Field("", description="Name of this node's compute host (default: hostname).")
    run_agents: bool = Field(
        True, description="Run this node's compute agents inside the API process (`overcast "
        "up`); off when agents run as `overcast serve compute-agent`.")
    shutdown_timeout: float = Field(
        60.0, ge=0, description="Seconds a guest gets to power off cleanly before it is forced "
        "(Nova's shutdown_timeout).")
    resync_interval: float = Field(
        30.0, gt=0, description="Seconds between the agents' full reconcile passes (power-state "
        "sync, guests deleted while the agent was down).")
    shelved_offload_time: int = Field(
        0, ge=-1, description="0: a shelved server is offloaded from its host at once (Nova's "
        "default); any other value keeps it on its host until shelveOffload (no periodic "
        "offload yet).")
    metadata_proxy_shared_secret: str = Field(
        "", description="Secret shared with the metadata proxies of the network data plane: "
        "they sign X-Instance-ID with it (HMAC-SHA256 in X-Instance-ID-Signature) and the "
        "metadata service checks it (Nova's [neutron] metadata_proxy_shared_secret); empty "
        "means the one generated into STATE_DIR/metadata-proxy-secret.")
    novncproxy_base_url: str = Field(
        "", description="Public URL of the noVNC console page ([vnc] novncproxy_base_url); "
        "empty means http://PUBLIC_HOST:PORT/vnc_auto.html, PORT being [novncproxy] port.")
    serialproxy_base_url: str = Field(
        "", description="Public URL of the serial console websocket proxy ([serial_console] "
        "base_url); empty means ws://PUBLIC_HOST:6083/.")
    console_token_ttl: int = Field(
        600, ge=1, description="Seconds a console token stays valid ([consoleauth] "
        "token_ttl).")


class MetadataSection(_Section):
    """[metadata]: Nova's metadata API, which guests read (through the network data plane's
    metadata proxy, or the QEMU driver's user-mode forward). It reads the compute database,
    so it runs where Compute's API does: in `overcast up` when compute is enabled."""

    enabled: bool = Field(True, description="Run the metadata API in `overcast up` (when "
                          "compute runs).")
    port: int = Field(8775, description="Port of the metadata API.")
    workers: int = Field(1, ge=1, description="Worker processes for `overcast serve "
                         "metadata`.")


class NovncproxySection(_Section):
    """[novncproxy]: the noVNC console proxy (Nova's nova-novncproxy), which joins a browser's
    websocket to a guest's VNC server after checking the console token. Runs beside Compute."""

    enabled: bool = Field(True, description="Run the console proxy in `overcast up` (when "
                          "compute runs).")
    port: int = Field(6080, description="Port of the console proxy.")
    web: str = Field("/usr/share/novnc", description="Directory of the noVNC pages it serves "
                     "(Debian's novnc package).")
    workers: int = Field(1, ge=1, description="Worker processes for `overcast serve "
                         "novncproxy`.")


class PlacementSection(_ServiceSection):
    """[placement]: the Placement API (resource providers, inventories, allocations)."""

    enabled: bool = Field(True, description="Run the placement API in `overcast up`.")
    port: int = Field(8778, description="Port of the placement API.")
    max_allocation_candidates: int = Field(
        -1, ge=-1, description="Most allocation candidates one request returns when it names "
        "no limit; -1: all (Placement's [placement] max_allocation_candidates).")
    incomplete_consumer_project_id: str = Field(
        "00000000-0000-0000-0000-000000000000", description="Project of consumers whose "
        "allocations were written before microversion 1.8 (which made project_id required).")
    incomplete_consumer_user_id: str = Field(
        "00000000-0000-0000-0000-000000000000", description="User of consumers whose "
        "allocations were written before microversion 1.8.")
    allocation_conflict_retry_count: int = Field(
        10, ge=1, description="Times an allocation write is retried when another writer "
        "changed one of its providers at the same moment, before a 409.")


class NetworkSection(_ServiceSection):
    """[network]: the Neutron v2.0 service and this host's network agent."""

    enabled: bool = Field(True, description="Run the networking API in `overcast up` (its "
                          "interop tests pass; `overcast serve network` runs it alone).")
    port: int = Field(9696, description="Port of the networking API.")
    base_mac: str = Field("fa:16:3e:00:00:00", description="MAC addresses of ports start with "
                          "this base's non-zero octets; the rest is random (Neutron's base_mac).")
    global_physnet_mtu: int = Field(1500, ge=68, description="MTU of the underlying physical "
                                    "network; a VXLAN network gets 50 bytes less.")
    tenant_network_types: str = Field(
        "vxlan", description="Comma-separated network types given to project networks, in order "
        "of preference (vxlan, vlan, flat, local).")
    vni_ranges: str = Field("1:1000", description="VXLAN ids project networks take, as "
                            "MIN:MAX[,MIN:MAX...] (ML2's [ml2_type_vxlan] vni_ranges).")
    network_vlan_ranges: str = Field(
        "", description="Physical networks and their VLAN ranges, as PHYSNET[:MIN:MAX],...; a "
        "physical network without a range takes only provider VLANs (ML2's network_vlan_ranges).")
    flat_networks: str = Field("*", description="Physical networks flat networks may use; * any.")
    default_availability_zones: str = Field(
        "nova", description="Availability zones of networks and routers that name none.")
    dns_domain: str = Field("openstacklocal.", description="Domain of ports' DNS names.")
    allow_overlapping_ips: bool = Field(True, description="Let subnets of different networks "
                                        "use the same address ranges.")
    max_dns_nameservers: int = Field(5, ge=0, description="Largest dns_nameservers list.")
    max_subnet_host_routes: int = Field(20, ge=0, description="Largest host_routes list.")
    max_fixed_ips_per_port: int = Field(5, ge=1, description="Most fixed IPs on one port.")
    max_routes: int = Field(30, ge=0, description="Most static routes on one router.")
    pagination_max_limit: int = Field(-1, ge=-1, description="Largest page a list returns; -1 "
                                      "means no cap (Neutron's default).")
    quota_network: int = Field(100, ge=-1, description="Networks per project; -1: no limit.")
    quota_subnet: int = Field(100, ge=-1, description="Subnets per project.")
    quota_port: int = Field(500, ge=-1, description="Ports per project.")
    quota_router: int = Field(10, ge=-1, description="Routers per project.")
    quota_floatingip: int = Field(50, ge=-1, description="Floating IPs per project.")
    quota_security_group: int = Field(10, ge=-1, description="Security groups per project.")
    quota_security_group_rule: int = Field(100, ge=-1,
                                           description="Security group rules per project.")
    quota_subnetpool: int = Field(-1, ge=-1, description="Subnet pools per project.")
    quota_rbac_policy: int = Field(10, ge=-1, description="RBAC policies per project.")
    run_agent: bool = Field(
        True, description="Run this host's network agent (bridges, VXLAN, DHCP) in `overcast "
        "up` when the host can (root, network namespaces); off when it runs as `overcast serve "
        "network-agent`.")
    agent_host: str = Field("", description="Name of this host for the network agent: ports "
                            "whose binding:host_id is this name are wired here (default: the "
                            "compute host name, else the hostname).")
    local_ip: str = Field("", description="This host's VXLAN tunnel endpoint address (Neutron's "
                          "[vxlan] local_ip); empty: no tunnels, networks stay on this host.")
    agent_resync_interval: float = Field(
        30.0, gt=0, description="Seconds between the network agent's full reconcile passes "
        "(devices deleted by hand, lost pokes).")
    agent_report_interval: float = Field(30.0, gt=0, description="Seconds between the network "
                                         "agent's heartbeats.")
    agent_down_time: float = Field(75.0, gt=0, description="Seconds without a heartbeat after "
                                   "which /v2.0/agents shows an agent as not alive (Neutron's "
                                   "agent_down_time; keep it above twice agent_report_interval).")


class VolumeSection(_ServiceSection):
    """[volume]: the Cinder v3 block storage API, its scheduler and (in `overcast up`) this
    node's volume agent (preview: off in `overcast up` until its interop part passes)."""

    enabled: bool = Field(False, description="Run the block storage API in `overcast up`.")
    port: int = Field(8776, description="Port of the block storage API.")
    driver: Literal["file", "fake"] = Field(
        "file", description="Volume driver of this node's agent: file (a qcow2 or raw file per "
        "volume, made with qemu-img) or fake (no data; for tests).")
    volumes_dir: str = Field("", description="Directory of the file driver's volumes; empty "
                             "means STATE_DIR/volumes.")
    volume_format: Literal["qcow2", "raw"] = Field(
        "qcow2", description="Format of the file driver's volume files.")
    fake_capacity_gb: int = Field(1000, ge=1, description="Capacity the fake driver reports.")
    host: str = Field("", description="Name of this node's volume host (default: hostname); "
                      "its backend is `HOST@file` (or `HOST@fake`).")
    run_agents: bool = Field(
        True, description="Run this node's volume agent inside the API process (`overcast up`); "
        "off when it runs as `overcast serve volume-agent`.")
    default_volume_type: str = Field("__DEFAULT__", description="Type of volumes created "
                                     "without one (Cinder's default_volume_type).")
    storage_availability_zone: str = Field("nova", description="Availability zone of this "
                                           "node's volume agent.")
    default_availability_zone: str = Field(
        "", description="Zone of volumes created without one; empty: storage_availability_zone.")
    max_over_subscription_ratio: float = Field(
        20.0, ge=1.0, description="How far thin volumes may over-subscribe a pool's capacity.")
    reserved_percentage: int = Field(0, ge=0, le=100, description="Per cent of each pool kept "
                                     "free of new volumes.")
    service_down_time: int = Field(60, ge=1, description="Seconds without a heartbeat after "
                                   "which a service is reported down.")
    report_interval: float = Field(10.0, gt=0, description="Seconds between an agent's "
                                   "heartbeats (with its capacity).")
    resync_interval: float = Field(30.0, gt=0, description="Seconds between an agent's full "
                                   "reconcile passes.")
    osapi_max_limit: int = Field(1000, ge=1, description="Largest page a list returns.")
    quota_volumes: int = Field(10, ge=-1, description="Volumes per project; -1: no limit.")
    quota_snapshots: int = Field(10, ge=-1, description="Snapshots per project.")
    quota_gigabytes: int = Field(1000, ge=-1, description="GiB of volumes and snapshots per "
                                 "project.")
    quota_backups: int = Field(10, ge=-1, description="Backups per project.")
    quota_backup_gigabytes: int = Field(1000, ge=-1, description="GiB of backups per project.")
    quota_groups: int = Field(10, ge=-1, description="Groups per project.")
    quota_per_volume_gigabytes: int = Field(-1, ge=-1, description="Largest volume in GiB.")


class ObjectSection(_Section):
    """[object]: the Swift v1 proxy and, in `overcast up`, its storage nodes."""

    enabled: bool = Field(True, description="Run the object storage API (and, in the "
                          "all-in-one, its storage node and daemons) in `overcast up`.")
    port: int = Field(8080, description="Port of the object storage proxy.")
    devices: str = Field("", description="Directory whose subdirectories are this node's "
                         "devices; empty means STATE_DIR/object/devices.")
    ring_file: str = Field("", description="The ring; empty means STATE_DIR/object/"
                           "object.ring.gz (made on first start of the all-in-one: three "
                           "devices in three zones, three replicas).")
    part_power: int = Field(8, ge=0, le=24, description="Partition power of the ring the "
                            "all-in-one makes on first start.")
    replicas: int = Field(3, ge=1, description="Replicas of the ring the all-in-one makes.")
    hash_path_suffix: str = Field(
        "", description="The cluster's secret in every path hash (Swift's "
        "swift_hash_path_suffix); the same on every node; empty means the one generated into "
        "STATE_DIR/object/hash_path_suffix.")
    storage_port: int = Field(6200, description="Port of `overcast serve object-storage`.")
    node_timeout: float = Field(10.0, gt=0, description="Seconds the proxy waits for a "
                                "storage node before trying another.")
    operator_roles: str = Field("admin,member", description="Roles that make a user the "
                                "owner of their project's account (keystoneauth operator_roles).")
    reseller_admin_role: str = Field("ResellerAdmin", description="Role that may act on "
                                     "every account.")
    reseller_prefix: str = Field("AUTH_", description="Prefix of account names.")
    policy_file: str = Field("", description="YAML file with policy overrides.")
    max_file_size: int = Field(5 * 1024 ** 3 + 2, ge=1, description="Largest object, bytes.")
    replicator_interval: float = Field(30.0, gt=0, description="Seconds between replication "
                                       "passes.")
    auditor_interval: float = Field(60.0, gt=0, description="Seconds between audit passes.")
    expirer_interval: float = Field(30.0, gt=0, description="Seconds between passes of the "
                                    "expirer and the updater.")
    daemons: bool = Field(True, description="Run the replicator, auditor, expirer and updater "
                          "beside the storage servers.")


@dataclass(frozen=True)
class ImageStoreSpec:
    """One image store as configured: a directory (`file`) or a Swift container (`swift`)."""

    kind: Literal["file", "swift"]
    path: Path | None = None
    container: str | None = None


class Config(BaseModel):
    """The whole configuration of one Overcast node."""

    model_config = ConfigDict(extra="forbid")

    state_dir: Path
    default: DefaultSection = DefaultSection()
    identity: IdentitySection = IdentitySection()
    image: ImageSection = ImageSection()
    compute: ComputeSection = ComputeSection()
    metadata: MetadataSection = MetadataSection()
    novncproxy: NovncproxySection = NovncproxySection()
    placement: PlacementSection = PlacementSection()
    network: NetworkSection = NetworkSection()
    volume: VolumeSection = VolumeSection()
    object: ObjectSection = ObjectSection()
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
    def image_stores(self) -> dict[str, ImageStoreSpec]:
        """Store id -> what it is; the default store ("file") first."""
        stores = {"file": ImageStoreSpec("file", path=self.image_store_dir)}
        for item in self.image.extra_stores.split(","):
            if not item.strip():
                continue
            name, sep, where = item.partition("=")
            name, where = name.strip(), where.strip()
            if not sep or not name or not where or name in stores:
                raise ValueError(f"[image] extra_stores: bad entry {item.strip()!r}")
            kind, colon, rest = where.partition(":")
            if kind == "swift":
                container = rest.strip() if colon else self.image.swift_store_container
                if not container or "/" in container:
                    raise ValueError(f"[image] extra_stores: bad container in {item.strip()!r}")
                stores[name] = ImageStoreSpec("swift", container=container)
            else:
                path = rest.strip() if kind == "file" and colon else where
                stores[name] = ImageStoreSpec("file", path=Path(path))
        return stores

    @property
    def image_staging_dir(self) -> Path:
        d = self.image.staging_dir
        return Path(d) if d else self.state_dir / "image-staging"

    @property
    def object_dir(self) -> Path:
        return self.state_dir / "object"

    @property
    def object_devices(self) -> Path:
        d = self.object.devices
        return Path(d) if d else self.object_dir / "devices"

    @property
    def object_ring_file(self) -> Path:
        f = self.object.ring_file
        return Path(f) if f else self.object_dir / "object.ring.gz"

    @property
    def volumes_dir(self) -> Path:
        d = self.volume.volumes_dir
        return Path(d) if d else self.state_dir / "volumes"

    @property
    def fernet_key_repository(self) -> Path:
        repo = self.identity.fernet_key_repository
        return Path(repo) if repo else self.state_dir / "fernet-keys"

    @property
    def credential_key_repository(self) -> Path:
        repo = self.identity.credential_key_repository
        return Path(repo) if repo else self.state_dir / "credential-keys"


# INI section -> Config field: every field is a section of its own name, [DEFAULT] aside.
_SECTIONS: dict[str, str] = {"DEFAULT": "default",
                             **{name: name for name in Config.model_fields
                                if name not in ("default", "state_dir")}}


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
        compute=ComputeSection(**values["compute"]),
        metadata=MetadataSection(**values["metadata"]),
        novncproxy=NovncproxySection(**values["novncproxy"]),
        placement=PlacementSection(**values["placement"]),
        network=NetworkSection(**values["network"]),
        volume=VolumeSection(**values["volume"]),
        object=ObjectSection(**values["object"]),
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
