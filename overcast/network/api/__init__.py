"""Routes of the Neutron v2.0 API, one module per resource; `collection.py` builds the routes
every resource shares (list, show, create with bulk, update with If-Match, delete, tags)."""
