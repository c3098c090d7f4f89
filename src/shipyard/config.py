"""Settings: defaults, then a TOML file, then SHIPYARD_* environment variables."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from shipyard.validation import parse_networks

CONFIG_ENV = "SHIPYARD_CONFIG"
MIN_METRICS_TOKEN = 16


def default_data_dir() -> Path:
    """The per-user data dir (XDG), used when neither file nor env names one."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "shipyard"


class StorageHostConfig(BaseModel):
    """A storage host: a directory on the manager, and where agents see the same directory.

    A shared filesystem (NFS, CephFS) mounted on the manager and on every agent is the usual
    production host; `agent_path` is needed only where agents mount it somewhere else.
    """

    model_config = ConfigDict(extra="forbid")

    path: Path
    agent_path: Path | None = None
    description: str = ""


def web_url(value: str | None) -> str | None:
    """An absolute http(s) URL without query or fragment; empty means none. Raises ValueError
    for anything else: a typo must not become a broken or foreign-scheme link."""
    text = (value or "").strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    if parts.query or parts.fragment or any(char.isspace() for char in text):
        raise ValueError("must be a plain URL without spaces, query or fragment")
    return text


class DesktopConfig(BaseModel):
    """Where the native desktop app is downloaded from; nothing configured hides the downloads.

    Files are `{download_base_url}/{version}/shipyard-desktop-{version}-{os}-{arch}.{ext}`;
    `all_versions_url` (default `{download_base_url}/`) lists every release.
    """

    model_config = ConfigDict(extra="forbid")

    download_base_url: str | None = None
    all_versions_url: str | None = None

    @field_validator("download_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        """File paths are appended to it, so its trailing slash goes."""
        url = web_url(value)
        return url.rstrip("/") if url else None

    @field_validator("all_versions_url")
    @classmethod
    def _all_versions_url(cls, value: str | None) -> str | None:
        return web_url(value)


class Settings(BaseSettings):
    """Everything an operator may configure; see README "Configuration"."""

    # Nested settings from the env: SHIPYARD_DESKTOP__DOWNLOAD_BASE_URL=https://...
    model_config = SettingsConfigDict(
        env_prefix="SHIPYARD_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=1, le=65535)

    admin_email: str = "admin@shipyard.local"
    admin_password: str | None = None

    session_idle_minutes: int = Field(default=240, ge=1)
    session_absolute_hours: int = Field(default=24, ge=1)
    cookie_secure: bool | None = None
    # Reverse proxies whose X-Forwarded-For/-Proto are believed (IP addresses or networks,
    # comma-separated); empty: none, the peer's own address is the client's.
    trusted_proxies: str = ""

    # Login throttling (auth/throttle.py): failures older than the window no longer count.
    login_window_minutes: int = Field(default=15, ge=1)
    # Failures for one account from one address before that pair waits `login_backoff_seconds`,
    # doubled by each further failure (at most the window).
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_backoff_seconds: float = Field(default=30.0, gt=0)
    # Failures from one address, whatever the accounts, before it waits out the window.
    login_max_failures_per_address: int = Field(default=30, ge=1)
    # Failures of one account from every address before each attempt at it is slowed down,
    # by a delay growing to `login_slowdown_max_seconds` (never a refusal).
    login_slowdown_after: int = Field(default=10, ge=1)
    login_slowdown_max_seconds: float = Field(default=2.0, ge=0, le=30)

    # Request limits (edge/): bodies above the size are refused (413; tus upload PATCH bodies
    # are exempt), headers and bodies that do not arrive in time end the connection.
    request_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    request_header_timeout_seconds: float = Field(default=10.0, gt=0)
    request_body_timeout_seconds: float = Field(default=30.0, gt=0)

    api_token_days: int = Field(default=90, ge=1)

    # Two-factor login: `totp_available = false` hides it entirely (no switch, no code step).
    totp_available: bool = True
    totp_required_for_admins: bool = False
    totp_issuer: str = "Shipyard"

    # Prometheus metrics at /metrics: a scraper must send `Authorization: Bearer <metrics_token>`
    # or come from an address in `metrics_allow` (IP addresses or networks, e.g. 10.0.0.0/8).
    metrics_token: str | None = None
    metrics_allow: list[str] = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])

    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19456, ge=8192)
    argon2_parallelism: int = Field(default=1, ge=1)

    default_language: str = "en"

    agent_heartbeat_seconds: float = Field(default=5.0, gt=0)
    agent_lost_seconds: float = Field(default=30.0, gt=0)
    scheduler_tick_seconds: float = Field(default=2.0, gt=0)
    environment_dirs: list[Path] = Field(default_factory=list)

    # Storage hosts by name; "local" (under the data dir) exists unless configured otherwise.
    storage_hosts: dict[str, StorageHostConfig] = Field(default_factory=dict)
    default_storage_host: str = "local"
    # Files the manager writes into folders belong to this uid/gid when it runs as root, so
    # sessions (which agents run as the same unprivileged uid) can change them.
    storage_owner_uid: int = Field(default=65534, ge=0)
    storage_owner_gid: int = Field(default=65534, ge=0)
    upload_expiry_hours: int = Field(default=24, ge=1)

    # Sessions (DESIGN §5): each user's run as uid/gid `session_uid_base + n` (n from 1 to
    # `session_uid_count`, one per user, kept for good); agents refuse uids below 100000.
    session_uid_base: int = Field(default=200000, ge=100000, le=2**31 - 2**24)
    session_uid_count: int = Field(default=1_000_000, ge=1, le=2**24)
    # Each session's scratch space (/tmp beside its home): a tmpfs of this size, counted
    # against its memory.
    session_scratch_mb: int = Field(default=1024, ge=16)
    # The manager keeps each session's output, at most its last this many MiB, where the
    # owner's policy sets no max_log_size; it outlives the agent's 24 h copy.
    session_log_mb: int = Field(default=8, ge=1)
    # Free space agents keep on each disk holding a folder that sessions write to: below it
    # those folders go read-only (unset: the smaller of 2 GiB and 5 % of the disk).
    session_disk_reserve_mb: int | None = Field(default=None, ge=0)
    # Disk each agent may fill with unpacked images (shared read-only by sessions); beyond
    # it, the least recently used images that no session holds are removed.
    image_cache_mb: int = Field(default=20480, ge=0)
    # Encrypts secrets kept in the database (registry credentials of image environments).
    # Unset: a random key made on first use in <data_dir>/secret-key (0600); managers that
    # share a database must share this key.
    secret_key: str | None = Field(default=None, min_length=32, repr=False)
    # Where image builds cache Debian bases and uv downloads (unset: <data_dir>/images/cache).
    image_build_cache: Path | None = None
    # Without bubblewrap, sessions are refused unless this is set (they would see the host).
    allow_unsandboxed_sessions: bool = False

    # The Summary page's Desktop app panel: native downloads (`[desktop]` in TOML).
    desktop: DesktopConfig = Field(default_factory=DesktopConfig)

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str | None) -> str | None:
        """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
        if value and value.startswith(("postgresql://", "postgres://")):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value or None

    @field_validator("metrics_allow")
    @classmethod
    def _metrics_networks(cls, value: list[str]) -> list[str]:
        """Allow-list entries must be IP addresses or networks: a typo must not open /metrics."""
        return [str(network) for network in parse_networks(value)]

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        """Addresses or networks only: a typo must not trust a name nobody connects from."""
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            try:
                ipaddress.ip_network(entry)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies entry {entry!r} is not an IP address or network "
                    "such as 10.0.0.5 or 10.0.0.0/24"
                ) from None
        return ",".join(entries)

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: str | None) -> str | None:
        """An empty token means none; a short one would be guessable."""
        token = (value or "").strip()
        if token and len(token) < MIN_METRICS_TOKEN:
            raise ValueError(f"metrics_token needs at least {MIN_METRICS_TOKEN} characters")
        return token or None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_ENV)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file in the data dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'shipyard.db'}"

    @property
    def loopback_only(self) -> bool:
        """The manager listens on loopback alone (single-user laptop mode)."""
        return self.host in ("127.0.0.1", "::1", "localhost")

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from an explicit TOML file (if any), the env and overrides."""
    if config_file is not None:
        if not config_file.is_file():
            raise FileNotFoundError(f"config file not found: {config_file}")
        os.environ[CONFIG_ENV] = str(config_file)
    return Settings(**overrides)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own and pass them to create_app."""
    return load_settings()
