"""OpenSSH public keys: supported types parse, fingerprints match ssh-keygen, junk is refused."""

from __future__ import annotations

import base64
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from shipyard.auth.ssh_keys import PublicKey, parse_public_key
from shipyard.errors import InvalidInput

SSH_KEYGEN = shutil.which("ssh-keygen")
needs_keygen = pytest.mark.skipif(SSH_KEYGEN is None, reason="ssh-keygen is not installed")

# A fixed ed25519 key and the fingerprint `ssh-keygen -l` gives for it.
ED25519 = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlZjUtCmRszCrRUYzX4iWrmlLXnB002/tCU6TAL3qnb alice@laptop"
)
ED25519_FP = "SHA256:7DRcY934zSXs7Bn9yC21Itbt4XJY8aIJ2fLzWq+zpY4"


def keygen(tmp_path: Path, kind: str, bits: int | None = None, comment: str = "me@host") -> Path:
    path = tmp_path / f"{kind}-{bits}"
    command = [str(SSH_KEYGEN), "-q", "-t", kind, "-N", "", "-C", comment, "-f", str(path)]
    if bits:
        command += ["-b", str(bits)]
    subprocess.run(command, check=True, capture_output=True)
    return path.with_suffix(".pub")


def fingerprint_of(pub: Path) -> str:
    output = subprocess.run(
        [str(SSH_KEYGEN), "-l", "-f", str(pub)], check=True, capture_output=True, text=True
    ).stdout
    return output.split()[1]


def wire(*parts: bytes) -> str:
    return base64.b64encode(b"".join(struct.pack(">I", len(p)) + p for p in parts)).decode()


def refused(text: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_public_key(text)
    assert caught.value.details == {"field": "public_key"}
    return caught.value.message


def test_a_fixed_ed25519_key_parses_with_its_comment_and_fingerprint() -> None:
    key = parse_public_key(f"  {ED25519}\n")
    assert key.kind == "ssh-ed25519"
    assert key.comment == "alice@laptop"
    assert key.fingerprint == ED25519_FP
    assert key.line == ED25519


@needs_keygen
@pytest.mark.parametrize(
    ("kind", "bits"),
    [("ed25519", None), ("ecdsa", 256), ("ecdsa", 384), ("ecdsa", 521), ("rsa", 2048)],
)
def test_generated_keys_match_ssh_keygen(tmp_path: Path, kind: str, bits: int | None) -> None:
    pub = keygen(tmp_path, kind, bits, comment="bob@workstation")
    key = parse_public_key(pub.read_text())
    assert key.fingerprint == fingerprint_of(pub)
    assert key.comment == "bob@workstation"


@needs_keygen
def test_short_rsa_keys_are_refused_with_their_size(tmp_path: Path) -> None:
    pub = keygen(tmp_path, "rsa", 1024)
    assert "1024 bits" in refused(pub.read_text())


@needs_keygen
def test_a_point_off_the_curve_is_refused(tmp_path: Path) -> None:
    key = parse_public_key(keygen(tmp_path, "ecdsa", 256).read_text())
    tampered = bytearray(key.blob)
    tampered[-1] ^= 1
    text = PublicKey(kind=key.kind, blob=bytes(tampered), comment="").line
    assert refused(text) == "The key's data is damaged. Paste the whole line again."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Paste a public key."),
        ("   ", "Paste a public key."),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn", "This is a private key"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "Not a supported public key"),
        ("hello world", "Not a supported public key"),
        ('from="10.0.0.1" ' + ED25519, "Not a supported public key"),
        ("ssh-ed25519 not*base64", "damaged"),
        ("ssh-ed25519", "damaged"),
        (ED25519 + "\n" + ED25519, "on a single line"),
        ("ssh-ed25519 " + wire(b"ssh-ed25519", b"x" * 31), "damaged"),
        ("ssh-ed25519 " + wire(b"ssh-ed25519", b"x" * 32, b"extra"), "damaged"),
        ("ssh-rsa " + wire(b"ssh-ed25519", b"x" * 32), "damaged"),
        ("ecdsa-sha2-nistp256 " + wire(b"ecdsa-sha2-nistp256", b"nistp384", b"\x04"), "damaged"),
        ("ssh-rsa " + wire(b"ssh-rsa", b"\x80\x01", b"\x01"), "damaged"),
        ("ssh-ed25519 " + "QUFB" * 5000, "too long for a public key"),
    ],
)
def test_junk_is_refused_with_a_clear_message(text: str, message: str) -> None:
    assert message in refused(text)


def test_a_truncated_blob_is_refused() -> None:
    blob = base64.b64decode(ED25519.split()[1])
    text = "ssh-ed25519 " + base64.b64encode(blob[:-5]).decode()
    assert "damaged" in refused(text)
