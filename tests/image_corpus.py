"""OCI layouts and layer tarballs made in memory, hostile ones included, for the image store.

`layer(...)` builds one uncompressed tar from entries (`file`, `directory`, `symlink`,
`hardlink`, `device`, `fifo`, `whiteout`, `opaque`); `write_layout` stores layers as an OCI
image layout and returns the manifest's digest; `hostile_cases(outside)` is the corpus of
attacks, each aimed at the directory `outside` (which must stay untouched).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import zstandard

Entry = tuple[tarfile.TarInfo, bytes | None]
Compression = Literal["none", "gzip", "zstd"]
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def _info(name: str, kind: bytes, *, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 1_700_000_000
    return info


def file(name: str, data: bytes = b"", *, mode: int = 0o644) -> Entry:
    info = _info(name, tarfile.REGTYPE, mode=mode)
    info.size = len(data)
    return info, data


def directory(name: str, *, mode: int = 0o755) -> Entry:
    return _info(name, tarfile.DIRTYPE, mode=mode), None


def symlink(name: str, target: str) -> Entry:
    info = _info(name, tarfile.SYMTYPE, mode=0o777)
    info.linkname = target
    return info, None


def hardlink(name: str, target: str) -> Entry:
    info = _info(name, tarfile.LNKTYPE, mode=0o644)
    info.linkname = target
    return info, None


def device(name: str, *, block: bool = False, major: int = 1, minor: int = 3) -> Entry:
    info = _info(name, tarfile.BLKTYPE if block else tarfile.CHRTYPE, mode=0o666)
    info.devmajor, info.devminor = major, minor
    return info, None


def fifo(name: str) -> Entry:
    return _info(name, tarfile.FIFOTYPE, mode=0o666), None


def whiteout(path: str) -> Entry:
    parent, _slash, name = path.rpartition("/")
    return file(f"{parent}/.wh.{name}" if parent else f".wh.{name}")


def opaque(directory_path: str) -> Entry:
    return file(f"{directory_path}/.wh..wh..opq")


def layer(*entries: Entry, pax: dict[str, str] | None = None, trailer: bytes = b"") -> bytes:
    """An uncompressed tar of `entries` in order (`trailer` appended after its end)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, pax_headers=pax) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue() + trailer


def lying_file(name: str, *, claimed: int, data: bytes) -> bytes:
    """A tar whose one member claims `claimed` bytes but holds only `data`."""
    info = tarfile.TarInfo(name)
    info.size = claimed
    padded = data + bytes(-len(data) % tarfile.BLOCKSIZE)
    return info.tobuf(format=tarfile.PAX_FORMAT) + padded + bytes(2 * tarfile.BLOCKSIZE)


def compress(data: bytes, compression: Compression) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def put_blob(layout: Path, data: bytes) -> str:
    digest = digest_of(data)
    path = layout / "blobs" / "sha256" / digest.removeprefix("sha256:")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def write_layout(
    layout: Path,
    layers: Sequence[bytes],
    *,
    compression: Compression = "gzip",
    docker: bool = False,
    name: str = "latest",
    config: dict[str, object] | None = None,
) -> str:
    """Store `layers` (uncompressed tars) as an image in the OCI layout at `layout`.

    Returns the manifest's digest; `docker` uses the Docker v2.2 media types (gzip only).
    Several images can share one layout (index.json lists each under its `name`).
    """
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    descriptors = []
    for tar in layers:
        blob = compress(tar, "gzip" if docker else compression)
        suffix = {"none": "", "gzip": "+gzip", "zstd": "+zstd"}[compression]
        media_type = DOCKER_LAYER if docker else OCI_LAYER + suffix
        descriptors.append(
            {"mediaType": media_type, "digest": put_blob(layout, blob), "size": len(blob)}
        )
    document = {
        "architecture": "amd64",
        "os": "linux",
        "config": config or {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [digest_of(tar) for tar in layers]},
    }
    config_blob = json.dumps(document).encode()
    config_type = (
        "application/vnd.docker.container.image.v1+json"
        if docker
        else "application/vnd.oci.image.config.v1+json"
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": (
            "application/vnd.docker.distribution.manifest.v2+json"
            if docker
            else "application/vnd.oci.image.manifest.v1+json"
        ),
        "config": {
            "mediaType": config_type,
            "digest": put_blob(layout, config_blob),
            "size": len(config_blob),
        },
        "layers": descriptors,
    }
    manifest_blob = json.dumps(manifest).encode()
    digest = put_blob(layout, manifest_blob)
    index_path = layout / "index.json"
    index = (
        json.loads(index_path.read_text())
        if index_path.exists()
        else {"schemaVersion": 2, "manifests": []}
    )
    index["manifests"].append(
        {
            "mediaType": manifest["mediaType"],
            "digest": digest,
            "size": len(manifest_blob),
            "annotations": {"org.opencontainers.image.ref.name": name},
        }
    )
    index_path.write_text(json.dumps(index))
    return digest


@dataclass(frozen=True)
class Case:
    """A hostile image: its layers, and whether the store must refuse it (else neutralise it)."""

    layers: tuple[bytes, ...]
    refused: bool


def hostile_cases(outside: Path) -> dict[str, Case]:
    """Every attack of the corpus, each aimed at `outside` (a directory holding `victim`)."""
    out = str(outside)
    up = "../" * 12 + out.lstrip("/")  # relative, climbing past any root
    refuse: Callable[..., Case] = lambda *layers: Case(tuple(layers), refused=True)  # noqa: E731
    neutralise: Callable[..., Case] = lambda *layers: Case(tuple(layers), refused=False)  # noqa: E731
    return {
        "dotdot": refuse(layer(file("../escaped", b"x"))),
        "dotdot inside a path": refuse(layer(file("a/../../escaped", b"x"))),
        "dotdot to the outside": refuse(layer(file(up + "/planted", b"x"))),
        "absolute path": neutralise(
            layer(file(out + "/victim", b"overwritten"), file("/abs", b"a"))
        ),
        "write through an absolute symlink": refuse(
            layer(symlink("out", out), file("out/planted", b"x"))
        ),
        "write through a relative symlink": refuse(
            layer(symlink("out", up), file("out/planted", b"x"))
        ),
        "write through a symlink of a lower layer": refuse(
            layer(symlink("usr", out)), layer(file("usr/planted", b"x"))
        ),
        "directory entry through a symlink": refuse(
            layer(symlink("out", out), directory("out/made"))
        ),
        "write through a chain of symlinks": refuse(
            layer(symlink("b", out), symlink("a", "b"), file("a/planted", b"x"))
        ),
        "replace a symlink with a file": neutralise(
            layer(symlink("victim", out + "/victim"), file("victim", b"overwritten"))
        ),
        "replace a symlink with a directory": neutralise(
            layer(symlink("d", out), directory("d"), file("d/planted", b"x"))
        ),
        "hard link with dotdot": refuse(layer(hardlink("h", up + "/victim"))),
        "hard link to an absolute outside path": refuse(layer(hardlink("h", out + "/victim"))),
        "hard link through a symlink": refuse(layer(symlink("s", out), hardlink("h", "s/victim"))),
        "hard link to a directory": refuse(layer(directory("d"), hardlink("h", "d"))),
        "hard link to a symlink out": neutralise(
            layer(symlink("s", out + "/victim"), hardlink("h", "s"), file("h", b"overwritten"))
        ),
        "character device": neutralise(layer(device("dev/mem", major=1, minor=1))),
        "block device": neutralise(layer(device("dev/sda", block=True, major=8, minor=0))),
        "fifo": neutralise(layer(fifo("run/pipe"))),
        "device over a lower file": neutralise(
            layer(file("dev/null", b"lower")), layer(device("dev/null"))
        ),
        "setuid and setgid bits": neutralise(
            layer(
                file("bin/su", b"#!/bin/sh\n", mode=0o4755),
                file("bin/sg", b"#!/bin/sh\n", mode=0o2755),
                directory("shared", mode=0o2777),
                file("world", b"w", mode=0o666),
            )
        ),
        "whiteout with dotdot": refuse(layer(whiteout(up + "/victim"))),
        "whiteout named dotdot": refuse(layer(directory("a"), file("a/.wh..", b""))),
        "whiteout through a symlink": refuse(
            layer(symlink("out", out)), layer(whiteout("out/victim"))
        ),
        "opaque directory through a symlink": refuse(
            layer(symlink("out", out)), layer(opaque("out"))
        ),
        "whiteout of an absolute outside path": neutralise(layer(whiteout(out + "/victim"))),
        "path too deep": refuse(layer(file("d/" * 300 + "f", b"x"))),
        "entries past the limit": refuse(layer(*(file(f"f{n}") for n in range(1200)))),
        "file bytes past the limit": refuse(layer(file("big", bytes(5 << 20)))),
        "decompressed stream past the limit": refuse(
            layer(file("small", b"x"), trailer=bytes(8 << 20))
        ),
        "oversized metadata header": refuse(
            layer(file("p", b"x"), pax={"comment": "x" * (2 << 20)})
        ),
        "size larger than the data": refuse(lying_file("short", claimed=1 << 20, data=b"abc")),
    }
