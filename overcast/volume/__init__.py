"""Block Storage: the Cinder v3 API, its scheduler and volume agents.

Volumes (empty, from a snapshot, from another volume, from an image), snapshots, volume types
with extra specs and access, the default type `__DEFAULT__`, quotas and usage, limits,
availability zones and os-services. Microversions 3.0 to 3.60. The API writes the wanted state;
the scheduler places the volume on an agent's pool (capacity filter and weigher); the agent
(`host@backend`) converges through its driver (file: a qcow2 or raw file per volume made with
qemu-img; fake: no data) and reports back over the bus.

LIMITATIONS: no attachments (the 3.27 attachments API and the os-attach family answer 501),
no backups, transfers, upload to image, retype, revert to snapshot, manage/unmanage, groups,
QoS specs, messages or workers; no Compute integration (server add volume, boot from volume);
no notifications on the bus; a restart during a create-from-image copy ends the volume in
`error` (the user's token is kept in memory only).
"""
