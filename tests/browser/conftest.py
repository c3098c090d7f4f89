"""A live Shipyard server on loopback and Playwright driving the system Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

# Assertions wait up to 15 s: on a loaded 2-core CI machine a page can take longer than the
# 5 s default to settle, and a test that fails only under load tells nothing about the product.
expect.set_options(timeout=15_000)


@pytest.fixture
def csp_violations(page: Page) -> list[str]:
    """Console messages about Content-Security-Policy violations seen during the test."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


def log_in(page: Page, base: str, email: str, password: str) -> None:
    """Log in through the form, finding fields by their labels as a person would."""
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
