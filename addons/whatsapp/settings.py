"""Settings of the WhatsApp channel, read once from ``credentials.yml`` and the environment.

Each setting comes from its key under ``addons.whatsapp.WhatsAppInput:`` in
``credentials.yml``; a key that is missing or empty falls back to its environment variable,
then to its default. A missing required setting stops start-up with an error that names
the environment variable to set. The two settings shared with the rest of LAW (the database,
whether to upgrade its schema) fall back to ``antrean.settings`` (``LAW_DATABASE_URL``,
``LAW_AUTO_MIGRATE``).
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from rasa.shared.exceptions import RasaException

from antrean.settings import Settings

DEFAULT_API_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"
DEFAULT_NON_TEXT_REPLY = (
    "Maaf, saat ini kami hanya bisa membaca pesan teks. Silakan ketik pesan Anda 🙏"
)
DEFAULT_LIST_BUTTON_LABEL = "Pilih"

# credentials key → environment variable, for the settings that have one.
ENV_VARS = {
    "access_token": "WHATSAPP_ACCESS_TOKEN",
    "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "app_secret": "WHATSAPP_APP_SECRET",
    "verify_token": "WHATSAPP_VERIFY_TOKEN",
    "api_version": "WHATSAPP_API_VERSION",
    "api_base_url": "WHATSAPP_API_BASE_URL",
}
REQUIRED = ("access_token", "phone_number_id", "app_secret", "verify_token")

_UNEXPANDED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_API_VERSION = re.compile(r"^v\d+\.\d+$")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

T = TypeVar("T")


class WhatsAppConfigError(RasaException):
    """A setting of the WhatsApp channel is missing or invalid."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a Graph API call is retried.

    Attributes:
        max_attempts: Tries per call, the first one included.
        backoff_base_s: Delay before the second try; doubles with every further try.
        backoff_max_s: Upper bound of one delay.
        rate_limit_factor: Multiplier of the delay when Meta says we send too fast
            (HTTP 429, error codes 4, 80007, 130429, 131056).
        max_unsure_retries: Retries of a message whose request went out but got no answer
            (a read timeout): Meta may have delivered it, so each one may reach the
            applicant twice. Within ``max_attempts``.
    """

    max_attempts: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    rate_limit_factor: float = 8.0
    max_unsure_retries: int = 1


@dataclass(frozen=True)
class WhatsAppSettings:
    """Everything the channel needs to talk to Meta.

    Attributes:
        access_token: Permanent (system user) token with ``whatsapp_business_messaging``.
        phone_number_id: Graph API id of the business number (not the number itself).
        app_secret: The Meta app's secret; signs every webhook POST.
        verify_token: Shared secret of the GET subscription handshake.
        api_version: Graph API version, e.g. ``v21.0``.
        api_base_url: Graph API root; tests point it at a local server.
        dedup_db_url: SQLAlchemy URL of the message-id store; ``None`` means the slot
            store's database (``LAW_DATABASE_URL``, default ``var/law.db``).
        auto_migrate: Whether the channel upgrades its database's schema (the slot
            store's Alembic history) on first use, as the action server does; ``0`` in
            ``LAW_AUTO_MIGRATE`` leaves that to whoever deploys.
        dedup_ttl_days: How long a processed message id is remembered.
        status_ttl_days: How long delivery reports are kept.
        non_text_reply: What the applicant is told after sending a non-text message.
        list_button_label: Label of the button that opens a choice list (≤ 20 characters).
        request_timeout_s: Total time for one HTTP call to the Graph API.
        max_connections: Size of the HTTP connection pool.
        retry: Retry policy of Graph API calls.
        inbox_lease_s: How long a process may work on an accepted message before another
            may take it (renewed while it lives); after a crash, the wait before another
            process answers what it left.
        store_timeout_s: How long the webhook waits for the channel's database before it
            answers without it (fail-open) and the health check reports it down.
        max_workers: Applicants handled at the same time by one process.
    """

    access_token: str
    phone_number_id: str
    app_secret: str
    verify_token: str
    api_version: str = DEFAULT_API_VERSION
    api_base_url: str = DEFAULT_API_BASE_URL
    dedup_db_url: str | None = None
    auto_migrate: bool = True
    dedup_ttl_days: float = 7.0
    status_ttl_days: float = 30.0
    non_text_reply: str = DEFAULT_NON_TEXT_REPLY
    list_button_label: str = DEFAULT_LIST_BUTTON_LABEL
    request_timeout_s: float = 15.0
    max_connections: int = 100
    retry: RetryPolicy = RetryPolicy()
    inbox_lease_s: float = 60.0
    store_timeout_s: float = 3.0
    max_workers: int = 64

    @property
    def messages_url(self) -> str:
        """The Graph API endpoint that sends messages from the business number."""
        return f"{self.api_base_url}/{self.api_version}/{self.phone_number_id}/messages"

    @classmethod
    def from_credentials(
        cls,
        credentials: Mapping[str, Any] | None,
        environ: Mapping[str, str] | None = None,
    ) -> WhatsAppSettings:
        """Build the settings from ``credentials.yml`` values and the environment.

        Args:
            credentials: The channel's mapping from ``credentials.yml`` (may be ``None``).
            environ: The environment; ``os.environ`` unless given.

        Returns:
            The validated settings.

        Raises:
            WhatsAppConfigError: If a required setting is missing or a value is invalid;
                the message names the environment variable(s) to set.
        """
        environ = os.environ if environ is None else environ
        reader = _Reader(credentials or {}, environ)
        missing = [key for key in REQUIRED if not reader.text(key)]
        if missing:
            names = ", ".join(ENV_VARS[key] for key in missing)
            raise WhatsAppConfigError(
                f"WhatsApp channel: missing setting(s) {', '.join(missing)}. Set the "
                f"environment variable(s) {names} (or the key(s) under "
                f"'addons.whatsapp.WhatsAppInput' in credentials.yml)."
            )
        api_version = reader.text("api_version") or DEFAULT_API_VERSION
        if not _API_VERSION.match(api_version):
            raise WhatsAppConfigError(
                f"WhatsApp channel: WHATSAPP_API_VERSION must look like 'v21.0', "
                f"got {api_version!r}."
            )
        base_url = _checked_base_url(
            (reader.text("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
        )
        defaults = RetryPolicy()
        retry = RetryPolicy(
            max_attempts=reader.number("retry_max_attempts", int, defaults.max_attempts),
            backoff_base_s=reader.number("retry_backoff_base", float, defaults.backoff_base_s),
            backoff_max_s=reader.number("retry_backoff_max", float, defaults.backoff_max_s),
            rate_limit_factor=reader.number(
                "retry_rate_limit_factor", float, defaults.rate_limit_factor
            ),
            max_unsure_retries=reader.number(
                "retry_unsure_max", int, defaults.max_unsure_retries
            ),
        )
        if retry.max_attempts < 1:
            raise WhatsAppConfigError("WhatsApp channel: retry_max_attempts must be ≥ 1.")
        label = reader.text("list_button_label") or DEFAULT_LIST_BUTTON_LABEL
        law = Settings.from_env(environ)
        auto_migrate = reader.text("auto_migrate")
        return cls(
            access_token=reader.text("access_token"),
            phone_number_id=reader.text("phone_number_id"),
            app_secret=reader.text("app_secret"),
            verify_token=reader.text("verify_token"),
            api_version=api_version,
            api_base_url=base_url,
            dedup_db_url=reader.text("dedup_db_url") or law.database_url,
            auto_migrate=auto_migrate != "0" if auto_migrate else law.auto_migrate,
            dedup_ttl_days=reader.number("dedup_ttl_days", float, 7.0),
            status_ttl_days=reader.number("status_ttl_days", float, 30.0),
            non_text_reply=reader.text("non_text_reply") or DEFAULT_NON_TEXT_REPLY,
            list_button_label=label[:20],
            request_timeout_s=reader.number("request_timeout", float, 15.0),
            max_connections=reader.number("max_connections", int, 100),
            retry=retry,
            inbox_lease_s=reader.number("inbox_lease", float, 60.0),
            store_timeout_s=reader.number("store_timeout", float, 3.0),
            max_workers=reader.number("max_workers", int, 64),
        )


def _checked_base_url(base_url: str) -> str:
    """The Graph API root, if it is ``https://``, or ``http://`` on this machine only.

    The access token travels in every request's header, so plain HTTP is refused unless the
    server is on loopback (tests and staging point the channel at a local fake).
    """
    parts = urlsplit(base_url)
    try:
        host = parts.hostname
    except ValueError:
        host = None
    if parts.scheme == "https" and host:
        return base_url
    if parts.scheme == "http" and host in LOOPBACK_HOSTS:
        return base_url
    if parts.scheme == "http" and host:
        raise WhatsAppConfigError(
            f"WhatsApp channel: WHATSAPP_API_BASE_URL must start with https:// (the access "
            f"token is sent with every request); http:// is accepted only for a local server "
            f"(127.0.0.1, localhost, ::1), got {base_url!r}."
        )
    raise WhatsAppConfigError(
        f"WhatsApp channel: WHATSAPP_API_BASE_URL must start with https://, got {base_url!r}."
    )


class _Reader:
    """Looks a setting up in the credentials, then in its environment variable."""

    def __init__(self, credentials: Mapping[str, Any], environ: Mapping[str, str]) -> None:
        self.credentials = credentials
        self.environ = environ

    def text(self, key: str) -> str:
        value = self.credentials.get(key)
        if value is not None and not isinstance(value, (dict, list)):
            # Rasa expands ${VAR} only in plain YAML scalars; a quoted "${VAR}" arrives as is.
            expanded = _UNEXPANDED.sub(lambda m: self.environ.get(m.group(1), ""), str(value))
            if expanded.strip():
                return expanded.strip()
        env_var = ENV_VARS.get(key)
        return (self.environ.get(env_var) or "").strip() if env_var else ""

    def number(self, key: str, kind: Callable[[str], T], default: T) -> T:
        raw = self.text(key)
        if not raw:
            return default
        try:
            return kind(raw)
        except ValueError:
            raise WhatsAppConfigError(
                f"WhatsApp channel: '{key}' must be a number, got {raw!r}."
            ) from None
