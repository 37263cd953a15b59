"""The one settings object: every `UNIHUB_` environment variable of SPEC.md lives here.

Read from, first one wins: arguments, the environment, a `.env` file in the working directory
(`UNIHUB_ENV_FILE` names another; empty reads none), the defaults below.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_FILE_VARIABLE = "UNIHUB_ENV_FILE"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

SQLITE_SYNCHRONOUS = ("NORMAL", "FULL")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="UNIHUB_",
        extra="ignore",
        env_file=".env",
        env_file_encoding="utf-8",
        # A refused value may be a secret key: errors name the setting, never its value.
        hide_input_in_errors=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        chosen = os.environ.get(ENV_FILE_VARIABLE)
        if chosen is not None:
            dotenv_settings = DotEnvSettingsSource(
                settings_cls, env_file=chosen or None, env_file_encoding="utf-8"
            )
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("./data")
    database_url: str | None = None
    secret_key: str | None = None
    # SQLite's `PRAGMA synchronous` in WAL mode (docs/configuration.md): NORMAL survives a
    # process crash but may lose the last commits on a power cut or OS crash; FULL also
    # survives those, at the cost of an fsync per commit.
    sqlite_synchronous: str = "NORMAL"
    # Key rotation: every key that may still decrypt stored secrets, newest first, comma
    # separated. The newest encrypts; any of them decrypts (`secret_keys_in_order`).
    secret_keys: str | None = None

    twilio_api_url: str = "https://api.twilio.com"
    graph_api_url: str = "https://graph.facebook.com/v19.0"
    slack_api_url: str = "https://slack.com/api"
    slack_authorize_url: str = "https://slack.com/oauth/v2/authorize"
    slack_client_id: str = ""
    slack_client_secret: str = ""
    slack_scopes: str = "chat:write,channels:read,channels:history,im:history,users:read"
    telegram_api_url: str = "https://api.telegram.org"
    line_api_url: str = "https://api.line.me"
    line_data_api_url: str = "https://api-data.line.me"
    provider_timeout_s: float = 10.0
    # How long a /media/v1/ link to a customer's Telegram or LINE file works (7 days).
    media_url_ttl_s: float = Field(default=7 * 24 * 3600, gt=0)
    # Slack Events API requests are verified with the Slack app's signing secret; without it
    # every Slack event is refused.
    slack_signing_secret: str = ""
    # The externally visible base URL (e.g. https://hub.example.com) that providers call;
    # Twilio signs the full URL, so behind a proxy it must be set. Unset: the request's own URL.
    public_url: str | None = None

    rate_limit: str = "100/second"
    # Per peer address on /connect/token: every request, and failed ones (400/401); a peer
    # over its failures is refused every token request until the window ends. Both are off
    # when `rate_limit` is.
    token_peer_limit: str = "50/second"
    token_failure_limit: str = "20/minute"
    redis_url: str | None = None
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    request_timeout_s: float = Field(default=30.0, gt=0)
    allow_private_webhooks: bool = False
    cors_origins: str = ""
    log_level: str = "INFO"
    access_log: bool = True
    # FastAPI's built-in OpenTelemetry (spans, metrics, logs to the process's configured OTel
    # providers). Off by default: /metrics and the access log cover the basics, and its
    # per-request checks cost ~5% of a point read (profiled).
    otel: bool = False
    # Seconds a revocation (deleted client secret) may take to reach every process.
    revocation_cache_s: float = 5.0
    # Engine delivery worker: how long a claimed outbox row stays owned by one worker (must
    # exceed the 10 s webhook timeout), and how often idle workers poll the outbox.
    delivery_lease_s: float = Field(default=30.0, gt=0)
    delivery_poll_s: float = Field(default=1.0, gt=0)
    # Telegram without `public_url` (long polling): how long one getUpdates waits for news,
    # and how long a process's claim on polling one bot lasts unrenewed (it is renewed at
    # every poll, so it must exceed the wait plus `provider_timeout_s`).
    telegram_poll_timeout_s: int = Field(default=25, ge=0, le=50)
    telegram_poll_lease_s: float = Field(default=60.0, gt=0)

    # `unihub serve` behind a reverse proxy or load balancer: trust `X-Forwarded-For` and
    # `X-Forwarded-Proto` from these addresses (comma-separated IPs or networks, `*` for any),
    # so the rate limiter and the logs see the client's address instead of the proxy's.
    proxy_headers: bool = False
    forwarded_allow_ips: str = "127.0.0.1"

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("sqlite_synchronous")
    @classmethod
    def _synchronous(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in SQLITE_SYNCHRONOUS:
            raise ValueError(f"must be one of {', '.join(SQLITE_SYNCHRONOUS)}")
        return value

    @model_validator(mode="after")
    def _check_secret_keys(self) -> Settings:
        _ = self.secret_keys_in_order  # raises on a malformed list
        return self

    @property
    def secret_keys_in_order(self) -> tuple[str, ...]:
        """The configured keys, newest first; empty when neither setting is set (the key
        generated into the data dir is then used, `core.security.secret_key_material`).

        `UNIHUB_SECRET_KEYS` wins; `UNIHUB_SECRET_KEY` beside it must be its first entry,
        so an operator who changed only one of the two is refused instead of guessed at.
        """
        single = self.secret_key or None
        if not self.secret_keys:
            return (single,) if single else ()
        keys = tuple(entry.strip() for entry in self.secret_keys.split(","))
        for n, entry in enumerate(keys, 1):
            if not entry:
                raise ValueError(
                    f"UNIHUB_SECRET_KEYS: entry {n} of {len(keys)} is empty; list the keys "
                    "newest first, separated by single commas"
                )
        if single is not None and single != keys[0]:
            raise ValueError(
                "UNIHUB_SECRET_KEY is set and is not the first (newest) entry of "
                "UNIHUB_SECRET_KEYS; set only UNIHUB_SECRET_KEYS, or make its first entry "
                "the same key"
            )
        return keys

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'unihub.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
