"""Compute (Nova): servers on QEMU; the hypervisor layer lives in `drivers/`."""
