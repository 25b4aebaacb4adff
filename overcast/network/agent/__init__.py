"""The network agent: one per host, a level-triggered reconciler of the host's share of the
data plane (bridges, VXLAN tunnels, taps, DHCP servers) against the Networking service's state,
which it reads and reports only over the bus (`overcast.network.messages`)."""
