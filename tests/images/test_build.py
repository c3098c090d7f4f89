"""Images built by Shipyard: a cached mmdebstrap base and a uv layer from local wheels."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.environments.images.base import BaseSpec
from shipyard.environments.images.build import LABEL_LOCK, BuildSpec, build_image
from shipyard.environments.images.python import PythonSpec
from shipyard.environments.images.store import ImageStore
from shipyard.errors import InvalidInput
from tests.images.conftest import CACHE_DIR, Recorder, leftovers, run


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with two tiny pure-Python wheels: tinypkg 0.1.0, which needs tinydep."""
    folder = tmp_path_factory.mktemp("wheels")
    make_wheel(folder, "tinydep", "1.2.0", 'PART = "dep"\n', requires=())
    make_wheel(folder, "tinypkg", "0.1.0", 'GREETING = "hello from the uv layer"\n',
               requires=("tinydep>=1",))  # fmt: skip
    return folder


def make_wheel(
    folder: Path, name: str, version: str, code: str, *, requires: tuple[str, ...]
) -> None:
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{name}/__init__.py": code,
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{path},sha256={_digest(text)},{len(text.encode())}" for path, text in files.items()]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)


def _digest(text: str) -> str:
    raw = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def python_spec(wheels: Path, *requirements: str) -> PythonSpec:
    return PythonSpec(requirements=requirements, find_links=(wheels,), no_index=True)


def unpack(store: ImageStore, ref: str, folder: Path) -> Path:
    """The stored image's root filesystem, unpacked with umoci (whiteouts and all)."""
    run("umoci", "unpack", "--image", f"{store.layout}:{ref}", folder / "bundle")
    return folder / "bundle" / "rootfs"


def run_in(rootfs: Path, *command: str) -> str:
    """Run a command inside an unpacked root filesystem, as a session would (bubblewrap)."""
    done = subprocess.run(
        ["bwrap", "--ro-bind", rootfs, "/", "--dev", "/dev", "--proc", "/proc",
         "--unshare-all", "--clearenv", "--setenv", "PATH", "/opt/venv/bin:/usr/bin:/bin",
         *command],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_built_image_runs_debian_and_imports_from_its_uv_layer(
    store: ImageStore, wheels: Path, progress: Recorder, tmp_path: Path
) -> None:
    spec = BuildSpec(python=python_spec(wheels, "tinypkg"), description="tiny", apps=("terminal",))

    result = build_image(store, spec, ref="tiny", cache_dir=CACHE_DIR, on_progress=progress)

    assert result.lock.splitlines() == ["tinydep==1.2.0", "tinypkg==0.1.0"]
    image = store.info("tiny")
    assert image == result.image
    assert len(image.layers) == 2, "a Debian base layer and a Python layer"
    labels = image.config.labels
    assert labels[LABEL_LOCK] == result.lock
    assert labels["ai.shipyard.apps"] == "terminal"
    assert labels["ai.shipyard.debian.packages"] == "python3"
    assert labels["org.opencontainers.image.base.name"] == "debian:bookworm"
    assert "VIRTUAL_ENV=/opt/venv" in image.config.env
    assert image.config.cmd == ("/bin/bash",)
    rootfs = unpack(store, "tiny", tmp_path)
    assert "VERSION_CODENAME=bookworm" in run_in(rootfs, "cat", "/etc/os-release")
    imports = "import tinypkg, tinydep; print(tinypkg.GREETING, tinydep.PART)"
    assert run_in(rootfs, "python", "-c", imports) == "hello from the uv layer dep\n"
    assert run_in(rootfs, "cat", "/opt/venv/requirements.lock") == result.lock
    assert list(store.staging_root.iterdir()) == []


def test_a_second_build_with_the_same_packages_reuses_the_base(store: ImageStore) -> None:
    first = build_image(
        store, BuildSpec(), ref="plain", cache_dir=CACHE_DIR, on_progress=Recorder()
    )
    again, progress = BuildSpec(base=BaseSpec(packages=("python3", "python3"))), Recorder()

    second = build_image(store, again, ref="plain-2", cache_dir=CACHE_DIR, on_progress=progress)

    assert progress.lines[0].startswith("reusing the cached Debian base")
    assert not any("mmdebstrap" in line or "apt-get" in line for line in progress.lines)
    assert first.lock == second.lock == ""
    assert first.image.layers == second.image.layers, "the same cached base, the same layer"
    assert "VIRTUAL_ENV=/opt/venv" not in second.image.config.env
    assert sorted(store.refs()) == ["plain", "plain-2"]


def test_a_package_list_with_a_typo_names_the_package_and_builds_nothing(
    store: ImageStore, progress: Recorder, tmp_path: Path
) -> None:
    spec = BuildSpec(base=BaseSpec(packages=("python3", "pythn3")))
    with pytest.raises(InvalidInput, match="bookworm has no package named: pythn3"):
        build_image(store, spec, ref="typo", cache_dir=tmp_path / "cache", on_progress=progress)
    assert leftovers(store) == []
    assert list((tmp_path / "cache" / "bases").iterdir()) == [], "no half-made base is cached"


def test_unsatisfiable_requirements_are_refused_and_build_nothing(
    store: ImageStore, wheels: Path, progress: Recorder
) -> None:
    spec = BuildSpec(python=python_spec(wheels, "tinypkg>=2"))
    with pytest.raises(InvalidInput, match="cannot be satisfied: Because") as refused:
        build_image(store, spec, ref="unsat", cache_dir=CACHE_DIR, on_progress=progress)
    assert "tinypkg" in refused.value.message
    assert leftovers(store) == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: BaseSpec(packages=("python3; rm -rf /",)), "Not a Debian package name"),
        (lambda: BaseSpec(suite="../etc"), "Not a Debian suite"),
        (lambda: BaseSpec(variant="everything"), "Unknown variant"),
        (lambda: BaseSpec(mirror="file:///etc"), "mirror"),
        (lambda: PythonSpec(requirements=("-r /etc/shadow",)), "Not a Python requirement"),
        (lambda: PythonSpec(requirements=("--index-url=http://evil",)), "Not a Python requirement"),
        (lambda: PythonSpec(requirements=("ok",), index_url="ftp://x"), "package index"),
    ],
)
def test_build_inputs_outside_the_rules_are_refused_before_any_tool_runs(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        make()
