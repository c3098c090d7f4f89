"""Host programs for the sessions that run inside an image (DESIGN §5, §6).

In an image the session's / is the image's: its /usr/bin/setpriv, its libc, its dynamic
loader and NSS modules are whatever the image's author put there. The one step that runs
as root inside the sandbox (setpriv, dropping to the session uid) must therefore run host
code only. The agent copies the host's setpriv, its ELF interpreter and the exact
libraries it loads (as ldd lists them) into a directory of its own, bound read-only at
/.shipyard, and runs setpriv through that interpreter with --library-path and
--inhibit-cache: no file of the image is loaded. /etc/ld.so.preload, which every dynamic
loader reads, comes from the session's own /etc (shipyard.agent.etc never copies the
image's), and the environment of that step is empty.

The host's busybox comes along where there is one: it is the shell of a session whose
image has no /bin/sh (it runs as the session uid, like the image's own shell would).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

#: where the directory is bound inside the sandbox (an image's own entry of that name is hidden)
MOUNT = PurePosixPath("/.shipyard")
_LOADER = "ld.so"
_LIBRARIES = "lib"
_NEEDED = re.compile(r"^\s*(\S+) => (/\S+) \(0x[0-9a-f]+\)$")
_INTERPRETER = re.compile(r"^\s*(/\S+) \(0x[0-9a-f]+\)$")


class HostBinError(Exception):
    """A host program cannot be made ready for image sessions (says which and why)."""


@dataclass(frozen=True)
class Program:
    """A host binary, its ELF interpreter (None: statically linked) and the libraries it
    loads, as (name it is loaded by, host file)."""

    path: Path
    interpreter: Path | None
    libraries: tuple[tuple[str, Path], ...]


@dataclass(frozen=True)
class HostBin:
    """The prepared directory (bound at MOUNT) and the argv prefixes, as seen inside the
    sandbox, that run setpriv and, where busybox was found, a shell (None: none)."""

    directory: Path
    setpriv: tuple[str, ...]
    shell: tuple[str, ...] | None


def inspect(path: str) -> Program:
    """What `path` needs to run: its interpreter and libraries, from ldd (run on the host,
    on a host binary)."""
    real = Path(os.path.realpath(path))
    done = subprocess.run(  # noqa: S603 - ldd on a host binary, no shell
        [shutil.which("ldd") or "/usr/bin/ldd", str(real)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
    )
    if "not a dynamic executable" in done.stdout + done.stderr:
        return Program(path=real, interpreter=None, libraries=())
    if done.returncode != 0:
        raise HostBinError(f"ldd {real} failed: {done.stderr.strip()[-200:]}")
    interpreter: Path | None = None
    libraries = []
    for line in done.stdout.splitlines():
        if "not found" in line:
            raise HostBinError(f"{real} needs a library that is missing: {line.strip()}")
        if needed := _NEEDED.match(line):
            libraries.append((needed[1], Path(os.path.realpath(needed[2]))))
        elif found := _INTERPRETER.match(line):
            interpreter = Path(os.path.realpath(found[1]))
    if interpreter is None:
        raise HostBinError(f"ldd named no dynamic loader for {real}")
    return Program(path=real, interpreter=interpreter, libraries=tuple(libraries))


def prepare(state_dir: Path, *, setpriv: str, busybox: str | None) -> HostBin:
    """Copy setpriv (and busybox, when given) with what they load into `state_dir`.

    Named after what it holds, so a host upgrade makes a new copy for new sessions while
    running ones keep theirs (as shipyard.agent.etc.prepare_base does).
    """
    programs = {"setpriv": inspect(setpriv)}
    if busybox is not None:
        programs["busybox"] = inspect(busybox)
    files = dict(_files(programs))
    digest = hashlib.sha256()
    for name, source in sorted(files.items()):
        info = source.stat()
        digest.update(f"{name}|{source}|{info.st_size}|{info.st_mtime_ns}\n".encode())
    directory = state_dir / f"hostbin-{digest.hexdigest()[:16]}"
    if not directory.is_dir():
        _copy(files, into=directory)
    return HostBin(
        directory=directory,
        setpriv=_argv(programs["setpriv"], "setpriv"),
        shell=(*_argv(programs["busybox"], "busybox"), "sh") if "busybox" in programs else None,
    )


def _files(programs: dict[str, Program]) -> Iterator[tuple[str, Path]]:
    """(path in the directory, host file) for every file the programs need."""
    for name, program in programs.items():
        yield name, program.path
        if program.interpreter is not None:
            yield _LOADER, program.interpreter
        for soname, library in program.libraries:
            yield f"{_LIBRARIES}/{soname}", library


def _argv(program: Program, name: str) -> tuple[str, ...]:
    """How the sandbox runs `name` from the directory: through the host's loader, which
    looks for libraries in the directory alone."""
    if program.interpreter is None:
        return (str(MOUNT / name),)
    loader, libraries = str(MOUNT / _LOADER), str(MOUNT / _LIBRARIES)
    return (loader, "--inhibit-cache", "--library-path", libraries, str(MOUNT / name))


def _copy(files: dict[str, Path], *, into: Path) -> None:
    """Fill `into` atomically: root's files, 0755, readable and runnable by the session."""
    staging = Path(tempfile.mkdtemp(prefix=".hostbin-", dir=into.parent))
    try:
        staging.chmod(0o755)
        (staging / _LIBRARIES).mkdir(mode=0o755)
        for name, source in files.items():
            target = staging / name
            shutil.copyfile(source, target)
            target.chmod(0o755)
        staging.rename(into)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not into.is_dir():  # else another runtime made it meanwhile
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
