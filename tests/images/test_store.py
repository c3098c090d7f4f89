"""The image store: one OCI layout, images by ref, blobs shared and collected."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from shipyard.environments.images.archive import import_archive
from shipyard.environments.images.progress import ignore_progress
from shipyard.environments.images.store import ImageStore
from shipyard.errors import InvalidInput, NotFound
from tests.images.conftest import run


@pytest.fixture(scope="session")
def busybox_archive(busybox_layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "busybox.tar"
    run("skopeo", "copy", f"oci:{busybox_layout}:bb", f"oci-archive:{path}")
    return path


@pytest.fixture(scope="session")
def relabelled_archive(busybox_layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The busybox image with another label: same layer, another config and manifest."""
    root = tmp_path_factory.mktemp("relabelled")
    run("skopeo", "copy", f"oci:{busybox_layout}:bb", f"oci:{root / 'oci'}:bb")
    run("umoci", "config", "--image", f"{root / 'oci'}:bb", "--config.label=variant=two")
    run("skopeo", "copy", f"oci:{root / 'oci'}:bb", f"oci-archive:{root / 'two.tar'}")
    return root / "two.tar"


def test_an_empty_store_lists_nothing_and_knows_no_image(store: ImageStore) -> None:
    assert store.refs() == []
    with pytest.raises(NotFound, match="no image ghost"):
        store.info("ghost")
    with pytest.raises(NotFound):
        store.delete("ghost")


def test_images_share_blobs_and_deleting_one_keeps_the_other_whole(
    store: ImageStore, busybox_archive: Path, relabelled_archive: Path
) -> None:
    one = import_archive(store, busybox_archive, ref="one", on_progress=ignore_progress)
    two = import_archive(store, relabelled_archive, ref="two", on_progress=ignore_progress)
    assert one.layers == two.layers
    assert two.config.labels["variant"] == "two"
    blobs = store.layout / "blobs" / "sha256"
    assert len(list(blobs.iterdir())) == 5, "the shared layer is stored once"

    store.delete("one")

    assert store.refs() == ["two"]
    assert not (blobs / one.digest[7:]).exists()
    assert not (blobs / one.config_digest[7:]).exists()
    assert store.blob_path(two.layers[0].digest).is_file()
    # What is left still reads as a whole image.
    assert json.loads(run("skopeo", "inspect", f"oci:{store.layout}:two"))["Digest"] == two.digest


def test_blobs_are_served_only_by_a_well_formed_digest(
    store: ImageStore, busybox_archive: Path
) -> None:
    info = import_archive(store, busybox_archive, ref="one", on_progress=ignore_progress)
    assert store.blob_path(info.layers[0].digest).stat().st_size == info.layers[0].size
    with pytest.raises(InvalidInput):
        store.blob_path("sha256:../../../etc/passwd")
    with pytest.raises(NotFound):
        store.blob_path("sha256:" + "0" * 64)


@pytest.mark.parametrize("ref", ["Upper", "-dash", "a/b", "../x", "", "x" * 129, "a b"])
def test_an_image_name_outside_the_rules_is_refused(
    store: ImageStore, busybox_archive: Path, ref: str
) -> None:
    with pytest.raises(InvalidInput, match="lowercase letters"):
        import_archive(store, busybox_archive, ref=ref, on_progress=ignore_progress)
    assert store.refs() == []


def test_a_staged_image_missing_a_layer_is_never_committed(
    store: ImageStore, busybox_layout: Path, tmp_path: Path
) -> None:
    staged = tmp_path / "staged"
    shutil.copytree(busybox_layout, staged)
    index = json.loads((staged / "index.json").read_text())
    manifest_blob = staged / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]
    layer = json.loads(manifest_blob.read_text())["layers"][0]["digest"]
    (staged / "blobs" / "sha256" / layer[7:]).write_bytes(b"truncated")

    with pytest.raises(InvalidInput, match="incomplete"):
        store.commit(staged, staged_ref="bb", ref="broken", replace=False)

    assert store.refs() == []


def test_concurrent_imports_each_land_in_the_index(
    store: ImageStore, busybox_archive: Path, relabelled_archive: Path
) -> None:
    errors: list[BaseException] = []

    def load(ref: str, archive: Path) -> None:
        try:
            import_archive(store, archive, ref=ref, on_progress=ignore_progress)
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(
            target=load, args=(f"img-{n}", (busybox_archive, relabelled_archive)[n % 2])
        )
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert store.refs() == ["img-0", "img-1", "img-2", "img-3"]
