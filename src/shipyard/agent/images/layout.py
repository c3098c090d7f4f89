"""Read an OCI image layout: index.json -> manifest -> config and layers, by digest.

Only what `blobs/` holds is read, each blob checked against its digest and size as it is
read. Manifests may use the OCI or the Docker v2.2 media types; an image index (or Docker
manifest list) resolves to the manifest for this machine's platform.
"""

from __future__ import annotations

import json
import os
import platform
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from shipyard.agent.images.blobs import Digest, VerifyingReader
from shipyard.agent.images.errors import MalformedImage

Compression = Literal["none", "gzip", "zstd"]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
CONFIGS = frozenset(
    ("application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json")
)
_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
_OCI_FOREIGN = "application/vnd.oci.image.layer.nondistributable.v1.tar"
_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
LAYERS: Mapping[str, Compression] = {
    _OCI_LAYER: "none",
    _OCI_LAYER + "+gzip": "gzip",
    _OCI_LAYER + "+zstd": "zstd",
    _OCI_FOREIGN: "none",
    _OCI_FOREIGN + "+gzip": "gzip",
    _OCI_FOREIGN + "+zstd": "zstd",
    _DOCKER_LAYER: "none",
    _DOCKER_LAYER + ".gzip": "gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "gzip",
}
#: the largest manifest, index or config read into memory (as containerd caps them)
JSON_LIMIT = 8 << 20
MAX_LAYERS = 256
_ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


@dataclass(frozen=True)
class Reference:
    """An entry of index.json: a manifest (or index) and the name it is tagged with."""

    digest: Digest
    media_type: str
    name: str | None


@dataclass(frozen=True)
class Layer:
    """A layer blob: its digest and size as stored, how it is compressed, its tar's digest."""

    digest: Digest
    size: int
    compression: Compression
    diff_id: Digest


@dataclass(frozen=True)
class Image:
    """One image of a layout: its manifest's digest, its config document and its layers."""

    layout: Path
    digest: Digest
    config: Mapping[str, Any]
    layers: tuple[Layer, ...]

    @property
    def size(self) -> int:
        """The bytes of all its layer blobs (as stored, usually compressed)."""
        return sum(layer.size for layer in self.layers)


def references(layout: Path) -> list[Reference]:
    """What the layout's index.json lists, in order."""
    _check_marker(layout)
    index = _json_file(layout / "index.json", what="index.json")
    found = []
    for entry in _descriptors(index, "manifests", what="index.json"):
        annotations = entry.get("annotations")
        name = annotations.get("org.opencontainers.image.ref.name") if annotations else None
        found.append(
            Reference(
                digest=Digest.parse(entry.get("digest")),
                media_type=str(entry.get("mediaType", "")),
                name=name if isinstance(name, str) else None,
            )
        )
    return found


def resolve(layout: Path, name: str) -> Digest:
    """The digest index.json tags with `name` (org.opencontainers.image.ref.name)."""
    for reference in references(layout):
        if reference.name == name:
            return reference.digest
    raise MalformedImage(f"no image called {name!r} in {layout}")


def open_image(layout: Path, digest: Digest) -> Image:
    """The image whose manifest (or index, for this platform) has `digest`."""
    _check_marker(layout)
    _json_file(layout / "index.json", what="index.json")
    document = read_json_blob(layout, digest, size=None)
    if _kind(document) == "index":
        digest = _for_this_platform(document, what=f"index {digest}")
        document = read_json_blob(layout, digest, size=None)
        if _kind(document) != "manifest":
            raise MalformedImage(f"{digest} (chosen from an index) is not an image manifest")
    return _image(layout, digest, document)


def open_blob(layout: Path, digest: Digest) -> BinaryIO:
    """The blob's file, opened without following a link (the caller closes it)."""
    path = layout / "blobs" / digest.algorithm / digest.hex
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise MalformedImage(f"blob {digest} is missing from {layout}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise MalformedImage(f"blob {digest} in {layout} is not a regular file")
    return os.fdopen(fd, "rb")


def read_json_blob(layout: Path, digest: Digest, *, size: int | None) -> dict[str, Any]:
    """A JSON document blob, checked against its digest (and size, where known)."""
    if size is not None and not 0 <= size <= JSON_LIMIT:
        raise MalformedImage(f"blob {digest} declares {size} bytes, more than a document may")
    with open_blob(layout, digest) as blob:
        reader = VerifyingReader(
            blob, digest=digest, size=size, what=f"blob {digest}", limit=JSON_LIMIT
        )
        data = reader.read(JSON_LIMIT + 1)
        reader.finish()
    return _json_object(data, what=f"blob {digest}")


def _image(layout: Path, digest: Digest, manifest: dict[str, Any]) -> Image:
    what = f"manifest {digest}"
    if manifest.get("schemaVersion") != 2:
        raise MalformedImage(f"{what} is not schema version 2")
    config_ref = manifest.get("config")
    if not isinstance(config_ref, dict) or config_ref.get("mediaType") not in CONFIGS:
        raise MalformedImage(f"{what} has no image config of a known media type")
    config = read_json_blob(
        layout, Digest.parse(config_ref.get("digest")), size=_size(config_ref, what=what)
    )
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if (
        not isinstance(rootfs, dict)
        or rootfs.get("type") != "layers"
        or not isinstance(diff_ids, list)
    ):
        raise MalformedImage(f"the config of {what} has no rootfs of type layers")
    entries = _descriptors(manifest, "layers", what=what)
    if len(entries) != len(diff_ids):
        raise MalformedImage(f"{what} lists {len(entries)} layers, its config {len(diff_ids)}")
    if len(entries) > MAX_LAYERS:
        raise MalformedImage(f"{what} has {len(entries)} layers, more than {MAX_LAYERS}")
    layers = tuple(
        _layer(entry, diff_id, what=what) for entry, diff_id in zip(entries, diff_ids, strict=True)
    )
    return Image(layout=layout, digest=digest, config=config, layers=layers)


def _layer(entry: dict[str, Any], diff_id: object, *, what: str) -> Layer:
    media_type = entry.get("mediaType")
    compression = LAYERS.get(media_type) if isinstance(media_type, str) else None
    if compression is None:
        raise MalformedImage(f"{what} has a layer of unknown media type {str(media_type)[:100]!r}")
    return Layer(
        digest=Digest.parse(entry.get("digest")),
        size=_size(entry, what=what),
        compression=compression,
        diff_id=Digest.parse(diff_id),
    )


def _for_this_platform(index: dict[str, Any], *, what: str) -> Digest:
    machine = platform.machine()
    arch = _ARCHES.get(machine, machine)
    for entry in _descriptors(index, "manifests", what=what):
        wanted = entry.get("platform")
        if isinstance(wanted, dict) and (wanted.get("os"), wanted.get("architecture")) == (
            "linux",
            arch,
        ):
            return Digest.parse(entry.get("digest"))
    raise MalformedImage(f"{what} has no image for linux/{arch}")


def _kind(document: dict[str, Any]) -> Literal["index", "manifest"]:
    media_type = document.get("mediaType")
    if media_type in (OCI_INDEX, DOCKER_LIST) or (media_type is None and "manifests" in document):
        return "index"
    if media_type in (OCI_MANIFEST, DOCKER_MANIFEST) or (
        media_type is None and "layers" in document
    ):
        return "manifest"
    raise MalformedImage(f"not an image manifest or index (media type {str(media_type)[:100]!r})")


def _descriptors(document: dict[str, Any], key: str, *, what: str) -> list[dict[str, Any]]:
    entries = document.get(key)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise MalformedImage(f"{what} has no list of {key}")
    return entries


def _size(descriptor: dict[str, Any], *, what: str) -> int:
    size = descriptor.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise MalformedImage(f"{what} has a descriptor without a valid size")
    return size


def _check_marker(layout: Path) -> None:
    marker = _json_file(layout / "oci-layout", what="oci-layout")
    if marker.get("imageLayoutVersion") != "1.0.0":
        raise MalformedImage(f"{layout} is not an OCI image layout (version 1.0.0)")


def _json_file(path: Path, *, what: str) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            data = file.read(JSON_LIMIT + 1)
    except OSError as exc:
        raise MalformedImage(f"{path.parent} is not an OCI image layout: no {what}") from exc
    if len(data) > JSON_LIMIT:
        raise MalformedImage(f"{what} of {path.parent} is larger than {JSON_LIMIT} bytes")
    return _json_object(data, what=what)


def _json_object(data: bytes, *, what: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise MalformedImage(f"{what} is not valid JSON") from exc
    if not isinstance(document, dict):
        raise MalformedImage(f"{what} is not a JSON object")
    return document
