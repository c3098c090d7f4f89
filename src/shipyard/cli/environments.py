"""`shipyard env ...`: environments sessions run in; admins import and build images."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shipyard.cli.http import api, authed, once, segment
from shipyard.cli.output import (
    Output,
    OutputOption,
    add_row,
    console,
    fail,
    human_bytes,
    print_json,
    say,
)

app = typer.Typer(help="Environments: list them; admins import, build and delete images.",
                  no_args_is_help=True)  # fmt: skip
IMAGES = "/api/v1/admin/environments/images"
RUNNING = ("importing", "building")
FOLLOW_SECONDS = 1.0


@app.command("list")
def list_environments(output: Output = OutputOption) -> None:
    """The environments you may start sessions with."""
    found = once("GET", "/api/v1/environments")
    if output is Output.JSON:
        print_json(found)
        return
    table = Table("NAME", "KIND", "STATUS", "SIZE", "DIGEST", "DESCRIPTION")
    for env in found:
        size = human_bytes(env["size"]) if env["size"] is not None else "-"
        add_row(table, env["name"], env["kind"], env["status"], size,
                (env["digest"] or "-")[:19], env["description"])  # fmt: skip
    console.print(table)


def _show(env: dict[str, Any], output: Output) -> None:
    if output is Output.JSON:
        print_json(env)
        return
    progress = env["progress"]
    rows = [
        ("name", env["name"]), ("status", env["status"]), ("kind", env["kind"]),
        ("description", env["description"]), ("source", _source_text(env["source"])),
        ("digest", env["image_digest"] or "-"),
        ("size", human_bytes(env["size"]) if env["size"] is not None else "-"),
    ]  # fmt: skip
    if env["status"] in RUNNING:
        done, total = progress.get("done"), progress.get("total")
        if done is not None:
            rows.append(("progress", _progress_text(done, total)))
        rows.append(("last line", progress.get("line") or "-"))
    if env["error"]:
        rows.append(("error", env["error"]))
    for label, value in rows:
        say(f"{label + ':':13} {value}")
    if env["lock"]:
        say("lock:")
        say(env["lock"].rstrip("\n"))


def _progress_text(done: int, total: int | None) -> str:
    if total:
        return f"{human_bytes(done)} of {human_bytes(total)}"
    return human_bytes(done)


def _source_text(source: dict[str, Any]) -> str:
    if "registry" in source:
        registry = source["registry"]
        user = f" as {registry['username']}" if registry.get("username") else ""
        return f"registry {registry['reference']}{user}"
    if "archive" in source:
        return f"archive {source['archive']['file']}"
    if "build" in source:
        build = source["build"]
        packages = ", ".join(build["packages"]) or "-"
        return f"build debian:{build['suite']} packages: {packages}; " + (
            f"requirements: {', '.join(build['requirements']) or '-'}"
        )
    return "-"


@app.command("info")
def info(name: str, output: Output = OutputOption) -> None:
    """An image environment: status, progress, error, digest, size and a build's lock."""
    _show(once("GET", f"{IMAGES}/{segment(name)}"), output)


def _start(name: str, description: str, source: dict[str, Any], output: Output) -> None:
    body = {"name": name, "description": description, "source": source}
    env = once("POST", IMAGES, json=body)
    if output is Output.JSON:
        _show(env, output)
        return
    say(f"environment {name} {env['status']}: follow it with `shipyard env logs -f {name}`")


@app.command("import")
def import_image(
    name: str,
    registry: Annotated[str | None, typer.Option(help="host[:port]/name[:tag|@digest]")] = None,
    archive: Annotated[
        str | None, typer.Option(help="a file in the manager's <data_dir>/image-uploads")
    ] = None,
    username: Annotated[str | None, typer.Option(help="registry user name")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the registry password from stdin")
    ] = False,
    insecure: Annotated[
        bool, typer.Option(help="plain HTTP, no TLS: only for a registry on a trusted network")
    ] = False,
    description: Annotated[str, typer.Option()] = "",
    output: Output = OutputOption,
) -> None:
    """Import an image from a registry or an uploaded archive, in the background (admins)."""
    if (registry is None) == (archive is None):
        fail("give one of --registry or --archive")
    if archive is not None:
        _start(name, description, {"archive": {"file": archive}}, output)
        return
    source: dict[str, Any] = {"reference": registry, "insecure": insecure}
    if username is not None:
        if not password_stdin:
            fail("with --username, give the password on stdin (--password-stdin)")
        source |= {"username": username, "password": sys.stdin.readline().rstrip("\r\n")}
    _start(name, description, {"registry": source}, output)


@app.command("build")
def build(
    name: str,
    package: Annotated[
        list[str] | None, typer.Option("--package", "-p", help="a Debian package")
    ] = None,
    requirement: Annotated[
        list[str] | None, typer.Option("--requirement", "-r", help="a Python requirement")
    ] = None,
    requirements_file: Annotated[
        Path | None, typer.Option(help="a requirements.txt (one requirement a line)")
    ] = None,
    suite: Annotated[str, typer.Option(help="the Debian suite")] = "bookworm",
    description: Annotated[str, typer.Option()] = "",
    output: Output = OutputOption,
) -> None:
    """Build a Debian image (python3 unless packages are given) with a Python layer (admins)."""
    requirements = list(requirement or [])
    if requirements_file is not None:
        lines = requirements_file.read_text().splitlines()
        requirements += [x.strip() for x in lines if x.strip() and not x.lstrip().startswith("#")]
    source = {"packages": package or ["python3"], "requirements": requirements, "suite": suite}
    _start(name, description, {"build": source}, output)


@app.command("logs")
def logs(
    name: str,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="until the job ends")] = False,
) -> None:
    """The job's output (its last 64 KiB); with -f, follow it until the job ends."""
    path = f"{IMAGES}/{segment(name)}/log"
    with authed() as client:
        shown = ""
        while True:
            found = api(client, "GET", path)
            shown = _print_new(shown, found["log"])
            if not follow or found["status"] not in RUNNING:
                break
            time.sleep(FOLLOW_SECONDS)
    if follow:
        env = once("GET", f"{IMAGES}/{segment(name)}")
        if env["status"] == "failed":
            fail(env["error"] or "the job failed")
        say(f"environment {name} {env['status']}")


def _print_new(shown: str, log: str) -> str:
    """Print what `log` has beyond what was shown (the log keeps only its tail)."""
    if log.startswith(shown):
        new = log[len(shown) :]
    else:
        anchor = shown[-200:]
        at = log.rfind(anchor) if anchor else -1
        new = log[at + len(anchor) :] if at >= 0 else log
    if new:
        typer.echo(new, nl=False)
    return log


@app.command("delete")
def delete(name: str) -> None:
    """Delete an image environment and its image; refused while sessions use it (admins)."""
    once("DELETE", f"{IMAGES}/{segment(name)}")
    say(f"environment {name} deleted")
