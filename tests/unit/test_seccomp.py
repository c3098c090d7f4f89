"""The session seccomp filter: compiled once, and what the kernel decides for each call.

The compiled program is run here by a small interpreter of the classic BPF that libseccomp
emits, against the seccomp_data the kernel would pass: every denied call, the argument
rules, calls from another ABI. tests/agent/test_seccomp.py runs it in a real sandbox.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import sys
from collections.abc import Callable

import pyseccomp
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shipyard.agent import seccomp
from shipyard.agent.runtime.base import SessionStartError

ALLOW = 0x7FFF0000
KILL_PROCESS = 0x80000000
EPERM = 0x00050000 | errno.EPERM
ENOSYS = 0x00050000 | errno.ENOSYS
NATIVE = pyseccomp.system_arch()
LOW_32 = 0xFFFFFFFF
UINT64 = st.integers(min_value=0, max_value=2**64 - 1)
NS_FLAGS = sum(seccomp.NAMESPACE_FLAGS.values())
FORK_FLAGS = 0x01200011  # CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD, as glibc's fork
THREAD_FLAGS = 0x003D0F00  # pthread_create's clone flags
ORDINARY = ("read", "write", "openat", "execve", "mmap", "wait4", "ptrace", "kcmp", "seccomp")
#: The denied names that are system calls of this architecture (vm86 is not, on x86_64).
NATIVE_DENIED = sorted(
    name for name in seccomp.DENIED_SYSCALLS if pyseccomp.resolve_syscall(NATIVE, name) >= 0
)

_JUMPS: dict[int, Callable[[int, int], bool]] = {
    0x15: lambda a, k: a == k,  # BPF_JMP | BPF_JEQ | BPF_K
    0x25: lambda a, k: a > k,  # BPF_JGT
    0x35: lambda a, k: a >= k,  # BPF_JGE
    0x45: lambda a, k: a & k != 0,  # BPF_JSET
}


def verdict(name: str | int, *args: int, arch: int = NATIVE) -> int:
    """What the filter returns for `name(*args)` made through the ABI `arch`."""
    nr = name if isinstance(name, int) else pyseccomp.resolve_syscall(NATIVE, name)
    data = struct.pack("=iIQ6Q", nr, arch, 0, *args, *[0] * (6 - len(args)))
    return run_bpf(seccomp.session_filter(), data)


def run_bpf(program: bytes, data: bytes) -> int:
    """Classic BPF as the kernel runs a seccomp filter, for the opcodes libseccomp uses."""
    code = list(struct.iter_unpack("=HBBI", program))
    acc, pc = 0, 0
    while True:
        op, jt, jf, k = code[pc]
        pc += 1
        if op == 0x20:  # BPF_LD | BPF_W | BPF_ABS
            (acc,) = struct.unpack_from("=I", data, k)
        elif op == 0x54:  # BPF_ALU | BPF_AND | BPF_K
            acc &= k
        elif op == 0x05:  # BPF_JMP | BPF_JA
            pc += k
        elif op in _JUMPS:
            pc += jt if _JUMPS[op](acc, k) else jf
        elif op == 0x06:  # BPF_RET | BPF_K
            return k
        else:
            raise AssertionError(f"opcode {op:#x} at {pc - 1}: teach this interpreter")


def test_the_filter_is_compiled_once_per_process() -> None:
    seccomp.session_filter.cache_clear()

    first = seccomp.session_filter()

    assert seccomp.session_filter() is first
    assert seccomp.session_filter.cache_info().misses == 1
    assert len(first) >= 8
    assert len(first) % 8 == 0  # whole struct sock_filter instructions


def test_the_filter_fd_holds_the_program_sealed_at_offset_zero() -> None:
    fd = seccomp.write_filter_fd()
    try:
        assert os.lseek(fd, 0, os.SEEK_CUR) == 0
        assert os.read(fd, 1 << 20) == seccomp.session_filter()
        assert not os.get_inheritable(fd)  # reaches bwrap only through pass_fds
        assert fcntl.fcntl(fd, fcntl.F_GET_SEALS) & fcntl.F_SEAL_WRITE
        with pytest.raises(PermissionError):
            os.pwrite(fd, b"\0" * 8, 0)
    finally:
        os.close(fd)


def test_the_filter_fd_takes_a_program_compiled_elsewhere() -> None:
    fd = seccomp.write_filter_fd(program=b"\x06\0\0\0\0\0\xff\x7f")
    try:
        assert os.read(fd, 64) == b"\x06\0\0\0\0\0\xff\x7f"
    finally:
        os.close(fd)


def test_every_name_in_the_deny_list_is_a_system_call_libseccomp_knows() -> None:
    unknown = [n for n in seccomp.DENIED_SYSCALLS if pyseccomp.resolve_syscall(NATIVE, n) == -1]

    assert unknown == []


@pytest.mark.parametrize("name", NATIVE_DENIED)
def test_a_denied_system_call_answers_eperm(name: str) -> None:
    assert verdict(name) == EPERM
    assert verdict(name, 1, 2, 3) == EPERM


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_system_calls_are_allowed(name: str) -> None:
    assert verdict(name, 3, 4) == ALLOW


def test_a_system_call_newer_than_libseccomp_is_allowed() -> None:
    assert verdict(470) == ALLOW


def test_clone3_answers_enosys_so_that_glibc_falls_back_to_clone() -> None:
    assert verdict("clone3", 0, 88) == ENOSYS


@given(flags=UINT64)
@example(flags=FORK_FLAGS)
@example(flags=THREAD_FLAGS)
@example(flags=FORK_FLAGS | seccomp.NAMESPACE_FLAGS["CLONE_NEWUSER"])
@example(flags=(1 << 32) | seccomp.NAMESPACE_FLAGS["CLONE_NEWNET"])
def test_clone_is_refused_with_any_namespace_flag(flags: int) -> None:
    assert verdict("clone", flags) == (EPERM if flags & NS_FLAGS else ALLOW)


@pytest.mark.parametrize("flag", sorted(seccomp.NAMESPACE_FLAGS.values()))
def test_each_namespace_flag_alone_is_refused(flag: int) -> None:
    assert verdict("clone", FORK_FLAGS | flag) == EPERM


@given(request=UINT64)
@example(request=0x5401)  # TCGETS
@example(request=0x5413)  # TIOCGWINSZ
@example(request=0x5412)  # TIOCSTI
@example(request=(0xDEAD << 32) | 0x5412)  # the kernel reads only the low 32 bits
@example(request=0x541C)  # TIOCLINUX
@example(request=0x5423)  # TIOCSETD
def test_ioctl_is_refused_only_for_the_denied_requests(request: int) -> None:
    denied = request & LOW_32 in seccomp.DENIED_IOCTLS.values()

    assert verdict("ioctl", 0, request, 0) == (EPERM if denied else ALLOW)


@given(family=UINT64)
@example(family=1)  # AF_UNIX
@example(family=2)  # AF_INET
@example(family=10)  # AF_INET6
@example(family=16)  # AF_NETLINK
@example(family=38)  # AF_ALG
@example(family=40)  # AF_VSOCK
@example(family=(1 << 32) | 40)
@example(family=45)
@example(family=46)
def test_socket_is_refused_for_obscure_and_unknown_families(family: int) -> None:
    denied = (
        family & LOW_32 in seccomp.DENIED_SOCKET_FAMILIES
        or family >= seccomp.FIRST_UNKNOWN_SOCKET_FAMILY
    )

    assert verdict("socket", family, 1, 0) == (EPERM if denied else ALLOW)


def allowed_personality(value: int) -> bool:
    low = value & LOW_32
    return low == seccomp.PERSONALITY_QUERY or not low & ~seccomp.SAFE_PERSONALITY_FLAGS


@given(value=UINT64 | st.integers(min_value=0, max_value=LOW_32))
@example(value=0)  # PER_LINUX
@example(value=0x8)  # PER_LINUX32
@example(value=0x20000)  # UNAME26
@example(value=0x40000)  # ADDR_NO_RANDOMIZE, for gdb
@example(value=0x60008)
@example(value=0xFFFFFFFF)  # the query
@example(value=0xFFFFFFFE)
@example(value=0x7FFFFFFF)
@example(value=0x80000000)
@example(value=0x400000)  # READ_IMPLIES_EXEC
@example(value=0x100000)  # MMAP_PAGE_ZERO
@example(value=0x0001)  # PER_SVR4's domain
@example(value=(1 << 32) | 0x400000)
def test_personality_keeps_only_the_query_and_the_safe_flags(value: int) -> None:
    assert verdict("personality", value) == (EPERM if not allowed_personality(value) else ALLOW)


@pytest.mark.parametrize(
    ("arch", "nr"),
    [
        # int 0x80 from an x86_64 process arrives as i386.
        pytest.param(pyseccomp.Arch.X86, 20, id="i386 getpid"),
        # x32 arrives with x86_64's arch and bit 30 set in the number.
        pytest.param(pyseccomp.Arch.X86_64, 0x40000000 | 39, id="x32 getpid"),
    ],
)
def test_a_system_call_from_another_abi_kills_the_process(arch: int, nr: int) -> None:
    assert verdict(nr, arch=arch) == KILL_PROCESS


def test_without_libseccomp_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seccomp.session_filter.cache_clear()
    monkeypatch.setitem(sys.modules, "pyseccomp", None)  # import pyseccomp now fails

    with pytest.raises(SessionStartError, match=r"apt-get install libseccomp2"):
        seccomp.session_filter()

    monkeypatch.undo()
    seccomp.session_filter.cache_clear()
