"""Nova's metadata API (port 8775, `overcast serve metadata`): what a guest reads about
itself at http://169.254.169.254/, relayed by the network data plane's metadata proxy.

- OpenStack paths: `/openstack` (versions), `/openstack/<version>/` (its files),
  `meta_data.json`, `user_data`, `vendor_data.json`, `vendor_data2.json`,
  `network_data.json` (from the server's Neutron ports; empty lists without Networking),
  `password` (GET; POST once by the guest, as Nova's).
- EC2 paths: `/` (versions), `/<version>/meta-data/...` (instance-id, hostname, local-ipv4,
  public-keys/0/openssh-key, ami-id, instance-type, placement/availability-zone, ...),
  `/<version>/user-data`.
- The instance is named by the proxy's headers, as Nova behind Neutron's proxy
  (`service_metadata_proxy`): `X-Instance-ID`, `X-Tenant-ID` and `X-Instance-ID-Signature`
  = HMAC-SHA256(`[compute] metadata_proxy_shared_secret`, instance id). A missing header is
  a 400, a bad signature a 403, an unknown instance (or another project's) a 404.

The documents come from compute/instance_metadata.py, which the config drive uses too.

LIMITATIONS: no lookup by the guest's source address (Nova without the proxy), no
X-Metadata-Provider (Octavia's load balancer form), no dynamic vendor data, `devices` is
empty (no device tags yet), no `openstack/content` (injected files).
"""
