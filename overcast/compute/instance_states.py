"""Nova's instance state machine: vm_state, task_state, power_state, and the `status` derived
from them (nova/compute/vm_states.py, task_states.py, api/openstack/common.py _STATE_MAP).

The wire values are Nova's strings, so an operator's tooling and tempest's waiters read them
unchanged. `status_of` is the one mapping from states to the API's `status`; `states_for_status`
inverts it for the `?status=` list filter.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ALLOWED", "PROGRESS_STATUSES", "TaskState", "VmState", "allowed", "states_for_status",
           "status_of"]


class VmState:
    ACTIVE: Final = "active"
    BUILDING: Final = "building"
    PAUSED: Final = "paused"
    SUSPENDED: Final = "suspended"
    STOPPED: Final = "stopped"
    RESCUED: Final = "rescued"
    RESIZED: Final = "resized"
    SOFT_DELETED: Final = "soft-delete"
    DELETED: Final = "deleted"
    ERROR: Final = "error"
    SHELVED: Final = "shelved"
    SHELVED_OFFLOADED: Final = "shelved_offloaded"


class TaskState:
    SCHEDULING: Final = "scheduling"
    BLOCK_DEVICE_MAPPING: Final = "block_device_mapping"
    NETWORKING: Final = "networking"
    SPAWNING: Final = "spawning"
    IMAGE_SNAPSHOT: Final = "image_snapshot"
    IMAGE_PENDING_UPLOAD: Final = "image_pending_upload"
    IMAGE_UPLOADING: Final = "image_uploading"
    IMAGE_BACKUP: Final = "image_backup"
    RESIZE_PREP: Final = "resize_prep"
    RESIZE_MIGRATING: Final = "resize_migrating"
    RESIZE_MIGRATED: Final = "resize_migrated"
    RESIZE_FINISH: Final = "resize_finish"
    RESIZE_REVERTING: Final = "resize_reverting"
    RESIZE_CONFIRMING: Final = "resize_confirming"
    REBOOTING: Final = "rebooting"
    REBOOT_PENDING: Final = "reboot_pending"
    REBOOT_STARTED: Final = "reboot_started"
    REBOOTING_HARD: Final = "rebooting_hard"
    REBOOT_PENDING_HARD: Final = "reboot_pending_hard"
    REBOOT_STARTED_HARD: Final = "reboot_started_hard"
    PAUSING: Final = "pausing"
    UNPAUSING: Final = "unpausing"
    SUSPENDING: Final = "suspending"
    RESUMING: Final = "resuming"
    POWERING_OFF: Final = "powering-off"
    POWERING_ON: Final = "powering-on"
    RESCUING: Final = "rescuing"
    UNRESCUING: Final = "unrescuing"
    REBUILDING: Final = "rebuilding"
    REBUILD_BLOCK_DEVICE_MAPPING: Final = "rebuild_block_device_mapping"
    REBUILD_SPAWNING: Final = "rebuild_spawning"
    MIGRATING: Final = "migrating"
    DELETING: Final = "deleting"
    SHELVING: Final = "shelving"
    SHELVING_IMAGE_PENDING_UPLOAD: Final = "shelving_image_pending_upload"
    SHELVING_IMAGE_UPLOADING: Final = "shelving_image_uploading"
    SHELVING_OFFLOADING: Final = "shelving_offloading"
    UNSHELVING: Final = "unshelving"


V, T = VmState, TaskState
_RESIZE: dict[str | None, str] = {T.RESIZE_PREP: "RESIZE", T.RESIZE_MIGRATING: "RESIZE",
                                  T.RESIZE_MIGRATED: "RESIZE", T.RESIZE_FINISH: "RESIZE"}
_REBUILD: dict[str | None, str] = {T.REBUILDING: "REBUILD",
                                   T.REBUILD_BLOCK_DEVICE_MAPPING: "REBUILD",
                                   T.REBUILD_SPAWNING: "REBUILD"}

# vm_state -> {task_state (or "default") -> status}: Nova's _STATE_MAP.
_STATE_MAP: dict[str, dict[str | None, str]] = {
    V.ACTIVE: {"default": "ACTIVE", T.REBOOTING: "REBOOT", T.REBOOT_PENDING: "REBOOT",
               T.REBOOT_STARTED: "REBOOT", T.REBOOTING_HARD: "HARD_REBOOT",
               T.REBOOT_PENDING_HARD: "HARD_REBOOT", T.REBOOT_STARTED_HARD: "HARD_REBOOT",
               "updating_password": "PASSWORD", T.MIGRATING: "MIGRATING", **_REBUILD, **_RESIZE},
    V.BUILDING: {"default": "BUILD"},
    V.STOPPED: {"default": "SHUTOFF", **_RESIZE, **_REBUILD},
    V.RESIZED: {"default": "VERIFY_RESIZE", T.RESIZE_REVERTING: "REVERT_RESIZE"},
    V.PAUSED: {"default": "PAUSED", T.MIGRATING: "MIGRATING"},
    V.SUSPENDED: {"default": "SUSPENDED"},
    V.RESCUED: {"default": "RESCUE"},
    V.ERROR: {"default": "ERROR", **_REBUILD},
    V.DELETED: {"default": "DELETED"},
    V.SOFT_DELETED: {"default": "SOFT_DELETED"},
    V.SHELVED: {"default": "SHELVED"},
    V.SHELVED_OFFLOADED: {"default": "SHELVED_OFFLOADED"},
}

#: Statuses whose server body carries `progress` (Nova's view builder).
PROGRESS_STATUSES = frozenset({"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE",
                               "MIGRATING"})


def status_of(vm_state: str, task_state: str | None, deleted: bool = False) -> str:
    """The API `status` of a server in these states."""
    if deleted:
        return "DELETED"
    by_task = _STATE_MAP.get(vm_state)
    if by_task is None:
        return "UNKNOWN"
    return by_task.get(task_state, by_task["default"])


def states_for_status(status: str) -> tuple[set[str], set[str | None]]:
    """The vm_states and task_states a `?status=` filter value selects ("default" in the task
    set means "any task state not mapped elsewhere", i.e. the vm_state's default)."""
    vms: set[str] = set()
    tasks: set[str | None] = set()
    want = status.lower()
    for vm, by_task in _STATE_MAP.items():
        for task, mapped in by_task.items():
            if mapped.lower() == want:
                vms.add(vm)
                tasks.add(task)
    return vms, tasks


# Which states each action accepts (nova/compute/api.py @check_instance_state decorators):
# (vm_states, task_states); None in task_states means "no task running".
ALLOWED: dict[str, tuple[frozenset[str], frozenset[str | None]]] = {
    "stop": (frozenset({V.ACTIVE, V.RESCUED, V.ERROR}), frozenset({None})),
    "start": (frozenset({V.STOPPED}), frozenset({None})),
    "reboot": (frozenset({V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED, V.ERROR}),
               frozenset({None, T.REBOOTING, T.REBOOT_PENDING, T.REBOOT_STARTED, T.RESUMING,
                          T.REBOOTING_HARD, T.REBOOT_PENDING_HARD, T.REBOOT_STARTED_HARD,
                          T.UNPAUSING, T.PAUSING, T.SUSPENDING})),
    "pause": (frozenset({V.ACTIVE}), frozenset({None})),
    "unpause": (frozenset({V.PAUSED}), frozenset({None})),
    "suspend": (frozenset({V.ACTIVE}), frozenset({None})),
    "resume": (frozenset({V.SUSPENDED}), frozenset({None})),
    "resize": (frozenset({V.ACTIVE, V.STOPPED}), frozenset({None})),
    "confirm_resize": (frozenset({V.RESIZED}), frozenset({None})),
    "revert_resize": (frozenset({V.RESIZED}), frozenset({None})),
    "snapshot": (frozenset({V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED}), frozenset({None})),
    "backup": (frozenset({V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED}), frozenset({None})),
    "rebuild": (frozenset({V.ACTIVE, V.STOPPED, V.ERROR}), frozenset({None})),
    "shelve": (frozenset({V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED}), frozenset({None})),
    "shelve_offload": (frozenset({V.SHELVED}), frozenset({None})),
    "unshelve": (frozenset({V.SHELVED, V.SHELVED_OFFLOADED}), frozenset({None})),
    "rescue": (frozenset({V.ACTIVE, V.STOPPED, V.ERROR}), frozenset({None})),
    "unrescue": (frozenset({V.RESCUED}), frozenset({None})),
    "console": (frozenset({V.ACTIVE, V.STOPPED, V.PAUSED, V.SUSPENDED, V.RESIZED, V.RESCUED,
                           V.ERROR, V.BUILDING, V.SHELVED}),
                frozenset({None, *(getattr(T, n) for n in dir(T) if n.isupper())})),
}


def allowed(action: str, vm_state: str, task_state: str | None) -> bool:
    vms, tasks = ALLOWED[action]
    return vm_state in vms and task_state in tasks
