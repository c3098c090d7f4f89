"""The bubblewrap sandbox of a session (DESIGN §5): its argv, environment and checks.

A session sees the host's system directories read-only, a private /proc, /dev, /tmp and
/dev/shm, its own writable /home/work and its folders under /home/work/<name>; it has its
own PID, IPC and UTS namespaces (and network, when it asks for none), and runs with no
capabilities as an unprivileged uid.

As root, bwrap sets the sandbox up (binding paths the session uid could not even reach)
and `setpriv` inside it drops to the session uid, clears groups, capabilities and sets
no_new_privs. Nothing the session controls reaches a privileged process: bwrap and setpriv
run with an empty environment, and only then, as the session uid, a shell loads the
session's environment from a file descriptor and execs the command. So LD_PRELOAD and
friends cannot touch the privileged steps, and the values never appear in a process list.
Not as root, bwrap makes a user namespace instead and the session runs as the agent's uid.

A session given GPUs gets every NVIDIA device node and CUDA_VISIBLE_DEVICES naming its own:
with only some nodes present CUDA may renumber the devices, and the host indices the agent
assigns would no longer mean the same GPUs. The isolation between GPUs is therefore
advisory (see the enforcement warnings).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from shipyard.agent.runtime.base import SessionSpec

WORKDIR = PurePosixPath("/home/work")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt")
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


def session_env(spec: SessionSpec, *, home: str) -> dict[str, str]:
    """The whole environment of the session's command: the spec's, plus what we decide."""
    env = {"PATH": DEFAULT_PATH, **spec.env}
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
    home: Path,
    setpriv: str | None,
    uid: int | None,
    gid: int | None,
    features: frozenset[str],
) -> tuple[list[str], int]:
    """bwrap's argv for the session, and the index of the loader argument in it.

    The supervisor puts there a shell script that loads the session's environment from a
    descriptor and execs the command (supervisor.env_loader). With `uid`, bwrap runs as
    root and `setpriv` drops to `uid`/`gid` inside; without, bwrap uses a user namespace.
    """
    argv = [bwrap]
    if uid is None:
        argv.append("--unshare-user")
        argv += [flag for flag in ("--disable-userns",) if flag in features]
    argv += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
    argv += [flag for flag in ("--unshare-cgroup-try",) if flag in features]
    if not spec.network:
        argv.append("--unshare-net")
    if spec.kind == "batch":
        argv.append("--new-session")  # no terminal to push input into (TIOCSTI)
    argv += ["--cap-drop", "ALL"]
    if uid is not None:
        argv += [arg for cap in _SETUID_CAPS for arg in ("--cap-add", cap)]  # for setpriv only
    argv += [*_filesystem(spec, home=home, features=features), "--chdir", str(WORKDIR), "--"]
    if uid is not None and gid is not None and setpriv is not None:
        argv += [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        argv += ["--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", "--"]
    argv += ["/bin/sh", "-c"]
    loader_index = len(argv)
    argv += ["", LOADER_NAME, *spec.command]
    return argv, loader_index


def _filesystem(spec: SessionSpec, *, home: Path, features: frozenset[str]) -> Iterator[str]:
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            yield from ("--symlink", os.readlink(path), path)
        elif os.path.isdir(path):
            yield from ("--ro-bind", path, path)
    open_tmpfs = ("--perms", "01777") if "--perms" in features else ()
    yield from ("--proc", "/proc", "--dev", "/dev")
    # The sandbox's own, empty /tmp and /dev/shm, writable by the session user only there.
    yield from (*open_tmpfs, "--tmpfs", "/tmp", *open_tmpfs, "--tmpfs", "/dev/shm")  # noqa: S108
    # Parents bwrap creates on its own are 0700: the session user could not reach its home.
    yield from ("--dir", str(WORKDIR.parent), "--bind", str(home), str(WORKDIR))
    for mount in spec.mounts:
        yield from ("--ro-bind" if mount.read_only else "--bind", str(mount.source))
        yield str(WORKDIR / mount.name)
    if spec.gpus:
        for node in gpu_nodes():
            yield from ("--dev-bind", node, node)


def gpu_nodes() -> list[str]:
    """NVIDIA device nodes on this host: every GPU's, so that host indices keep meaning."""
    dev = Path("/dev")
    numbered = sorted(str(p) for p in dev.glob("nvidia[0-9]*") if p.name[6:].isdigit())
    return numbered + [str(dev / name) for name in _GPU_CONTROL_NODES if (dev / name).exists()]


def resolve_problem(
    spec: SessionSpec, *, env: dict[str, str], home: Path, sandboxed: bool
) -> str | None:
    """Why the command cannot be executed where it will run, or None if it can.

    Paths are looked up as the sandbox will see them: system directories as on the host,
    /home/work and its folders at their sources. Returns "not found: X" or
    "not executable: X".
    """
    name = spec.command[0]
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


def _host_path(path: str, *, spec: SessionSpec, home: Path, sandboxed: bool) -> Path | None:
    """Where `path` as the command sees it lives on the host (None: nowhere we know)."""
    if not sandboxed:
        return home / path if not path.startswith("/") else Path(path)
    inner = PurePosixPath(os.path.normpath(path if path.startswith("/") else f"{WORKDIR}/{path}"))
    for mount in spec.mounts:
        folder = WORKDIR / mount.name
        if inner == folder or folder in inner.parents:
            return mount.source / inner.relative_to(folder)
    if inner == WORKDIR or WORKDIR in inner.parents:
        return home / inner.relative_to(WORKDIR)
    top = f"/{inner.parts[1]}" if len(inner.parts) > 1 else "/"
    return Path(inner) if top in SYSTEM_DIRS else None
