"""The agent's image store: OCI images unpacked safely, cached by digest, collected LRU.

    store = ImageStore(data_dir / "images", budget=20 << 30)
    store.hold(session_id, digest)              # before ensure: collect() spares it
    ready = store.ensure(layout_dir, digest)    # -> Ensured(rootfs, config, unpacked)
    ...                                         # bwrap --ro-bind ready.rootfs /
    store.release(session_id)                   # when the session's record is removed
    store.collect()                             # LRU until under budget, never a held image

`layout` reads OCI layouts, `unpack` writes layers by file descriptor (its docstring lists
what a hostile layer cannot do), `store` keeps the cache; errors are in `errors`.
"""

from __future__ import annotations

from shipyard.agent.images.blobs import Digest
from shipyard.agent.images.errors import (
    BlobMismatch,
    HostileLayer,
    ImageError,
    MalformedImage,
    UnknownHolder,
)
from shipyard.agent.images.layout import Image, Reference, open_image, references, resolve
from shipyard.agent.images.store import Ensured, ImageStore, StoredImage
from shipyard.agent.images.unpack import Limits, Unpacked

__all__ = [
    "BlobMismatch",
    "Digest",
    "Ensured",
    "HostileLayer",
    "Image",
    "ImageError",
    "ImageStore",
    "Limits",
    "MalformedImage",
    "Reference",
    "StoredImage",
    "UnknownHolder",
    "Unpacked",
    "open_image",
    "references",
    "resolve",
]
