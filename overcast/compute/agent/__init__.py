"""The compute agent: one per host, reconciling its guests to what the control plane asked for."""
