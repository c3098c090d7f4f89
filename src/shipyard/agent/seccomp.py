"""The seccomp filter of every sandboxed session: the kernel interfaces a session never needs.

A session runs as an unprivileged uid with no capabilities, so most of what follows would
fail anyway; the filter is the second wall, for the calls the kernel grants to anyone (user
namespaces, keyrings, io_uring, userfaultfd, TIOCSTI) and for a session that somehow got
capabilities back. It is a deny list, built with libseccomp (through `pyseccomp`):

- default action ALLOW, so system calls newer than libseccomp keep working;
- EPERM for the calls in DENIED_GROUPS (each group says why), for clone() with any
  namespace flag (NAMESPACE_FLAGS), for the ioctls in DENIED_IOCTLS (pushing input into a
  terminal, console tricks, line disciplines: module loading and a record of kernel bugs),
  for sockets of the obscure or host-facing families in DENIED_SOCKET_FAMILIES or of any
  family the kernel may add later, and for personality() with anything but the query or
  SAFE_PERSONALITY_FLAGS (PER_LINUX32, UNAME26, ADDR_NO_RANDOMIZE: the last so that gdb can
  turn ASLR off in the program it debugs);
- ENOSYS for clone3(): its flags sit in memory a filter cannot read, and on ENOSYS glibc
  falls back to clone(), whose flags it can;
- ptrace, process_vm_*, kcmp and pidfd_getfd stay allowed: a session only sees its own PID
  namespace, and the kernel (4.8+) checks the filter again after a tracer's changes;
- arguments the kernel reads as 32-bit (ioctl's request, personality, socket's family) are
  compared on their low 32 bits, so garbage in the upper half cannot slip past a rule (a
  socket family with any upper bit set is refused);
- only the native ABI is allowed: a system call from another one (int 0x80 or x32 on
  x86_64) kills the whole process with SIGSYS, since none of the rules would apply to it.

Contract for the supervisor: session_filter() compiles once per process (15-25 ms here, mostly
loading libseccomp; then cached) and raises SessionStartError where libseccomp is missing.
write_filter_fd() returns a new close-on-exec, sealed memfd holding the program at offset 0:
pass it to bubblewrap as `--seccomp FD` and through subprocess's `pass_fds`, and close it in
the parent once bwrap has started. bwrap reads it to the end, so each bwrap needs a
descriptor of its own. bwrap loads the filter just before it execs its command: that command
(setpriv included) and everything it starts run under it, and no filter can be removed, so
no setup step inside the sandbox may need a denied call. The supervisor is a process per
session: to pay nothing per session, the agent compiles once and hands the bytes over
(write_filter_fd(program=...)).
"""

from __future__ import annotations

import errno
import fcntl
import functools
import os
from typing import Any

from shipyard.agent.runtime.base import SessionStartError

#: System calls denied outright (EPERM), grouped by why.
DENIED_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "kernel keyrings are not namespaced: they hold the host's and other users' keys",
        ("add_key", "keyctl", "request_key"),
    ),
    (
        "unprivileged BPF, perf events and userfaultfd: large attack surface, exploit tools",
        ("bpf", "perf_event_open", "userfaultfd"),
    ),
    (
        "io_uring runs work the filter never sees, and has a long record of kernel bugs",
        ("io_uring_setup", "io_uring_enter", "io_uring_register"),
    ),
    (
        "new namespaces: a user namespace hands out capabilities over fresh kernel code"
        " (unshare's other flags, CLONE_FILES, CLONE_FS, CLONE_SYSVSEM, go with it)",
        ("unshare", "setns"),
    ),
    (
        "bubblewrap decides the session's mounts; nothing inside changes them",
        (
            *("mount", "umount", "umount2", "pivot_root"),
            *("move_mount", "open_tree", "fsopen", "fsmount", "fsconfig", "fspick"),
            "mount_setattr",
        ),
    ),
    (
        "the machine itself: kernel code, reboot, swap, accounting, quotas, the kernel log",
        (
            *("kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module"),
            *("reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog"),
        ),
    ),
    (
        "file handles open any file of a file system by number, around the sandbox's mounts",
        ("open_by_handle_at", "name_to_handle_at"),
    ),
    ("raw I/O ports and the 16-bit mode", ("iopl", "ioperm", "vm86", "vm86old")),
    (
        "the clock is the host's, shared by every session",
        ("settimeofday", "clock_settime", "clock_adjtime", "adjtimex"),
    ),
    (
        "obsolete interfaces nothing needs",
        ("lookup_dcookie", "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl"),
    ),
)
DENIED_SYSCALLS = frozenset(name for _, names in DENIED_GROUPS for name in names)

NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
DENIED_IOCTLS = {"TIOCSTI": 0x5412, "TIOCLINUX": 0x541C, "TIOCSETD": 0x5423}
#: Socket families Docker's default profile refuses too: old or rarely built protocols
#: whose modules load on demand (DECnet, Econet, ATM SVC, IrDA, WAN pipe, ISDN, CAIF), the
#: kernel's crypto sockets (AF_ALG) and the hypervisor's (AF_VSOCK).
DENIED_SOCKET_FAMILIES = {
    12: "AF_DECnet",
    19: "AF_ECONET",
    20: "AF_ATMSVC",
    23: "AF_IRDA",
    25: "AF_WANPIPE",
    34: "AF_ISDN",
    37: "AF_CAIF",
    38: "AF_ALG",
    40: "AF_VSOCK",
}
#: AF_MAX of Linux 6.x: families from here on do not exist yet.
FIRST_UNKNOWN_SOCKET_FAMILY = 46
PERSONALITY_QUERY = 0xFFFFFFFF
SAFE_PERSONALITY_FLAGS = 0x0008 | 0x0020000 | 0x0040000  # PER_LINUX32, UNAME26, ADDR_NO_RANDOMIZE

_LOW_32 = 0xFFFFFFFF
_BIT_31 = 1 << 31
_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL


@functools.cache
def session_filter() -> bytes:
    """The filter as a BPF program for bwrap's --seccomp; compiled once per process."""
    seccomp = _libseccomp()
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    deny = seccomp.ERRNO(errno.EPERM)
    for name in sorted(DENIED_SYSCALLS):
        rules.add_rule(deny, name)
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    flags_arg = 1 if seccomp.system_arch() in (seccomp.Arch.S390, seccomp.Arch.S390X) else 0
    for flag in NAMESPACE_FLAGS.values():
        rules.add_rule(deny, "clone", seccomp.Arg(flags_arg, seccomp.MASKED_EQ, flag, flag))
    for request in DENIED_IOCTLS.values():
        rules.add_rule(deny, "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, _LOW_32, request))
    for family in DENIED_SOCKET_FAMILIES:
        rules.add_rule(deny, "socket", seccomp.Arg(0, seccomp.MASKED_EQ, _LOW_32, family))
    rules.add_rule(deny, "socket", seccomp.Arg(0, seccomp.GE, FIRST_UNKNOWN_SOCKET_FAMILY))
    for mask, value in _unsafe_personalities():
        rules.add_rule(deny, "personality", seccomp.Arg(0, seccomp.MASKED_EQ, mask, value))
    return _export(rules)


def write_filter_fd(*, program: bytes | None = None) -> int:
    """A new memfd holding `program` (default: session_filter()), sealed, at offset 0.

    The descriptor is close-on-exec: pass it to bwrap with `pass_fds`, and close it once
    bwrap has started. The caller owns it.
    """
    data = session_filter() if program is None else program
    fd = os.memfd_create("shipyard-seccomp", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _unsafe_personalities() -> list[tuple[int, int]]:
    """Bit patterns (mask, value) covering every personality but the query and the safe
    flags: libseccomp takes one comparison per argument in a rule, so "none of these values"
    is written as a union of patterns. Only the low 32 bits count, as for the kernel."""
    bits = [1 << bit for bit in range(31)]
    # Bit 31 clear (not the query) and a flag we do not allow.
    patterns = [(_BIT_31 | bit, bit) for bit in bits if not bit & SAFE_PERSONALITY_FLAGS]
    # Bit 31 set, yet some other bit clear: not the query either.
    return patterns + [(_BIT_31 | bit, _BIT_31) for bit in bits]


def _export(rules: Any) -> bytes:
    """The compiled program: libseccomp 2.5 writes it only to a file descriptor."""
    with open(os.memfd_create("shipyard-seccomp-build", os.MFD_CLOEXEC), "rb") as program:
        rules.export_bpf(program)
        program.seek(0)
        return program.read()


def _libseccomp() -> Any:
    """The pyseccomp module (untyped), or a SessionStartError saying what to install."""
    try:
        import pyseccomp  # noqa: PLC0415 - loads libseccomp; only agents that start sessions pay
    except (ImportError, RuntimeError, OSError) as error:
        raise SessionStartError(
            f"seccomp: libseccomp cannot be loaded on this agent ({error}); "
            "install it (apt-get install libseccomp2)"
        ) from None
    return pyseccomp
