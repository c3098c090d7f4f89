"""Unpack an image's layers, in order, into a root filesystem that nothing can escape.

Why not `umoci raw unpack`: umoci resolves paths inside the root safely, but it keeps
setuid/setgid bits, file capabilities and the image's owners, and (as root) creates device
nodes; a second pass would have to undo all of that after the fact, and its limits on entry
counts and sizes are not ours to set. Why not `tarfile`'s `data` filter alone: it refuses
symbolic links to absolute paths (common and harmless in images), resolves links against
the host rather than the image, and extracts by path name. So layers are read as streams
with `tarfile` and written here by file descriptor (see fdtree):

- `..` anywhere in a name or a hard link's target is refused; leading "/" is dropped;
- an entry whose path crosses a symbolic link is refused (nothing is written through one),
  while links themselves are created with whatever target they have;
- hard links must point at a non-directory already inside the root;
- device nodes, FIFOs and unknown entry types are dropped (and listed in the result);
- setuid, setgid and group/other write bits are cleared; owners are not applied (all is
  owned by the unpacking user, root on an agent), nor are extended attributes (so no file
  capabilities);
- whiteouts (`.wh.<name>`) and opaque markers (`.wh..wh..opq`) remove what lower layers put
  there, never what the same layer adds, and never through a link;
- entries, file bytes, decompressed bytes and metadata headers are capped (`Limits`);
- each blob's digest and size, and each layer's uncompressed digest (diff_id), are checked.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import stat
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import zstandard

from shipyard.agent.images import fdtree
from shipyard.agent.images.blobs import Readable, VerifyingReader
from shipyard.agent.images.errors import HostileLayer, ImageError, MalformedImage
from shipyard.agent.images.fdtree import Parts
from shipyard.agent.images.layout import Image, Layer, open_blob

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
#: the largest PAX or GNU long-name header read into memory
MAX_META = 1 << 20
_CHUNK = 1 << 20
_KEPT_BITS = 0o1777 & ~(stat.S_IWGRP | stat.S_IWOTH)
_DROPPED_SHOWN = 100
#: called with (bytes of layer blobs read, bytes of all the image's layer blobs)
UnpackProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class Limits:
    """What one image may unpack to: entries, bytes of file content, and per-entry overhead."""

    max_entries: int = 1_000_000
    max_bytes: int = 64 << 30

    @property
    def max_stream(self) -> int:
        """The most bytes one layer's uncompressed tar stream may have (1 KiB per entry)."""
        return self.max_bytes + self.max_entries * 1024


@dataclass
class Unpacked:
    """What unpacking did: entries read, bytes of file content written, entries dropped."""

    entries: int = 0
    bytes: int = 0
    dropped: int = 0
    #: the first paths dropped and why ("/dev/sda: block device")
    dropped_paths: list[str] = field(default_factory=list)


@dataclass
class _LayerState:
    root_fd: int
    limits: Limits
    result: Unpacked
    #: paths this layer put in place, and their parents: its whiteouts spare them
    created: set[Parts] = field(default_factory=set)

    def mark(self, parts: Parts) -> None:
        """Record that this layer put `parts` in place (so its directories stay too)."""
        self.created.update(parts[:depth] for depth in range(1, len(parts) + 1))


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses a PAX or GNU long-name header before tarfile reads it whole into memory."""

    def _proc_member(self, tarfile: tarfile.TarFile) -> Any:
        if self.type in _META_TYPES and self.size > MAX_META:
            raise HostileLayer(f"a layer has a {self.size}-byte metadata header")
        return super()._proc_member(tarfile)  # type: ignore[misc]  # tarfile's own hook


_META_TYPES = (
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
)


def unpack_image(
    image: Image,
    root: Path,
    *,
    limits: Limits | None = None,
    progress: UnpackProgress | None = None,
) -> Unpacked:
    """Unpack every layer of `image` into the directory `root` (new and empty).

    On any error the root is left half-written: the caller unpacks into a directory of its
    own and throws it away on failure (the store does).
    """
    limits = limits or Limits()
    result = Unpacked()
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        done = 0
        for layer in image.layers:
            step = _offset(progress, done, image.size)
            with open_blob(image.layout, layer.digest) as blob:
                reader = VerifyingReader(
                    blob,
                    digest=layer.digest,
                    size=layer.size,
                    what=f"layer {layer.digest}",
                    progress=step,
                )
                _unpack_layer(reader, layer, _LayerState(root_fd, limits, result))
            done += layer.size
    finally:
        os.close(root_fd)
    return result


def _offset(progress: UnpackProgress | None, done: int, total: int) -> Callable[[int], None]:
    return lambda count: progress(done + count, total) if progress is not None else None


def _unpack_layer(blob: VerifyingReader, layer: Layer, state: _LayerState) -> None:
    name = ""
    try:
        with _decompressed(blob, layer) as plain:
            stream = VerifyingReader(
                plain,
                digest=layer.diff_id,
                size=None,
                what=f"the tar of layer {layer.digest}",
                limit=state.limits.max_stream,
            )
            with tarfile.open(fileobj=stream, mode="r|", tarinfo=_BoundedTarInfo) as tar:
                while (member := _next(tar, stream)) is not None:
                    name = member.name
                    _count(state)
                    _apply(tar, member, state)
            stream.finish()
        blob.finish()
    except ImageError:
        raise
    except (tarfile.TarError, zlib.error, EOFError, zstandard.ZstdError, gzip.BadGzipFile) as exc:
        raise MalformedImage(
            f"layer {layer.digest} is not a valid {layer.compression} tar: {exc}"
        ) from exc
    except OSError as exc:
        where = f" at {name[:200]!r}" if name else ""
        raise ImageError(f"unpacking layer {layer.digest} failed{where}: {exc.strerror}") from exc


def _next(tar: tarfile.TarFile, stream: VerifyingReader) -> tarfile.TarInfo | None:
    """The next member, or None at the end (also where, as umoci writes layers, the stream
    ends right after the last member's data, without padding or end-of-archive blocks)."""
    members: list[tarfile.TarInfo] = tar.members  # type: ignore[attr-defined]
    last = members[-1] if members else None
    members.clear()  # a stream would keep every header in memory
    try:
        member = tar.next()
    except tarfile.ReadError:
        if last is not None and stream.at_end and stream.count == _data_end(last):
            return None
        raise
    if member is not None:
        members.append(member)
    return member


def _data_end(member: tarfile.TarInfo) -> int:
    has_data = member.isreg() or member.type not in tarfile.SUPPORTED_TYPES
    return member.offset_data + (member.size if has_data else 0)


@contextlib.contextmanager
def _decompressed(blob: VerifyingReader, layer: Layer) -> Iterator[Readable]:
    if layer.compression == "gzip":
        with gzip.GzipFile(fileobj=blob, mode="rb") as plain:
            yield plain
    elif layer.compression == "zstd":
        decompressor = zstandard.ZstdDecompressor()
        with decompressor.stream_reader(
            cast("IO[bytes]", blob), read_across_frames=True, closefd=False
        ) as plain:
            yield plain
    else:
        yield blob


def _count(state: _LayerState) -> None:
    state.result.entries += 1
    if state.result.entries > state.limits.max_entries:
        raise HostileLayer(f"the image has more than {state.limits.max_entries} entries")


def _apply(tar: tarfile.TarFile, member: tarfile.TarInfo, state: _LayerState) -> None:
    parts = fdtree.split(member.name)
    if not parts:
        return  # the root itself: it keeps its own mode
    if parts[-1].startswith(WHITEOUT):
        _whiteout(parts, state)
    elif member.isdir():
        _directory(parts, member, state)
    elif member.isreg():
        _file(tar, parts, member, state)
    elif member.issym():
        _symlink(parts, member, state)
    elif member.islnk():
        _hardlink(parts, member, state)
    else:
        _drop(parts, member, state)


def _safe_mode(mode: int) -> int:
    return mode & _KEPT_BITS


def _directory(parts: Parts, member: tarfile.TarInfo, state: _LayerState) -> None:
    with _parent(parts, state) as parent:
        mode = fdtree.mode_at(parent, parts[-1])
        if mode is None or not stat.S_ISDIR(mode):
            fdtree.remove(parent, parts[-1])
            os.mkdir(parts[-1], 0o700, dir_fd=parent)
    with fdtree.opened_dir(state.root_fd, parts, create=False) as fd:
        assert fd is not None  # made just above
        # owner rwx stays: the unpacking user (root) writes the next entries into it
        os.fchmod(fd, _safe_mode(member.mode) | stat.S_IRWXU)
    state.mark(parts)


def _file(tar: tarfile.TarFile, parts: Parts, member: tarfile.TarInfo, state: _LayerState) -> None:
    result = state.result
    if member.size > state.limits.max_bytes - result.bytes:
        raise HostileLayer(f"the image's files hold more than {state.limits.max_bytes} bytes")
    source = tar.extractfile(member)
    assert source is not None  # a regular member always has data
    with _parent(parts, state) as parent:
        fdtree.remove(parent, parts[-1])
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(parts[-1], flags, 0o600, dir_fd=parent)
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                out.write(chunk)
            os.fchmod(fd, _safe_mode(member.mode))
            _set_mtime(fd, member.mtime)
    result.bytes += member.size
    state.mark(parts)


def _symlink(parts: Parts, member: tarfile.TarInfo, state: _LayerState) -> None:
    if not member.linkname:
        raise MalformedImage(f"the link {fdtree.show(parts)} has no target")
    with _parent(parts, state) as parent:
        fdtree.remove(parent, parts[-1])
        os.symlink(member.linkname, parts[-1], dir_fd=parent)
        with contextlib.suppress(OverflowError, ValueError, OSError):
            os.utime(parts[-1], (member.mtime, member.mtime), dir_fd=parent, follow_symlinks=False)
    state.mark(parts)


def _hardlink(parts: Parts, member: tarfile.TarInfo, state: _LayerState) -> None:
    target = fdtree.split(member.linkname)
    if not target or target == parts:
        raise MalformedImage(f"the hard link {fdtree.show(parts)} has no usable target")
    with fdtree.opened_dir(state.root_fd, target[:-1], create=False) as source:
        mode = None if source is None else fdtree.mode_at(source, target[-1])
        if source is None or mode is None or stat.S_ISDIR(mode):
            raise MalformedImage(
                f"the hard link {fdtree.show(parts)} points at {fdtree.show(target)}, "
                "which is not a file in the image"
            )
        with _parent(parts, state) as parent:
            fdtree.remove(parent, parts[-1])
            os.link(
                target[-1], parts[-1], src_dir_fd=source, dst_dir_fd=parent, follow_symlinks=False
            )
    state.mark(parts)


def _whiteout(parts: Parts, state: _LayerState) -> None:
    parent_parts = parts[:-1]
    if parts[-1] == OPAQUE:
        with fdtree.opened_dir(state.root_fd, parent_parts, create=False) as parent:
            if parent is not None:
                fdtree.prune(parent, parent_parts, state.created)
        return
    name = parts[-1].removeprefix(WHITEOUT)
    if name in ("", ".", ".."):
        raise HostileLayer(f"a whiteout names no entry: {fdtree.show(parts)}")
    if (*parent_parts, name) in state.created:
        return  # a whiteout hides lower layers only
    with fdtree.opened_dir(state.root_fd, parent_parts, create=False) as parent:
        if parent is not None:
            fdtree.remove(parent, name)


def _drop(parts: Parts, member: tarfile.TarInfo, state: _LayerState) -> None:
    """A device node, FIFO or unknown type: the entry replaces what was there with nothing."""
    kinds = {tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device"}
    kind = kinds.get(member.type, "FIFO" if member.isfifo() else f"entry of type {member.type!r}")
    with fdtree.opened_dir(state.root_fd, parts[:-1], create=False) as parent:
        if parent is not None:
            fdtree.remove(parent, parts[-1])
    result = state.result
    result.dropped += 1
    if len(result.dropped_paths) < _DROPPED_SHOWN:
        result.dropped_paths.append(f"{fdtree.show(parts)}: {kind}")


@contextlib.contextmanager
def _parent(parts: Parts, state: _LayerState) -> Iterator[int]:
    """The directory `parts` goes in, made (with its parents) where missing."""
    with fdtree.opened_dir(state.root_fd, parts[:-1], create=True, made=state.created) as fd:
        assert fd is not None  # create=True always yields a directory
        yield fd


def _set_mtime(fd: int, mtime: float) -> None:
    with contextlib.suppress(OverflowError, ValueError, OSError):
        os.utime(fd, (mtime, mtime))
