"""Probes, version and the OpenAPI document."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from shipyard import __version__
from shipyard.db import Database


@pytest.mark.smoke
def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok"}


@pytest.mark.db
def test_readiness_reports_pending_migrations(client: TestClient, database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["database"] == "migrations pending"


def test_version_and_license(client: TestClient) -> None:
    assert client.get("/api/v1/version").json() == {"version": __version__, "license": "Apache-2.0"}


def test_openapi_document_and_docs_page(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    assert schema["info"]["title"] == "Shipyard"
    assert "/api/v1/auth/login" in schema["paths"]
    assert not any(path.startswith(("/login", "/preferences")) for path in schema["paths"])
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "swagger-ui-bundle.js" in docs.text
    assert "<script>" not in docs.text


def test_unknown_api_paths_and_methods_use_the_error_shape(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = client.get("/api/v1/auth/login")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
