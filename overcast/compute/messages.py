"""What the conductor and the compute agents say to each other over the bus.

The agent never reads the database (ARCHITECTURE.md): it asks the conductor for an instance's
desired state (`DesiredInstance`), and reports what it saw or did (`InstanceReport`,
`HostReport`). All are JSON on the wire (pydantic `model_dump(mode="json")`), so the memory
and RabbitMQ transports carry them alike. Specs carry ids (image id and its properties), never
host paths: the agent resolves them through its image cache.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "COMPUTE_TOPIC",
    "CONDUCTOR_TOPIC",
    "DesiredFlavor",
    "DesiredImage",
    "DesiredInstance",
    "FaultInfo",
    "HostReport",
    "InstanceReport",
]

#: Bus topics: the conductor (any one server) and the compute agents (server = host name).
CONDUCTOR_TOPIC = "conductor"
COMPUTE_TOPIC = "compute"


class _Msg(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DesiredFlavor(_Msg):
    """A flavor as the instance holds it (Nova keeps a copy, so a deleted flavor still shows)."""

    id: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int = 0
    swap: int = 0
    extra_specs: dict[str, str] = Field(default_factory=dict)


class DesiredImage(_Msg):
    """The Image service's record of the image to boot (or to rescue/rebuild with)."""

    id: str
    name: str | None = None
    disk_format: str | None = None
    container_format: str | None = None
    min_ram: int = 0
    min_disk: int = 0
    size: int | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class DesiredInstance(_Msg):
    """What the database says an instance should be, for the agent on `host`."""

    uuid: str
    name: str
    hostname: str
    project_id: str
    user_id: str
    host: str | None
    vm_state: str
    task_state: str | None
    power_state: int
    deleted: bool = False
    flavor: DesiredFlavor
    old_flavor: DesiredFlavor | None = None
    image: DesiredImage | None = None
    config_drive: bool = False
    #: meta_data.json for the config drive, in Nova's key order.
    meta_data: dict[str, Any] = Field(default_factory=dict)
    user_data: str | None = None  # base64, as the API took it
    networks: str = "none"
    #: image_snapshot: the Image service record to upload the snapshot into.
    snapshot_image_id: str | None = None
    rebuild_image: DesiredImage | None = None


class FaultInfo(_Msg):
    code: int = 500
    message: str
    details: str | None = None


class InstanceReport(_Msg):
    """An agent's news about an instance: new states, a fault, a finished action step.

    `expected_task_state` is Nova's compare-and-set: the update applies only while the row
    still has that task_state (a delete that came in meanwhile wins).
    """

    uuid: str
    host: str
    updates: dict[str, Any] = Field(default_factory=dict)
    expected_task_state: list[str | None] | None = None
    fault: FaultInfo | None = None
    #: The instance action event this report finishes (e.g. "compute_stop_instance").
    event: str | None = None
    event_result: str = "Success"
    #: A lifecycle notification to emit (e.g. "instance.power_off.end").
    notification: str | None = None
    #: The guest is gone from the host for good (delete finished).
    destroyed: bool = False
    #: The boot failed on this host and may be retried elsewhere.
    reschedule: bool = False


class HostReport(_Msg):
    """A compute agent's heartbeat: who it is, what it has, how many guests run."""

    host: str
    node: str
    driver: str
    hypervisor_type: str
    hypervisor_version: int
    accel: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    instances: list[str] = Field(default_factory=list)
    #: Set when the hypervisor cannot be used (e.g. no QEMU): the service shows down with it.
    disabled_reason: str | None = None
