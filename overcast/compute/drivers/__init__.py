"""Virt drivers: `base.ComputeDriver` and its implementations, by name.

DRIVERS maps the `[compute] driver` option to a class path, imported on demand so that the
fake driver needs nothing of QEMU.
"""

DRIVERS: dict[str, str] = {
    "fake": "overcast.compute.drivers.fake:FakeDriver",
    "qemu": "overcast.compute.drivers.qemu:QemuDriver",
}
