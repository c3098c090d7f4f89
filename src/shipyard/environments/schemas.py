"""What the API takes and shows of image environments (credentials are never shown)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shipyard.validation import NO_NUL

ENV_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
UPLOAD_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
PACKAGE = r"^[a-z0-9][a-z0-9+.-]{0,99}$"
SUITE = r"^[a-z0-9][a-z0-9.-]{0,39}$"
Package = Annotated[str, StringConstraints(pattern=PACKAGE)]
Requirement = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]


class RegistrySourceIn(BaseModel):
    """An image in an OCI registry: `host[:port]/name[:tag|@digest]`."""

    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=512, pattern=NO_NUL)
    username: str | None = Field(default=None, min_length=1, max_length=256, pattern=NO_NUL)
    password: str | None = Field(default=None, min_length=1, max_length=1024, repr=False)
    insecure: bool = Field(default=False, description="plain HTTP, no TLS: trusted networks only")

    @model_validator(mode="after")
    def _pair(self) -> RegistrySourceIn:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        return self


class ArchiveSourceIn(BaseModel):
    """A `docker save` tar or OCI archive already put in `<data_dir>/image-uploads/`."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(pattern=UPLOAD_NAME, description="a file name in <data_dir>/image-uploads")


class BuildSourceIn(BaseModel):
    """A Debian base with these packages, plus a Python layer from these requirements."""

    model_config = ConfigDict(extra="forbid")

    packages: list[Package] = Field(default_factory=lambda: ["python3"], max_length=200)
    requirements: list[Requirement] = Field(default_factory=list, max_length=500)
    suite: str = Field(default="bookworm", pattern=SUITE)


class ImageSourceIn(BaseModel):
    """Exactly one of registry, archive or build."""

    model_config = ConfigDict(extra="forbid")

    registry: RegistrySourceIn | None = None
    archive: ArchiveSourceIn | None = None
    build: BuildSourceIn | None = None

    @model_validator(mode="after")
    def _one(self) -> ImageSourceIn:
        if sum(x is not None for x in (self.registry, self.archive, self.build)) != 1:
            raise ValueError("give exactly one source: registry, archive or build")
        return self


class ImageEnvironmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=ENV_NAME)
    description: str = Field(default="", max_length=1000, pattern=NO_NUL)
    source: ImageSourceIn


class JobProgress(BaseModel):
    done: int | None = None
    total: int | None = None
    line: str = ""


class ImageEnvironmentPublic(BaseModel):
    name: str
    description: str
    kind: str
    status: str
    scope: str
    enabled: bool
    apps: list[str]
    image_ref: str | None
    image_digest: str | None
    size: int | None
    source: dict[str, Any] = Field(description="where the image comes from (no credentials)")
    progress: JobProgress
    error: str
    lock: str = Field(description="a build's resolved Python requirements")
    created_at: datetime
    updated_at: datetime | None


class EnvironmentLog(BaseModel):
    name: str
    status: str
    log: str
