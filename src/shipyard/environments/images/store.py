"""The manager's image store: one content-addressed OCI layout holding every image.

Blobs live once under `blobs/sha256/<hex>` whichever images share them; `index.json` names
each image by its environment ref (`org.opencontainers.image.ref.name`), so `skopeo`,
`umoci` and agents can read the store as a plain OCI layout. Sources never write into the
layout directly: they fill a private staging layout, and `commit` moves its blobs in and
writes the index last, under a lock, so a failed or interrupted operation leaves no image
behind (at most unreferenced blobs, removed by the next `delete`'s collection).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import Conflict, InvalidInput, NotFound
from shipyard.i18n import _

REF_NAME = "org.opencontainers.image.ref.name"
MANIFEST_TYPES = frozenset(
    {
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    }
)
_REF = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def check_ref(ref: str) -> str:
    """An environment ref: lowercase letters, digits, `.`, `_`, `-`; at most 128."""
    if not _REF.match(ref):
        raise InvalidInput(
            _("An image name uses lowercase letters, digits, '.', '_' and '-' (at most 128).")
        )
    return ref


def check_digest(digest: str) -> str:
    if not _DIGEST.match(digest):
        raise InvalidInput(_("Not a sha256 digest: {digest}").format(digest=digest[:80]))
    return digest


@dataclass(frozen=True)
class ImageConfig:
    """What a session takes from the image: command, environment, directory, labels."""

    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    working_dir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> ImageConfig:
        config = document.get("config") or {}
        return cls(
            env=tuple(config.get("Env") or ()),
            entrypoint=tuple(config.get("Entrypoint") or ()),
            cmd=tuple(config.get("Cmd") or ()),
            working_dir=config.get("WorkingDir") or "",
            labels=dict(config.get("Labels") or {}),
        )


@dataclass(frozen=True)
class Layer:
    digest: str
    size: int
    media_type: str


@dataclass(frozen=True)
class ImageInfo:
    """One stored image: its manifest digest, bytes in all its blobs, layers, config."""

    ref: str
    digest: str
    size: int
    config_digest: str
    layers: tuple[Layer, ...]
    config: ImageConfig


class ImageStore:
    """The OCI layout under `<root>/oci`, with staging beside it on the same filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.layout = root / "oci"
        self.staging_root = root / "staging"

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> ImageStore:
        return cls(data_dir / "images")

    # Reading

    def refs(self) -> list[str]:
        """Every stored image's ref, sorted."""
        return sorted(_ref_of(entry) for entry in self._index()["manifests"])

    def info(self, ref: str) -> ImageInfo:
        """The stored image `ref`; NotFound if there is none."""
        for entry in self._index()["manifests"]:
            if _ref_of(entry) == ref:
                return _read_info(self.layout, ref=ref, digest=entry["digest"])
        raise NotFound(_("There is no image {ref}.").format(ref=ref))

    def images(self) -> list[ImageInfo]:
        return [self.info(ref) for ref in self.refs()]

    def blob_path(self, digest: str) -> Path:
        """Where a blob lives (to serve it by digest); NotFound if the store lacks it."""
        path = _blob(self.layout, check_digest(digest))
        if not path.is_file():
            raise NotFound(_("The image store has no blob {digest}.").format(digest=digest))
        return path

    # Writing

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A private work directory beside the layout, removed whatever happens."""
        self.staging_root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="work-", dir=self.staging_root))
        try:
            yield work
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def ensure_free(self, ref: str, *, replace: bool) -> None:
        """Refuse early (before any work) to overwrite an image unless asked to."""
        check_ref(ref)
        if not replace and ref in self.refs():
            raise Conflict(_("An image named {ref} already exists.").format(ref=ref))

    def commit(self, staged: Path, *, staged_ref: str, ref: str, replace: bool) -> ImageInfo:
        """Move a staged layout's image into the store as `ref`; the index is written last."""
        check_ref(ref)
        entry = _find_entry(staged, staged_ref)
        staged_info = _read_info(staged, ref=ref, digest=entry["digest"])
        _verify_layers(staged, staged_info)
        digests = [entry["digest"], staged_info.config_digest]
        digests += [layer.digest for layer in staged_info.layers]
        with self._locked():
            index = self._index()
            if not replace and any(_ref_of(e) == ref for e in index["manifests"]):
                raise Conflict(_("An image named {ref} already exists.").format(ref=ref))
            for digest in digests:
                _move_blob(staged, self.layout, digest)
            kept = [e for e in index["manifests"] if _ref_of(e) != ref]
            new_entry = {
                "mediaType": entry.get("mediaType", "application/vnd.oci.image.manifest.v1+json"),
                "digest": entry["digest"],
                "size": entry["size"],
                "annotations": {REF_NAME: ref},
            }
            self._write_index({**index, "manifests": [*kept, new_entry]})
            if replace:
                self._collect()
        return self.info(ref)

    def delete(self, ref: str) -> None:
        """Forget `ref` and remove the blobs no other image uses; NotFound if absent."""
        with self._locked():
            index = self._index()
            kept = [e for e in index["manifests"] if _ref_of(e) != ref]
            if len(kept) == len(index["manifests"]):
                raise NotFound(_("There is no image {ref}.").format(ref=ref))
            self._write_index({**index, "manifests": kept})
            self._collect()

    # Internals

    def _index(self) -> dict[str, Any]:
        try:
            index: dict[str, Any] = json.loads((self.layout / "index.json").read_text())
        except FileNotFoundError:
            return {"schemaVersion": 2, "manifests": []}
        return index

    def _write_index(self, index: Mapping[str, Any]) -> None:
        _write_atomic(self.layout / "index.json", json.dumps(index, indent=1).encode())

    def _init_layout(self) -> None:
        (self.layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        layout_file = self.layout / "oci-layout"
        if not layout_file.exists():
            _write_atomic(layout_file, b'{"imageLayoutVersion": "1.0.0"}')

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time, across threads and processes (flock per open file)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "store.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._init_layout()
            yield

    def _collect(self) -> None:
        """Remove blobs no indexed image refers to (called with the lock held)."""
        used: set[str] = set()
        for entry in self._index()["manifests"]:
            info = _read_info(self.layout, ref=_ref_of(entry), digest=entry["digest"])
            used |= {entry["digest"], info.config_digest, *(x.digest for x in info.layers)}
        for blob in (self.layout / "blobs" / "sha256").iterdir():
            if f"sha256:{blob.name}" not in used:
                blob.unlink()


def _ref_of(entry: Mapping[str, Any]) -> str:
    return str((entry.get("annotations") or {}).get(REF_NAME, ""))


def _blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / check_digest(digest).removeprefix("sha256:")


def _find_entry(layout: Path, ref: str) -> dict[str, Any]:
    index = json.loads((layout / "index.json").read_text())
    for entry in index.get("manifests", []):
        if _ref_of(entry) == ref:
            if entry.get("mediaType") not in MANIFEST_TYPES:
                raise InvalidInput(_("Only single-platform images can be stored."))
            return dict(entry)
    raise InvalidInput(_("The staged image {ref} is missing.").format(ref=ref))


def _read_info(layout: Path, *, ref: str, digest: str) -> ImageInfo:
    manifest_bytes = _blob(layout, digest).read_bytes()
    manifest = json.loads(manifest_bytes)
    config_digest = manifest["config"]["digest"]
    config = json.loads(_blob(layout, config_digest).read_bytes())
    layers = tuple(
        Layer(digest=check_digest(x["digest"]), size=int(x["size"]), media_type=x["mediaType"])
        for x in manifest.get("layers", [])
    )
    size = len(manifest_bytes) + int(manifest["config"]["size"]) + sum(x.size for x in layers)
    return ImageInfo(
        ref=ref,
        digest=digest,
        size=size,
        config_digest=config_digest,
        layers=layers,
        config=ImageConfig.from_json(config),
    )


def _verify_layers(layout: Path, info: ImageInfo) -> None:
    """Every layer the manifest names is there with the size it gives."""
    for layer in info.layers:
        path = _blob(layout, layer.digest)
        if not path.is_file() or path.stat().st_size != layer.size:
            raise InvalidInput(
                _("The image is incomplete: layer {digest} is missing or truncated.").format(
                    digest=layer.digest
                )
            )


def _move_blob(source_layout: Path, target_layout: Path, digest: str) -> None:
    """Rename a staged blob into the store unless the store already holds it."""
    target = _blob(target_layout, digest)
    if target.exists():
        return
    source = _blob(source_layout, digest)
    os.chmod(source, 0o644)
    os.replace(source, target)


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
