"""The Swift proxy: the public API over the ring and the storage nodes."""
