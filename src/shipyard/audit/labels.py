"""How audit actions read to a person, in the current language (unknown ones show raw)."""

from __future__ import annotations

from collections.abc import Callable

from shipyard.audit.models import Action
from shipyard.i18n import _

LABELS: dict[Action, Callable[[], str]] = {
    Action.LOGIN: lambda: _("Logged in"),
    Action.LOGIN_FAILED: lambda: _("Failed login"),
    Action.LOGOUT: lambda: _("Logged out"),
    Action.PASSWORD_CHANGE: lambda: _("Changed own password"),
    Action.TWO_FACTOR_ENABLE: lambda: _("Turned two-factor login on"),
    Action.TWO_FACTOR_DISABLE: lambda: _("Turned two-factor login off"),
    Action.TWO_FACTOR_RESET: lambda: _("Reset two-factor login"),
    Action.TOKEN_CREATE: lambda: _("Created an API token"),
    Action.TOKEN_REVOKE: lambda: _("Revoked an API token"),
    Action.USER_CREATE: lambda: _("Created a user"),
    Action.USER_UPDATE: lambda: _("Edited a user"),
    Action.USER_ROLE_CHANGE: lambda: _("Changed a user's role"),
    Action.USER_POLICY_CHANGE: lambda: _("Changed a user's policy"),
    Action.USER_ACTIVATE: lambda: _("Activated a user"),
    Action.USER_DEACTIVATE: lambda: _("Deactivated a user"),
    Action.USER_PASSWORD_RESET: lambda: _("Reset a user's password"),
    Action.PROJECT_CREATE: lambda: _("Created a project"),
    Action.PROJECT_UPDATE: lambda: _("Edited a project"),
    Action.PROJECT_POLICY_CHANGE: lambda: _("Changed a project's policy"),
    Action.PROJECT_MEMBER_ADD: lambda: _("Added a project member"),
    Action.PROJECT_MEMBER_REMOVE: lambda: _("Removed a project member"),
    Action.PROJECT_MEMBER_ROLE: lambda: _("Changed a member's role"),
    Action.PROJECT_GROUPS_CHANGE: lambda: _("Changed a project's resource groups"),
    Action.POLICY_CREATE: lambda: _("Created a resource policy"),
    Action.POLICY_UPDATE: lambda: _("Edited a resource policy"),
    Action.POLICY_DELETE: lambda: _("Deleted a resource policy"),
    Action.GROUP_CREATE: lambda: _("Created a resource group"),
    Action.GROUP_UPDATE: lambda: _("Edited a resource group"),
    Action.GROUP_PROJECTS_CHANGE: lambda: _("Changed a resource group's projects"),
    Action.AGENT_SCHEDULABLE: lambda: _("Changed whether an agent takes sessions"),
    Action.AGENT_MOVE: lambda: _("Moved an agent"),
    Action.AGENT_TOKEN_CREATE: lambda: _("Created an agent token"),
    Action.AGENT_TOKEN_REVOKE: lambda: _("Revoked an agent token"),
    Action.ENVIRONMENT_ADD: lambda: _("Added an environment"),
    Action.ENVIRONMENT_ENABLE: lambda: _("Enabled an environment"),
    Action.ENVIRONMENT_DISABLE: lambda: _("Disabled an environment"),
    Action.ENVIRONMENT_DELETE: lambda: _("Deleted an environment"),
    Action.ENVIRONMENTS_RESCAN: lambda: _("Rescanned environments"),
    Action.USAGE_RECALCULATE: lambda: _("Recalculated usage"),
    Action.ANNOUNCEMENT_SET: lambda: _("Set the announcement"),
    Action.ANNOUNCEMENT_CLEAR: lambda: _("Cleared the announcement"),
    Action.FOLDER_INVITE: lambda: _("Invited someone to a folder"),
    Action.FOLDER_INVITE_ACCEPT: lambda: _("Accepted a folder invitation"),
    Action.FOLDER_INVITE_DECLINE: lambda: _("Declined a folder invitation"),
    Action.FOLDER_INVITE_CANCEL: lambda: _("Cancelled a folder invitation"),
    Action.FOLDER_SHARE_CHANGE: lambda: _("Changed a folder share"),
    Action.FOLDER_SHARE_REVOKE: lambda: _("Revoked a folder share"),
    Action.FOLDER_SHARE_LEAVE: lambda: _("Left a shared folder"),
    Action.FOLDER_DELETE: lambda: _("Deleted a folder"),
    Action.SESSION_TERMINATE: lambda: _("Terminated a session"),
}

FAMILIES: dict[str, Callable[[], str]] = {
    "auth": lambda: _("Logins and accounts"),
    "user": lambda: _("Users"),
    "project": lambda: _("Projects"),
    "policy": lambda: _("Resource policies"),
    "group": lambda: _("Resource groups"),
    "agent": lambda: _("Agents"),
    "environment": lambda: _("Environments"),
    "maintenance": lambda: _("Maintenance"),
    "announcement": lambda: _("Announcement"),
    "folder": lambda: _("Folders and sharing"),
    "session": lambda: _("Sessions"),
}


def label_of(action: str) -> str:
    """The human label of a stored action value; a value this version does not know, raw."""
    try:
        known = Action(action)
    except ValueError:
        return action
    label = LABELS.get(known)
    return label() if label else action


def family_of(action: str) -> str:
    return action.split(".", 1)[0]


def choices() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The action filter's options: (family value, family label, [(action, label)]) each."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for action in Action:
        grouped.setdefault(family_of(action.value), []).append((action.value, label_of(action)))
    return [
        (f"{family}.*", FAMILIES[family]() if family in FAMILIES else family, actions)
        for family, actions in grouped.items()
    ]
