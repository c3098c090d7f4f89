"""Moving file bytes: resumable uploads (tus 1.0.0) and downloads with byte ranges.

tus: `POST /folders/{ref}/uploads` creates an upload (`Upload-Length`, `Upload-Metadata`
with `filename`, optional `path` and `replace`), `HEAD /uploads/{id}` tells its offset,
`PATCH /uploads/{id}` appends bytes at that offset, `DELETE /uploads/{id}` ends it.
Extensions: creation, termination, expiration. Every tus answer, errors included, carries
`Tus-Resumable`; a folder limit that does not allow the upload is a 413.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from shipyard.api import errors as api_errors
from shipyard.api.deps import ApiUser
from shipyard.api.routes.folders import PathQuery
from shipyard.errors import InvalidInput, QuotaExceeded, ShipyardError
from shipyard.http.deps import DbDep, SettingsDep
from shipyard.http.errors import error_body
from shipyard.i18n import _
from shipyard.storage import downloads, uploads

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,expiration"
OFFSET_STREAM = "application/offset+octet-stream"


class TusRefused(Exception):
    """A request that breaks the tus protocol itself (version, content type)."""

    def __init__(self, status_code: int, code: str, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers


def _error(status_code: int, exc: ShipyardError | TusRefused, **headers: str) -> JSONResponse:
    details = exc.details if isinstance(exc, ShipyardError) else None
    body = error_body(exc.code, exc.message, details)
    return JSONResponse(body, status_code=status_code, headers=headers)


class TusRoute(APIRoute):
    """Answers a tus route's failures itself, so they carry the tus headers too."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except TusRefused as exc:
                response = _error(exc.status_code, exc, **exc.headers)
            except QuotaExceeded as exc:
                response = _error(status.HTTP_413_CONTENT_TOO_LARGE, exc)
            except ShipyardError as exc:
                response = api_errors.domain_error(exc)
            except RequestValidationError as exc:
                response = api_errors.validation_error(exc)
            response.headers["Tus-Resumable"] = TUS_VERSION
            return response

        return handle


def parse_metadata(header: str | None) -> dict[str, str]:
    """The tus `Upload-Metadata` header: comma-separated `key base64(value)` pairs."""
    found: dict[str, str] = {}
    for pair in (header or "").split(","):
        if not pair.strip():
            continue
        key, _sep, encoded = pair.strip().partition(" ")
        if not key or " " in encoded.strip() or key in found:
            raise _bad_metadata()
        try:
            found[key] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise _bad_metadata() from None
    return found


def _bad_metadata() -> InvalidInput:
    return InvalidInput(
        _("Upload-Metadata must be comma-separated pairs of a key and a base64 value."),
        details={"field": "Upload-Metadata"},
    )


def tus_resumable(tus_resumable: Annotated[str | None, Header()] = None) -> None:
    if tus_resumable != TUS_VERSION:
        raise TusRefused(
            status.HTTP_412_PRECONDITION_FAILED,
            "unsupported_version",
            _("This server speaks tus %(version)s: send Tus-Resumable: %(version)s.")
            % {"version": TUS_VERSION},
            **{"Tus-Version": TUS_VERSION},
        )


tus = APIRouter(route_class=TusRoute, tags=["uploads"])
Tus = [Depends(tus_resumable)]


@tus.options("/folders/{ref}/uploads", status_code=status.HTTP_204_NO_CONTENT)
def capabilities(ref: str) -> Response:
    """What this tus server supports; needs no login."""
    headers = {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Max-Size": str(uploads.MAX_LENGTH),
    }
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)


@tus.post("/folders/{ref}/uploads", status_code=status.HTTP_201_CREATED, dependencies=Tus)
def create(
    ref: str,
    request: Request,
    user: ApiUser,
    db: DbDep,
    settings: SettingsDep,
    upload_length: Annotated[int, Header(ge=0)],
    upload_metadata: Annotated[str | None, Header(max_length=65536)] = None,
) -> Response:
    """Start an upload (write access); `Location` is where its bytes go."""
    metadata = parse_metadata(upload_metadata)
    upload = uploads.create(
        db, settings, user=user, ref=ref, length=upload_length, metadata=metadata
    )
    location = request.app.url_path_for("upload_offset", upload_id=str(upload.id))
    headers = {"Location": str(location), "Upload-Expires": uploads.expires_header(upload)}
    return Response(status_code=status.HTTP_201_CREATED, headers=headers)


@tus.head("/uploads/{upload_id}", dependencies=Tus, name="upload_offset")
def offset(upload_id: str, user: ApiUser, db: DbDep, settings: SettingsDep) -> Response:
    """How many bytes of the upload have arrived."""
    upload, at = uploads.offset(db, settings, user=user, upload_id=upload_id)
    headers = {
        "Upload-Offset": str(at),
        "Upload-Length": str(upload.length),
        "Upload-Expires": uploads.expires_header(upload),
        "Cache-Control": "no-store",
    }
    return Response(status_code=status.HTTP_200_OK, headers=headers)


@tus.patch("/uploads/{upload_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=Tus)
async def append(
    upload_id: str,
    request: Request,
    user: ApiUser,
    db: DbDep,
    settings: SettingsDep,
    upload_offset: Annotated[int, Header(ge=0)],
    content_type: Annotated[str | None, Header()] = None,
    content_length: Annotated[int | None, Header(ge=0)] = None,
) -> Response:
    """Append the body at `Upload-Offset`; the last byte publishes the file."""
    if (content_type or "").split(";")[0].strip().lower() != OFFSET_STREAM:
        raise TusRefused(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            _("Send the bytes as %(type)s.") % {"type": OFFSET_STREAM},
        )
    appender = await run_in_threadpool(
        uploads.open_append,
        db,
        settings,
        user=user,
        upload_id=upload_id,
        at=upload_offset,
        declared=content_length,
    )
    try:
        await uploads.receive(appender, request.stream())
        await run_in_threadpool(uploads.settle, request.app.state.db, appender)
    finally:
        appender.close()
    headers = {"Upload-Offset": str(appender.offset), "Upload-Expires": appender.expires}
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)


@tus.delete("/uploads/{upload_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=Tus)
def terminate(upload_id: str, user: ApiUser, db: DbDep, settings: SettingsDep) -> Response:
    """Stop an upload and drop what it sent."""
    uploads.terminate(db, settings, user=user, upload_id=upload_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


files = APIRouter(prefix="/folders", tags=["folders"])
RangeHeader = Annotated[str | None, Header(max_length=1024)]


@files.get("/{ref}/download", response_class=Response)
def download(
    ref: str,
    path: PathQuery,
    user: ApiUser,
    db: DbDep,
    settings: SettingsDep,
    range: RangeHeader = None,
    if_range: RangeHeader = None,
) -> Response:
    """A file, whole or one byte range (`Range: bytes=a-b`, `a-`, `-n`)."""
    return downloads.respond(
        db, settings, user=user, ref=ref, path=path, range_header=range, if_range=if_range
    )


@files.head("/{ref}/download", include_in_schema=False)
def download_head(
    ref: str,
    path: PathQuery,
    user: ApiUser,
    db: DbDep,
    settings: SettingsDep,
    range: RangeHeader = None,
    if_range: RangeHeader = None,
) -> Response:
    return downloads.respond(
        db,
        settings,
        user=user,
        ref=ref,
        path=path,
        range_header=range,
        if_range=if_range,
        head=True,
    )


router = APIRouter()
router.include_router(tus)
router.include_router(files)
