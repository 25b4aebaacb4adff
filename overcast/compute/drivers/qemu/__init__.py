"""The QEMU driver: qemu-system-x86_64 over QMP, KVM when it really works, else TCG."""

from overcast.compute.drivers.qemu.driver import QemuDriver

__all__ = ["QemuDriver"]
