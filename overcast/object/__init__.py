"""Object Storage: Swift's v1 API (accounts, containers, objects) on a partitioned ring with
three replicas, and the daemons that keep the replicas whole (replicator, auditor, expirer,
updater).

Layout: `ring.py` (placement), `storage/` (a storage node: object files, account and
container databases, its HTTP server), `proxy/` (the logic of the public API: quorum writes,
reads that fail over, auth and ACLs, listings, large objects, temp URLs, versioning, bulk),
`api/` (the routes), `agent/` (the daemons). See docs/object.md for what is supported.

LIMITATIONS: one storage policy (replication, no erasure coding); no container sync; no
object versioning with version ids (X-Versions-Enabled); no tempauth (v1.0 auth asks
Keystone).
"""
