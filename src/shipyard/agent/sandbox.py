"""The bubblewrap sandbox of a session (DESIGN §5): its argv, environment and checks.

A session sees the host's system directories (/usr, /bin, /lib...) read-only, an /etc of
its own (shipyard.agent.etc), a private /proc, /dev, /tmp and /dev/shm, its owner's home as
/home/work (or a scratch /home/work of its own) and its folders under /home/work/<name>;
it has its own PID, IPC, UTS and network namespaces (shipyard.agent.network), runs with no
capabilities as its user's uid under a seccomp filter (shipyard.agent.seccomp), and sees as
many CPUs as it was given.

As root, bwrap sets the sandbox up (binding paths the session uid could not even reach)
and `setpriv` inside it drops to the session uid, clears groups, capabilities and sets
no_new_privs. Nothing the session controls reaches a privileged process: bwrap and setpriv
run with an empty environment, and only then, as the session uid, a shell loads the
session's environment from a file descriptor and execs the command. So LD_PRELOAD and
friends cannot touch the privileged steps, and the values never appear in a process list.
Not as root, bwrap makes a user namespace instead and the session runs as the agent's uid.

A session in an image (SessionSpec.image) sees the image's entries instead of the host's
system directories, and the image's /etc with the generated files laid over it; all the
rest is as above. There nothing it runs as root may come from the image: setpriv, its
dynamic loader and libraries are the host's, bound at /.shipyard (shipyard.agent.hostbin).

A session given GPUs gets every NVIDIA device node and CUDA_VISIBLE_DEVICES naming its own:
with only some nodes present CUDA may renumber the devices, and the host indices the agent
assigns would no longer mean the same GPUs. The isolation between GPUs is therefore
advisory (see the enforcement warnings).
"""

from __future__ import annotations

import math
import os
import stat
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from shipyard.agent import etc, hostbin
from shipyard.agent.runtime.base import SessionSpec

WORKDIR = PurePosixPath("/home/work")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
LOADER_NAME = "shipyard-session"
_SETUID_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")
_GPU_CONTROL_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")


def bwrap_features(bwrap: str) -> frozenset[str]:
    """The optional bwrap flags this bwrap understands (--disable-userns needs bwrap 0.8)."""
    wanted = ("--disable-userns", "--unshare-cgroup-try", "--perms")
    help_text = subprocess.run(  # noqa: S603 - the configured bwrap, no shell
        [bwrap, "--help"], capture_output=True, text=True, check=False, timeout=10
    ).stdout
    return frozenset(flag for flag in wanted if flag in help_text)


#: top-level entries of an image that the sandbox makes itself (the image's are not shown)
IMAGE_OWN = frozenset({"etc", "proc", "dev", "sys", "tmp", "home", hostbin.MOUNT.name})
#: how many symbolic links a path may pass through inside an image (as the kernel's limit)
_MAX_LINKS = 40


def session_env(spec: SessionSpec, *, home: str) -> dict[str, str]:
    """The whole environment of the session's command: the image's, under the spec's
    (whose values win), plus what we decide."""
    image_env = spec.image.env if spec.image is not None else {}
    env = {"PATH": DEFAULT_PATH, **image_env, **spec.env}
    env["HOME"] = home
    env["CUDA_VISIBLE_DEVICES"] = ",".join(str(index) for index in spec.gpus)
    if spec.gpus:
        # CUDA's default order differs from NVML's; indices must mean the same GPUs.
        env.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    if spec.kind == "interactive":
        env.setdefault("TERM", "xterm-256color")
    return env


def bwrap_argv(
    bwrap: str,
    spec: SessionSpec,
    *,
    paths: SandboxPaths,
    setpriv: Sequence[str] | None,
    uid: int | None,
    gid: int | None,
    features: frozenset[str],
    shell: Sequence[str] = ("/bin/sh",),
) -> tuple[list[str], dict[str, int]]:
    """bwrap's argv for the session, and where the supervisor fills in descriptors.

    The returned slots map "loader" to the index of a shell script that loads the
    session's environment and execs the command (supervisor.env_loader), and "info",
    "block" and "seccomp" to the indices of descriptor numbers for --info-fd (bwrap
    reports the sandbox's pid), --block-fd (the command waits until its network is set
    up) and --seccomp (the filter, when `paths.seccomp` is given). With `uid`, bwrap runs
    as root and `setpriv` (the argv that runs it inside) drops to `uid`/`gid` inside;
    without, bwrap uses a user namespace. `shell` runs the loader as the session uid.
    """
    argv = [bwrap]
    if uid is None:
        argv.append("--unshare-user")
        argv += [flag for flag in ("--disable-userns",) if flag in features]
    argv += ["--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    if spec.network == "none":
        argv.append("--unshare-net")  # else the caller starts bwrap in a new one (see netns)
    argv += ["--die-with-parent", "--hostname", hostname(spec)]
    argv += [flag for flag in ("--unshare-cgroup-try",) if flag in features]
    if spec.kind == "batch":
        argv.append("--new-session")  # no terminal to push input into (TIOCSTI)
    argv += ["--cap-drop", "ALL"]
    if uid is not None:
        argv += [arg for cap in _SETUID_CAPS for arg in ("--cap-add", cap)]  # for setpriv only
    slots = {"info": len(argv) + 1, "block": len(argv) + 3}
    argv += ["--info-fd", "-1", "--block-fd", "-1"]
    if paths.seccomp:
        slots["seccomp"] = len(argv) + 1
        argv += ["--seccomp", "-1"]
    argv += [*_filesystem(spec, paths=paths, features=features), "--chdir", str(WORKDIR), "--"]
    if uid is not None and gid is not None and setpriv is not None:
        argv += [*setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        argv += ["--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", "--"]
    argv += [*shell, "-c"]
    slots["loader"] = len(argv)
    argv += ["", LOADER_NAME, *spec.effective_command]
    return argv, slots


@dataclass(frozen=True)
class SandboxPaths:
    """Host paths the sandbox is built from: the session's home, the shared /etc (the
    host's entries, or an image's) and the session's own files in it, the file shown as
    /sys/devices/system/cpu/online, the seccomp filter (None: none), the folders' bindfs
    mountpoints by name (a folder missing there is bound straight from its source), and
    for a session in an image the host programs' directory (shipyard.agent.hostbin)."""

    home: Path
    etc_base: Path
    etc: Path
    cpu_online: Path
    seccomp: Path | None
    folders: Mapping[str, Path]
    hostbin: Path | None = None


def hostname(spec: SessionSpec) -> str:
    return f"session-{spec.session_id[:8]}"


def cpu_count(spec: SessionSpec) -> int:
    """How many CPUs the session is shown: its CPU allocation rounded up (all when uncapped)."""
    available = os.cpu_count() or 1
    return available if spec.cpu <= 0 else max(1, min(available, math.ceil(spec.cpu)))


def cpu_set(spec: SessionSpec) -> list[int]:
    """The CPUs the session's processes may run on: `cpu_count` of them, starting at one
    picked from its id so that sessions spread over the machine."""
    cpus = sorted(os.sched_getaffinity(0))
    count = min(cpu_count(spec), len(cpus))
    start = int(spec.session_id[:8], 16) % len(cpus)
    return sorted(cpus[(start + offset) % len(cpus)] for offset in range(count))


def _filesystem(
    spec: SessionSpec, *, paths: SandboxPaths, features: frozenset[str]
) -> Iterator[str]:
    if spec.image is not None:
        yield from image_root(spec.image.rootfs)
        if paths.hostbin is not None:
            yield from ("--ro-bind", str(paths.hostbin), str(hostbin.MOUNT))
    else:
        for path in SYSTEM_DIRS:
            if os.path.islink(path):
                yield from ("--symlink", os.readlink(path), path)
            elif os.path.isdir(path):
                yield from ("--ro-bind", path, path)
        for path in spec.ro_paths:
            yield from ("--ro-bind", path, path)
    yield from etc.bwrap_args(paths.etc_base, paths.etc)
    open_tmpfs = ("--perms", "01777") if "--perms" in features else ()
    yield from ("--proc", "/proc", "--dev", "/dev")
    # /sys holds nothing else: the one file glibc counts the CPUs from (os.cpu_count()).
    for parent in ("/sys", "/sys/devices", "/sys/devices/system", "/sys/devices/system/cpu"):
        yield from ("--dir", parent)
    yield from ("--ro-bind", str(paths.cpu_online), "/sys/devices/system/cpu/online")
    yield from _work(spec, paths=paths, open_tmpfs=open_tmpfs)
    if spec.gpus:
        for node in gpu_nodes():
            yield from ("--dev-bind", node, node)


def image_root(rootfs: Path) -> Iterator[str]:
    """bwrap arguments that show the image's top-level entries in the sandbox's own root,
    read-only, links recreated as links (bwrap never follows a link of the image).

    Not `--ro-bind <rootfs> /`: that would leave no place to create /home/work, /etc's
    files or /sys's without writing into the image, shared by every session of it. An
    empty directory is made rather than bound (a mount costs more than a directory).
    """
    with os.scandir(rootfs) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        if entry.name in IMAGE_OWN:
            continue
        target = f"/{entry.name}"
        if entry.is_symlink():
            yield from ("--symlink", os.readlink(entry.path), target)
        elif entry.is_dir(follow_symlinks=False):
            with os.scandir(entry.path) as inside:
                empty = next(inside, None) is None
            yield from ("--dir", target) if empty else ("--ro-bind", entry.path, target)
        elif entry.is_file(follow_symlinks=False):
            yield from ("--ro-bind", entry.path, target)


def in_image(rootfs: Path, path: str) -> Path | None:
    """Where `path`, as a process with the image as / sees it, lies on the host; None when
    it does not exist there. Links are followed inside the image, never out of it."""
    pending = [part for part in path.split("/") if part not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = rootfs.joinpath(*resolved, part)
        try:
            mode = candidate.lstat().st_mode
        except OSError:
            return None
        if stat.S_ISLNK(mode):
            links += 1
            if links > _MAX_LINKS:
                return None
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            pending = [p for p in target.split("/") if p not in ("", ".")] + pending
            continue
        resolved.append(part)
    return rootfs.joinpath(*resolved)


def image_has_shell(rootfs: Path) -> bool:
    """Whether the image holds an executable /bin/sh (to load the session's environment)."""
    found = in_image(rootfs, "/bin/sh")
    return found is not None and found.is_file() and os.access(found, os.X_OK)


def _work(spec: SessionSpec, *, paths: SandboxPaths, open_tmpfs: tuple[str, ...]) -> Iterator[str]:
    """/tmp, /dev/shm, /home/work and the folders in it.

    Without the owner's home among the mounts, /home/work is the session's scratch space
    (`paths.home`) and /tmp a tmpfs of the sandbox's own. With it, the home is /home/work and
    the scratch space /tmp. Folders are bound at /home/work/<name>, through bindfs
    (shipyard.agent.folders) when mounted so; in a home mounted so they are bound inside it
    already (folders.nest), and bubblewrap's recursive bind of the home brings them along:
    bubblewrap itself would follow a link planted at /home/work/<name>.
    """  # noqa: S108
    home = next((mount for mount in spec.mounts if mount.home), None)
    # The sandbox's own, empty /dev/shm, writable by the session user only there.
    yield from (*open_tmpfs, "--tmpfs", "/dev/shm")  # noqa: S108
    if home is None:
        yield from (*open_tmpfs, "--tmpfs", "/tmp")  # noqa: S108
    else:
        yield from ("--bind", str(paths.home), "/tmp")  # noqa: S108
    nested = home is not None and home.name in paths.folders
    work = paths.home if home is None else paths.folders.get(home.name, home.source)
    # A home through bindfs is read-only there when it must be; --ro-bind would make
    # the folders in it read-only too.
    read_only = home is not None and home.read_only and not nested
    # Parents bwrap creates on its own are 0700: the session user could not reach its home.
    yield from ("--dir", str(WORKDIR.parent), "--ro-bind" if read_only else "--bind", str(work))
    yield str(WORKDIR)
    for mount in spec.mounts:
        if mount.home or nested:
            continue
        source = paths.folders.get(mount.name, mount.source)
        yield from ("--ro-bind" if mount.read_only else "--bind", str(source))
        yield str(WORKDIR / mount.name)


def gpu_nodes() -> list[str]:
    """NVIDIA device nodes on this host: every GPU's, so that host indices keep meaning."""
    dev = Path("/dev")
    numbered = sorted(str(p) for p in dev.glob("nvidia[0-9]*") if p.name[6:].isdigit())
    return numbered + [str(dev / name) for name in _GPU_CONTROL_NODES if (dev / name).exists()]


def resolve_problem(
    spec: SessionSpec, *, env: dict[str, str], home: Path, sandboxed: bool
) -> str | None:
    """Why the command cannot be executed where it will run, or None if it can.

    Paths are looked up as the sandbox will see them: system directories as on the host
    (in an image: inside it), /home/work and its folders at their sources, relative ones
    from where the command starts. Returns "not found: X" or "not executable: X".
    """
    name = spec.effective_command[0]
    if "/" in name:
        candidates = [_host_path(name, spec=spec, home=home, sandboxed=sandboxed)]
    else:
        dirs = env.get("PATH", "").split(":")
        candidates = [
            _host_path(f"{d}/{name}", spec=spec, home=home, sandboxed=sandboxed) for d in dirs if d
        ]
    existing = [path for path in candidates if path is not None and path.is_file()]
    if not existing:
        return f"not found: {name}"
    if not any(path.stat().st_mode & 0o111 for path in existing):
        return f"not executable: {name}"
    return None


def _start_dir(spec: SessionSpec, *, home: Path) -> PurePosixPath:
    """Where the command starts: its image's WorkingDir where that is a directory in the
    sandbox (the loader changes to it then), else /home/work."""
    image = spec.image
    if image is None or not image.workdir.startswith("/"):
        return WORKDIR
    workdir = PurePosixPath(os.path.normpath(image.workdir))
    found = _host_path(str(workdir), spec=spec, home=home, sandboxed=True)
    return workdir if found is not None and found.is_dir() else WORKDIR


def _host_path(path: str, *, spec: SessionSpec, home: Path, sandboxed: bool) -> Path | None:
    """Where `path` as the command sees it lives on the host (None: nowhere we know)."""
    if not sandboxed:
        return home / path if not path.startswith("/") else Path(path)
    if not path.startswith("/"):
        path = f"{_start_dir(spec, home=home)}/{path}"
    inner = PurePosixPath(os.path.normpath(path))
    for mount in spec.mounts:
        folder = WORKDIR / mount.name
        if not mount.home and (inner == folder or folder in inner.parents):
            return mount.source / inner.relative_to(folder)
    if inner == WORKDIR or WORKDIR in inner.parents:
        work = next((mount.source for mount in spec.mounts if mount.home), home)
        return work / inner.relative_to(WORKDIR)
    top = f"/{inner.parts[1]}" if len(inner.parts) > 1 else "/"
    if spec.image is not None:
        own = top.lstrip("/") in IMAGE_OWN
        return None if own else in_image(spec.image.rootfs, str(inner))
    bound = any(
        inner == PurePosixPath(p) or PurePosixPath(p) in inner.parents for p in spec.ro_paths
    )
    return Path(inner) if top in SYSTEM_DIRS or bound else None
