"""`shipyard admin policy ...`: resource policies for users and projects."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from shipyard.cli.http import once, segment
from shipyard.cli.output import Output, OutputOption, console, fail, print_json, say

app = typer.Typer(
    help="Resource policies: limits per slot and per user or project.", no_args_is_help=True
)

RefArg = Annotated[str, typer.Argument(help="policy name or id")]
KindOpt = Annotated[str | None, typer.Option("--kind", "-k", help="user or project")]
SlotOpt = Annotated[
    list[str] | None,
    typer.Option("--slot", help="slot=amount or slot=unlimited, e.g. cpu=8, mem=32g (repeat)"),
]
LimitOpt = typer.Option
UNLIMITED_HELP = "a number, or 'unlimited'"
LIMITS = {  # option key -> API field
    "max_sessions": "max_concurrent_sessions",
    "max_pending": "max_pending_sessions",
    "max_lifetime": "max_session_lifetime",
    "idle_timeout": "idle_timeout",
    "max_folders": "max_folder_count",
    "max_folder_size": "max_folder_size",
    "max_scratch": "max_session_scratch",
    "max_log_size": "max_log_size",
    "on_quota": "on_quota",
}
MaxSessions = Annotated[str | None, typer.Option("--max-sessions", help=UNLIMITED_HELP)]
MaxPending = Annotated[str | None, typer.Option("--max-pending", help=UNLIMITED_HELP)]
MaxLifetime = Annotated[
    str | None, typer.Option("--max-lifetime", help="e.g. 8h, 2d, or 'unlimited'")
]
IdleTimeout = Annotated[str | None, typer.Option("--idle-timeout", help="e.g. 30m, or 'unlimited'")]
MaxFolders = Annotated[str | None, typer.Option("--max-folders", help=UNLIMITED_HELP)]
MaxFolderSize = Annotated[
    str | None, typer.Option("--max-folder-size", help="e.g. 100g, or 'unlimited'")
]
MaxLogSize = Annotated[
    str | None,
    typer.Option(
        "--max-log-size",
        help="how much of each session's output the manager keeps (the last part), "
        "e.g. 16m (at least 64k), or 'default'",
    ),
]
MaxScratch = Annotated[
    str | None,
    typer.Option(
        "--max-scratch",
        help="each session's in-memory /home/work, e.g. 2g (at least 16m), or 'default'",
    ),
]
OnQuota = Annotated[
    str | None, typer.Option("--on-quota", help="refuse or queue requests over the quota")
]


def _path(ref: str, *rest: str) -> str:
    return "/".join(["/api/v1/admin/policies", segment(ref), *rest])


def _params(kind: str | None) -> dict[str, str]:
    return {"kind": kind} if kind else {}


def _slots(pairs: list[str] | None) -> dict[str, str]:
    slots: dict[str, str] = {}
    for pair in pairs or []:
        slot, sep, amount = pair.partition("=")
        if not sep or not slot.strip():
            fail(f"write --slot as slot=amount (cpu=8, mem=32g, cuda.device=unlimited), not {pair}")
        slots[slot.strip()] = amount.strip()
    return slots


def _body(slots: list[str] | None, limits: dict[str, str | None]) -> dict[str, Any]:
    body: dict[str, Any] = {LIMITS[k]: v for k, v in limits.items() if v is not None}
    if slots:
        body["slots"] = _slots(slots)
    return body


def _limit(value: Any, suffix: str = "") -> str:
    return "∞" if value in (None, "inf") else f"{value}{suffix}"


def _scratch(value: int | None) -> str:
    return "site default" if value is None else f"{value} bytes"


def _slot_text(policy: dict[str, Any]) -> str:
    return ", ".join(f"{slot}={_limit(v)}" for slot, v in sorted(policy["slots"].items()))


def _show(policy: dict[str, Any], output: Output) -> None:
    if output is Output.JSON:
        print_json(policy)
        return
    rows = [
        ("name", policy["name"] + (" (default)" if policy["is_default"] else "")),
        ("kind", policy["kind"]),
        ("slots", _slot_text(policy)),
        ("max folders", _limit(policy["max_folder_count"])),
    ]
    if policy["kind"] == "user":
        rows += [
            ("max sessions", _limit(policy["max_concurrent_sessions"])),
            ("max pending", _limit(policy["max_pending_sessions"])),
            ("max lifetime", _limit(policy["max_session_lifetime"], " s")),
            ("idle timeout", _limit(policy["idle_timeout"], " s")),
            ("max folder size", _limit(policy["max_folder_size"], " bytes")),
            ("max scratch", _scratch(policy["max_session_scratch"])),
            ("max log size", _scratch(policy.get("max_log_size"))),
            ("on quota", policy["on_quota"]),
        ]
    rows.append(("used by", f"{policy['users']} user(s), {policy['projects']} project(s)"))
    for label, value in rows:
        say(f"{label:>16}: {value}")


@app.command("list")
def list_(kind: KindOpt = None, output: Output = OutputOption) -> None:
    """User and project policies with their limits and how many use each."""
    found = once("GET", "/api/v1/admin/policies", params=_params(kind))
    if output is Output.JSON:
        print_json(found)
        return
    table = Table("KIND", "NAME", "SLOTS", "SESSIONS", "FOLDERS", "USED BY")
    for p in found["data"]:
        used = p["users"] if p["kind"] == "user" else p["projects"]
        table.add_row(
            p["kind"], p["name"] + (" (default)" if p["is_default"] else ""), _slot_text(p),
            _limit(p["max_concurrent_sessions"]) if p["kind"] == "user" else "-",
            _limit(p["max_folder_count"]), str(used),
        )  # fmt: skip
    console.print(table)


@app.command("show")
def show(ref: RefArg, kind: KindOpt = None, output: Output = OutputOption) -> None:
    """One policy."""
    _show(once("GET", _path(ref), params=_params(kind)), output)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="letters, digits, . _ - (up to 64)")],
    kind: Annotated[str, typer.Option("--kind", "-k", help="user or project")] = "user",
    slot: SlotOpt = None,
    max_sessions: MaxSessions = None,
    max_pending: MaxPending = None,
    max_lifetime: MaxLifetime = None,
    idle_timeout: IdleTimeout = None,
    max_folders: MaxFolders = None,
    max_folder_size: MaxFolderSize = None,
    max_scratch: MaxScratch = None,
    max_log_size: MaxLogSize = None,
    on_quota: OnQuota = None,
    output: Output = OutputOption,
) -> None:
    """Create a policy; every limit not given is unlimited."""
    limits = {
        "max_sessions": max_sessions, "max_pending": max_pending, "max_lifetime": max_lifetime,
        "idle_timeout": idle_timeout, "max_folders": max_folders,
        "max_folder_size": max_folder_size, "max_scratch": max_scratch,
        "max_log_size": max_log_size, "on_quota": on_quota,
    }  # fmt: skip
    body = {"name": name, "kind": kind, **_body(slot, limits)}
    _show(once("POST", "/api/v1/admin/policies", json=body), output)


@app.command("update")
def update(
    ref: RefArg,
    kind: KindOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="new name")] = None,
    slot: SlotOpt = None,
    max_sessions: MaxSessions = None,
    max_pending: MaxPending = None,
    max_lifetime: MaxLifetime = None,
    idle_timeout: IdleTimeout = None,
    max_folders: MaxFolders = None,
    max_folder_size: MaxFolderSize = None,
    max_scratch: MaxScratch = None,
    max_log_size: MaxLogSize = None,
    on_quota: OnQuota = None,
    output: Output = OutputOption,
) -> None:
    """Change the limits given (only the slots named); applies to the next session request."""
    limits = {
        "max_sessions": max_sessions, "max_pending": max_pending, "max_lifetime": max_lifetime,
        "idle_timeout": idle_timeout, "max_folders": max_folders,
        "max_folder_size": max_folder_size, "max_scratch": max_scratch,
        "max_log_size": max_log_size, "on_quota": on_quota,
    }  # fmt: skip
    body = _body(slot, limits)
    if name is not None:
        body["name"] = name
    if not body:
        fail("nothing to change: give --slot, --name or a limit option")
    _show(once("PATCH", _path(ref), params=_params(kind), json=body), output)


@app.command("delete")
def delete(ref: RefArg, kind: KindOpt = None, output: Output = OutputOption) -> None:
    """Delete a policy that no user or project uses."""
    policy = once("GET", _path(ref), params=_params(kind))
    once("DELETE", _path(policy["id"]))
    if output is Output.JSON:
        print_json({"deleted": policy["id"], "name": policy["name"], "kind": policy["kind"]})
        return
    say(f"deleted {policy['kind']} policy {policy['name']}")


@app.command("set-default")
def set_default(ref: RefArg, kind: KindOpt = None, output: Output = OutputOption) -> None:
    """Make a policy the default of its kind (for users or projects without one)."""
    policy = once("POST", _path(ref, "default"), params=_params(kind))
    if output is Output.JSON:
        print_json(policy)
        return
    say(f"{policy['name']} is now the default {policy['kind']} policy")
