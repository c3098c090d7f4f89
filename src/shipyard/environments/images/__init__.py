"""The manager's OCI images: where they come from and the store that keeps them.

    store.ImageStore          one content-addressed OCI layout on the data dir
    registry.copy_from_registry   `skopeo copy` from a registry (credentials, TLS)
    archive.import_archive    a `docker save` tar or an OCI archive
    build.build_image         a cached `mmdebstrap` Debian base + a `uv` Python layer

Every operation takes an `OnProgress` callback (progress.py) and raises a domain error
(shipyard.errors) with a message for the user; on failure the store is left as it was.
"""
