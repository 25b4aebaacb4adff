"""Networking: the Neutron v2.0 API and its database semantics (the Linux data plane is apart).

Networks (shared, external, provider segments from configured ranges, MTU by segment type),
subnets (IPv4/IPv6, pools, SLAAC, subnet pools, address scopes), ports (fixed IPs allocated
without duplicates under any concurrency, MACs from base_mac, binding, address pairs, DHCP
options, DNS names), security groups and rules, routers, floating IPs, RBAC policies, quotas.
Every list takes Neutron's filters, `fields=`, sorting and marker pagination; every resource
has the standard attributes (tags, description, timestamps, revision_number with If-Match).

LIMITATIONS: the data plane (`agent/`) wires L2 (bridges, VXLAN) and DHCP only: no routers,
NAT, security groups or metadata proxy on the wire yet; /v2.0/agents is empty; no segments
API, trunks, QoS, port forwardings, address groups, BGP, DVR/HA routers.

Isolation is Neutron's: another project's resources are 404; an RBAC policy is seen by its
creator only; access_as_shared lets its target see the network and its subnets (`shared` reads
true for it) and create ports; access_as_external lets it allocate floating IPs and set router
gateways, and nothing more.
"""
