"""The Placement API (port 8778, catalog type `placement`): resource providers and their trees,
resource classes, traits, inventories, aggregates, allocations with provider and consumer
generations, usages, allocation candidates and the reshaper, microversions 1.0 to 1.39.

LIMITATIONS (docs/placement.md has the table):
- allocation candidates are listed tree by tree in provider order; Placement's
  `randomize_allocation_candidates` is not offered.
- `GET /resource_providers?resources=` filters on one provider's own capacity (as Placement);
  sharing providers count only for allocation candidates.
- no `placement-manage` commands (the database is migrated by `overcast db upgrade`).
"""
