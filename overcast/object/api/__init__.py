"""The Swift v1 API's routes: one module per resource (accounts, containers, objects) and
the public documents (/info, /healthcheck, /crossdomain.xml)."""
