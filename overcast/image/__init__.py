"""Image service: the Glance v2 API (as Glance 33 lists it without a cache) on durable file
stores and Object Storage.

What it serves: version discovery; images (create, list with filters/sorting/paging, show,
JSON-Patch update, delete, deactivate/reactivate); image data (streamed upload and download with
Range, md5 + sha512 checksums, content inspection for virtual size and disguised formats);
interoperable import (glance-direct, web-download with a host allow-list, copy-image between
stores); one or several file stores and swift stores (Object Storage, through its API);
members, tags, schemas, /v2/info/import and /v2/info/stores; import tasks; the metadata
definitions catalog (/v2/metadefs); per-project quotas on count and bytes.

LIMITATIONS (what Glance has and this does not):
- file and swift stores only (swift single-tenant); no Ceph/Cinder/HTTP stores, no store
  weights, no image locations API (show_multiple_locations stays off);
- no image cache API (/v2/cache), no /v2/info/usage, no /v2/info/stores/detail (versions
  2.13, 2.15 and 2.17 are listed all the same, as Glance lists them);
- the import method glance-download is not offered; no image conversion.
"""
