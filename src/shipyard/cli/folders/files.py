"""`shipyard folder ls / mkdir / mv / rm / upload / download`: the files inside a folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Annotated

import httpx
import typer
from rich.table import Table

from shipyard.cli.folders.downloads import Downloader, destination, part_of
from shipyard.cli.folders.lookup import RefArg, files_path, folder_of
from shipyard.cli.folders.resume_state import ResumeState
from shipyard.cli.folders.transfer import TransferError, describe, make_progress
from shipyard.cli.folders.uploads import Sent, Target, Uploader, remote_join
from shipyard.cli.http import ApiError, api, authed, call, every_page
from shipyard.cli.output import (
    Output,
    OutputOption,
    add_row,
    console,
    fail,
    human_bytes,
    print_json,
)
from shipyard.i18n import _

app = typer.Typer()
INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C


@app.command("ls")
def ls(
    ref: RefArg,
    path: Annotated[str, typer.Argument(help="a directory in the folder")] = "",
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 200,
    all_: Annotated[bool, typer.Option("--all", help="every page")] = False,
    output: Output = OutputOption,
) -> None:
    """List a directory: folders first, then files, by name."""
    url, params = files_path(ref), {"path": path}
    with authed() as client:
        if all_:
            page = every_page(client, url, params=params, offset=offset, limit=limit)
        else:
            page = api(client, "GET", url, params={**params, "offset": offset, "limit": limit})
    if output is Output.JSON:
        print_json(page)
        return
    table = Table(_("NAME"), _("SIZE"), _("MODIFIED"))
    for entry in page["data"]:
        name = entry["name"] + ("/" if entry["type"] == "dir" else "")
        size = "" if entry["type"] == "dir" else human_bytes(entry["size"])
        add_row(table, name, size, entry["modified"][:19].replace("T", " "))
    console.print(table)
    shown = page["offset"] + len(page["data"])
    console.print(
        _("%(first)d to %(last)d of %(count)d")
        % {"first": min(page["offset"] + 1, shown), "last": shown, "count": page["count"]},
        highlight=False,
        markup=False,
    )


@app.command("mkdir")
def mkdir(
    ref: RefArg,
    path: Annotated[str, typer.Argument(help="the new directory")],
    parents: Annotated[
        bool, typer.Option("-p", "--parents", help="create missing parents; fine if it exists")
    ] = False,
) -> None:
    """Create a directory in a folder."""
    with authed() as client:
        if parents:
            for step in _prefixes(path):
                ensure_dir(client, ref, step)
        else:
            api(client, "POST", files_path(ref, "mkdir"), json={"path": path})
    console.print(_("Created %s.") % path, highlight=False, markup=False)


@app.command("mv")
def mv(
    ref: RefArg,
    source: Annotated[str, typer.Argument(help="what to move")],
    target: Annotated[str, typer.Argument(help="its new path (must not exist)")],
) -> None:
    """Move or rename a file or directory inside a folder."""
    with authed() as client:
        api(client, "POST", files_path(ref, "move"), json={"source": source, "target": target})
    console.print(
        _("Moved %(source)s to %(target)s.") % {"source": source, "target": target},
        highlight=False,
        markup=False,
    )


@app.command("rm")
def rm(
    ref: RefArg,
    paths: Annotated[
        list[str], typer.Argument(help="files or directories (with everything in them)")
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Delete files or whole directories from a folder."""
    question = _("Delete %(paths)s from %(folder)s (directories with everything in them)?") % {
        "paths": ", ".join(paths),
        "folder": ref,
    }
    if not yes and not typer.confirm(question):
        fail(_("nothing deleted"))
    with authed() as client:
        for path in paths:
            api(client, "DELETE", files_path(ref), params={"path": path})
            console.print(_("Deleted %s.") % path, highlight=False, markup=False)


@app.command("upload")
def upload(
    ref: RefArg,
    local: Annotated[list[Path], typer.Argument(help="files (directories with -r)")],
    to: Annotated[str, typer.Option("--to", help="directory in the folder")] = "",
    replace: Annotated[bool, typer.Option("--replace", help="overwrite existing files")] = False,
    recursive: Annotated[
        bool, typer.Option("-r", "--recursive", help="upload directories")
    ] = False,
    output: Output = OutputOption,
) -> None:
    """Upload files; an interrupted upload resumes when you run the same command again."""
    sent: list[Sent] = []
    with _failures(_("interrupted: run the same command again to resume")):
        directories, files = plan(local, to=to, recursive=recursive)
        with authed() as client, make_progress(enabled=output is Output.TABLE) as progress:
            folder = folder_of(client, ref)
            for directory in directories:
                ensure_dir(client, folder["id"], directory)
            uploader = Uploader(client, state=ResumeState(), progress=progress)
            for path, remote_dir in files:
                target = Target(folder_id=folder["id"], directory=remote_dir, replace=replace)
                sent.append(_one_upload(uploader, path, target))
    if output is Output.JSON:
        print_json({"folder": folder["name"], "uploaded": [asdict(item) for item in sent]})
        return
    for item in sent:
        console.print(_sent_line(folder["name"], item), highlight=False, markup=False)


@app.command("download")
def download(
    ref: RefArg,
    remote: Annotated[str, typer.Argument(help="a file in the folder")],
    local: Annotated[Path | None, typer.Argument(help="where to save it (default: here)")] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
    output: Output = OutputOption,
) -> None:
    """Download a file; an interrupted download resumes from LOCAL.part."""
    with _failures():
        target = destination(remote, local)
    interrupted = _("interrupted: %s keeps what arrived; run the same command again to resume")
    with (
        _failures(interrupted % part_of(target)),
        authed() as client,
        make_progress(enabled=output is Output.TABLE) as progress,
    ):
        folder = folder_of(client, ref)
        got = Downloader(client, progress=progress).download(
            folder["id"], remote, target, force=force
        )
    if output is Output.JSON:
        print_json(asdict(got))
        return
    resumed = _(" (resumed at %s)") % human_bytes(got.resumed_from) if got.resumed_from else ""
    done = _("Downloaded %(path)s to %(local)s, %(size)s%(resumed)s.")
    values = {"path": got.path, "local": got.local, "size": human_bytes(got.size)}
    console.print(done % {**values, "resumed": resumed}, highlight=False, markup=False)


def plan(
    locals_: list[Path], *, to: str, recursive: bool
) -> tuple[list[str], list[tuple[Path, str]]]:
    """The remote directories to create and each file with its remote directory."""
    directories: list[str] = []
    files: list[tuple[Path, str]] = []
    for item in locals_:
        if item.is_dir():
            if not recursive:
                raise TransferError(_("%s is a directory: add -r to upload it") % item)
            _walk(item, remote_join(to, item.resolve().name), directories, files)
        elif item.is_file():
            files.append((item, to.strip("/")))
        else:
            raise TransferError(_("%s: no such file") % item)
    return directories, files


def _walk(top: Path, base: str, directories: list[str], files: list[tuple[Path, str]]) -> None:
    """Regular files below `top` (links to files included), sorted; links to folders skipped."""
    for current, subdirs, names in os.walk(top):
        subdirs.sort()
        relative = Path(current).relative_to(top).as_posix()
        remote = base if relative == "." else remote_join(base, relative)
        directories.append(remote)
        files.extend(
            (Path(current, name), remote) for name in sorted(names) if Path(current, name).is_file()
        )


def ensure_dir(client: httpx.Client, ref: str, path: str) -> None:
    """Create a directory; one that exists already is fine (a file there is not)."""
    try:
        call(client, "POST", files_path(ref, "mkdir"), json={"path": path})
    except ApiError as exc:
        if exc.status != 409:
            fail(exc.message)
        try:
            call(client, "GET", files_path(ref), params={"path": path, "limit": 1})
        except ApiError:
            fail(exc.message)


def _prefixes(path: str) -> list[str]:
    parts = PurePosixPath(path.strip("/")).parts
    return ["/".join(parts[: end + 1]) for end in range(len(parts))]


def _one_upload(uploader: Uploader, path: Path, target: Target) -> Sent:
    """Send one file; a failure names the file (and --replace when its name is taken)."""
    try:
        return uploader.upload(path, target)
    except (ApiError, TransferError) as exc:
        conflict = isinstance(exc, ApiError) and exc.code == "conflict"
        hint = _(" (--replace overwrites an existing file)") if conflict else ""
        raise TransferError(f"{path}: {exc.message}{hint}") from exc


@contextmanager
def _failures(interrupted: str | None = None) -> Iterator[None]:
    """Every way a transfer fails, as one line for the user (Ctrl-C: exit code 130)."""
    try:
        yield
    except KeyboardInterrupt:
        fail(interrupted or _("interrupted"), code=INTERRUPTED)
    except (TransferError, ApiError) as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"{exc.filename}: {exc.strerror}" if exc.filename else describe(exc))


def _sent_line(folder: str, item: Sent) -> str:
    resumed = _(" (resumed at %s)") % human_bytes(item.resumed_from) if item.resumed_from else ""
    return _("Uploaded %(local)s to %(folder)s:%(path)s, %(size)s%(resumed)s.") % {
        "local": item.local,
        "folder": folder,
        "path": item.path,
        "size": human_bytes(item.size),
        "resumed": resumed,
    }
