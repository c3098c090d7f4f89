"""The image store's errors, each with a `message` meant for an admin or the image's owner.

ImageError               base of the image store's errors
 ├── MalformedImage      the layout, a manifest, a config or a layer is not a valid image
 │    └── BlobMismatch   a blob's content does not match its digest or size
 ├── HostileLayer        a layer tries to reach outside its root, or past a limit
 └── UnknownHolder       a session id that cannot name a hold
"""

from __future__ import annotations


class ImageError(Exception):
    """Base of the image store's errors; `message` says what went wrong in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedImage(ImageError):
    """The OCI layout, a manifest, a config or a layer cannot be read as an image."""


class BlobMismatch(MalformedImage):
    """A blob's bytes do not hash to its digest, or are not as long as its descriptor says."""


class HostileLayer(ImageError):
    """A layer entry would land outside the root filesystem, or the image exceeds a limit."""


class UnknownHolder(ImageError):
    """A hold was asked for with something that is not a session id."""
