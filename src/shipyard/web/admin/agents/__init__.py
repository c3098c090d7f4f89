"""The compute pages: agents and agent tokens, resource groups, environments.

They share one look (view.py) and one dialog page (admin/agents_dialog.html).
"""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.web.admin.agents import environments, groups, routes

router = APIRouter()
for module in (groups, routes, environments):
    router.include_router(module.router)
