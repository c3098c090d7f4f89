"""The console's dialog and form kit: where a refusal's message shows, what a submit returns."""

from __future__ import annotations

import json

import pytest
from fastapi import Request

from shipyard.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from shipyard.web import kit

SLOT_FIELDS = {"cpu": "cpu", "mem": "mem", "cuda.device": "gpus"}


def request(*, htmx: bool) -> Request:
    headers = [(b"hx-request", b"true")] if htmx else []
    return Request({"type": "http", "method": "POST", "path": "/x", "headers": headers})


def test_an_error_shows_by_its_field_when_the_form_has_it() -> None:
    exc = InvalidInput("Too long.", details={"field": "name"})
    assert kit.errors_of(exc, {"name": "x", "project": ""}) == {"name": "Too long."}


def test_an_error_about_no_field_of_the_form_shows_above_the_fields() -> None:
    assert kit.errors_of(InvalidInput("No.", details={"field": "email"}), {"name"}) == {
        "form": "No."
    }
    assert kit.errors_of(NotFound("Gone."), {"name"}) == {"form": "Gone."}


def test_every_field_the_service_checked_gets_its_own_message() -> None:
    fields = {"a": "A is wrong.", "b": "B is wrong.", "zz": "Unknown."}
    exc = InvalidInput("A is wrong.", details={"field": "a", "fields": fields})
    assert kit.errors_of(exc, {"a", "b"}) == {
        "a": "A is wrong.",
        "b": "B is wrong.",
        "form": "Unknown.",
    }


def test_a_slot_refusal_shows_by_the_slot_field_where_the_form_maps_slots() -> None:
    def slot_field(slot: str) -> str:
        return SLOT_FIELDS.get(slot, "resources")

    gpus = QuotaExceeded("Too many GPUs.", details={"slot": "cuda.device"})
    other = QuotaExceeded("Too much.", details={"slot": "tpu"})
    assert kit.errors_of(gpus, slot_field=slot_field) == {"gpus": "Too many GPUs."}
    assert kit.errors_of(other, slot_field=slot_field) == {"resources": "Too much."}
    assert kit.errors_of(gpus) == {"form": "Too many GPUs."}


def test_attempt_hands_a_result_on_and_a_refusal_to_the_refusal() -> None:
    assert kit.attempt(lambda: 2, on_done=lambda n: n * 10, on_refused=lambda e: -1) == 20

    def refuse() -> int:
        raise Conflict("Busy.")

    assert kit.attempt(refuse, on_done=lambda n: n, on_refused=lambda e: e.message) == "Busy."


def test_attempt_lets_a_domain_error_it_does_not_catch_through() -> None:
    def missing() -> int:
        raise NotFound("Gone.")

    with pytest.raises(NotFound):
        kit.attempt(missing, on_done=lambda n: n, on_refused=lambda e: 0, catch=(Conflict,))


def test_done_closes_the_dialog_for_htmx_and_redirects_a_plain_form() -> None:
    closed = kit.done(request(htmx=True), event="x:changed", message="Saved.", back="/data")
    assert closed.status_code == 200
    assert closed.headers["HX-Reswap"] == "none"
    assert json.loads(closed.headers["HX-Trigger"]) == {
        "x:changed": {},
        "shipyard:dialog-done": {"message": "Saved."},
    }
    back = kit.done(request(htmx=False), event="x:changed", message="Saved.", back="/data")
    assert (back.status_code, back.headers["location"]) == (303, "/data")


def test_refusal_status_is_200_for_htmx_and_the_errors_status_otherwise() -> None:
    exc = Conflict("Busy.")
    assert kit.refusal_status(request(htmx=True), exc) == 200
    assert kit.refusal_status(request(htmx=False), exc) == 409
