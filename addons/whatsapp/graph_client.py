"""Asynchronous client of the Graph API ``/{phone_number_id}/messages`` endpoint.

One ``aiohttp`` session (and so one connection pool) per event loop, created on first use,
never at import time. Calls that fail with 429, 5xx, a network error or one of Meta's
rate-limit codes are retried with exponential backoff and jitter; the final outcome is
returned, never raised, so a failing Graph API cannot take the Rasa server down.

A message is not idempotent: the Graph API has no idempotency key, and a request that timed
out after it was written may have been received and delivered all the same. So a failure
before anything was sent (no connection, connect timeout) is retried freely, while one after
the request went out (read timeout, connection dropped) is retried at most
``RetryPolicy.max_unsure_retries`` times (once by default): a slow Graph API receives each
reply at most twice. Read receipts are idempotent and retried as usual.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiohttp

from addons.whatsapp import instrumentation
from addons.whatsapp.payload import MESSAGING_PRODUCT, ReadReceipt
from addons.whatsapp.privacy import mask_phone, scrub
from addons.whatsapp.settings import RetryPolicy, WhatsAppSettings

logger = logging.getLogger(__name__)

# Meta's "you send too fast" codes: app (4), account (80007), Cloud API throughput (130429)
# and business/consumer pair (131056) rate limits. They call for a longer wait than a 5xx.
RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131056})
# Codes Meta documents as temporary ("try again later").
TRANSIENT_CODES = frozenset({1, 2, 131000, 131016})


@dataclass(frozen=True)
class SendResult:
    """The outcome of one Graph API call, after all retries.

    Attributes:
        ok: Whether Meta accepted the request.
        attempts: How many HTTP requests were made.
        status: The last HTTP status, ``None`` if no answer came back at all.
        message_id: The ``wamid`` Meta gave the outgoing message, if any.
        error_code: Meta's error code of the last failure, if any.
        error_title: Meta's short error description of the last failure, if any.
        maybe_received: The last request failed without an answer after it was sent, so
            Meta may have received it (and delivered the message) all the same.
    """

    ok: bool
    attempts: int
    status: int | None = None
    message_id: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    maybe_received: bool = False


def backoff_delay(
    policy: RetryPolicy,
    attempt: int,
    rate_limited: bool,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """The pause before the next try ("equal jitter": between half and all of the step).

    Args:
        policy: The retry policy.
        attempt: The number of the try that just failed (1 for the first).
        rate_limited: Whether Meta said we send too fast.
        retry_after_s: Meta's ``Retry-After`` header, if it sent one.
        rng: Source of randomness (tests pass a seeded one).

    Returns:
        Seconds to wait.
    """
    step = policy.backoff_base_s * (2 ** (attempt - 1))
    if rate_limited:
        step *= policy.rate_limit_factor
    step = min(step, policy.backoff_max_s * (policy.rate_limit_factor if rate_limited else 1))
    delay = (rng or random).uniform(step / 2, step)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, policy.backoff_max_s * policy.rate_limit_factor))
    return delay


class GraphClient:
    """Sends messages and read receipts from one business number.

    Args:
        settings: The channel's settings (URL, token, timeouts, pool size, retry policy).
    """

    def __init__(self, settings: WhatsAppSettings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None

    def _client_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            # A session belongs to the loop it was made in; tests and `rasa run` may use
            # several loops over a process's life.
            connector = aiohttp.TCPConnector(
                limit=self.settings.max_connections, ttl_dns_cache=300
            )
            timeout = aiohttp.ClientTimeout(
                total=self.settings.request_timeout_s,
                connect=min(5.0, self.settings.request_timeout_s),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=timeout,
                trace_configs=[_sent_tracer()],
                headers={"Authorization": f"Bearer {self.settings.access_token}"},
                raise_for_status=False,
            )
            self._session_loop = loop
        return self._session

    async def close(self) -> None:
        """Close the connection pool of the current event loop, if any."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            if self._session_loop is asyncio.get_running_loop():
                await session.close()
        self._session_loop = None

    async def send_message(
        self, payload: Mapping[str, Any], *, recipient: str, context_id: str | None = None
    ) -> SendResult:
        """Send one message, retrying what may succeed later.

        Args:
            payload: The JSON body (an :class:`~addons.whatsapp.payload.OutgoingMessage`).
            recipient: The applicant's wa_id (only its masked form is ever logged).
            context_id: The id of the applicant's message being answered, for the logs.

        Returns:
            The outcome; a final failure has been logged already.
        """
        return await self._post(
            payload,
            recipient=recipient,
            context_id=context_id,
            what=str(payload.get("type", "message")),
            policy=self.settings.retry,
            failure_level=logging.ERROR,
            idempotent=False,
        )

    async def mark_read(self, message_id: str, *, sender: str) -> SendResult:
        """Mark an applicant's message as read (blue ticks); at most two tries.

        Args:
            message_id: The wamid of the applicant's message.
            sender: The applicant's wa_id (only its masked form is ever logged).

        Returns:
            The outcome.
        """
        receipt: ReadReceipt = {
            "messaging_product": MESSAGING_PRODUCT,
            "status": "read",
            "message_id": message_id,
        }
        policy = self.settings.retry
        policy = RetryPolicy(
            max_attempts=min(2, policy.max_attempts),
            backoff_base_s=policy.backoff_base_s,
            backoff_max_s=policy.backoff_max_s,
            rate_limit_factor=1.0,
        )
        return await self._post(
            receipt,
            recipient=sender,
            context_id=message_id,
            what="read receipt",
            policy=policy,
            failure_level=logging.WARNING,
            idempotent=True,
        )

    async def _post(
        self,
        payload: Mapping[str, Any],
        *,
        recipient: str,
        context_id: str | None,
        what: str,
        policy: RetryPolicy,
        failure_level: int,
        idempotent: bool,
    ) -> SendResult:
        result = SendResult(ok=False, attempts=0)
        unsure_retries = 0
        for attempt in range(1, policy.max_attempts + 1):
            result, retry_after = await self._attempt(payload, attempt)
            instrumentation.graph_attempt(result)
            if result.ok:
                return result
            if result.maybe_received and not idempotent:
                if unsure_retries >= policy.max_unsure_retries:
                    break
                unsure_retries += 1
            rate_limited = result.status == 429 or result.error_code in RATE_LIMIT_CODES
            retryable = (
                result.status is None
                or result.status >= 500
                or rate_limited
                or result.error_code in TRANSIENT_CODES
            )
            if not retryable or attempt == policy.max_attempts:
                break
            delay = backoff_delay(policy, attempt, rate_limited, retry_after)
            logger.info(
                "WhatsApp %s to %s (re %s) failed (HTTP %s, code %s); retry %d in %.2fs.",
                what, mask_phone(recipient), context_id or "-", result.status,
                result.error_code, attempt + 1, delay,
            )
            await asyncio.sleep(delay)
        logger.log(
            failure_level,
            "WhatsApp %s to %s (re message %s) failed after %d attempt(s): HTTP %s, "
            "code %s (%s).",
            what, mask_phone(recipient), context_id or "-", result.attempts, result.status,
            result.error_code, result.error_title or "no error body",
        )
        return result

    async def _attempt(
        self, payload: Mapping[str, Any], attempt: int
    ) -> tuple[SendResult, float | None]:
        sent = SimpleNamespace(headers=False)
        try:
            session = self._client_session()
            async with session.post(
                self.settings.messages_url, json=payload, trace_request_ctx=sent
            ) as response:
                body = await _json_or_empty(response)
                retry_after = _seconds(response.headers.get("Retry-After"))
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            # The exception text holds the URL (the business number's id), never the
            # applicant's number, but keep only the class name to be safe.
            return SendResult(ok=False, attempts=attempt, error_title=type(exc).__name__,
                              maybe_received=sent.headers), None
        if 200 <= status < 300:
            messages = body.get("messages")
            wamid = None
            if isinstance(messages, list) and messages and isinstance(messages[0], dict):
                wamid = messages[0].get("id")
            return SendResult(ok=True, attempts=attempt, status=status, message_id=wamid), None
        raw_error = body.get("error")
        error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
        code = error.get("code")
        return (
            SendResult(
                ok=False,
                attempts=attempt,
                status=status,
                error_code=code if isinstance(code, int) else None,
                error_title=scrub(error.get("message") or error.get("type"), 160) or None,
            ),
            retry_after,
        )


def _sent_tracer() -> aiohttp.TraceConfig:
    """Notes in each request's ``trace_request_ctx`` when its headers went out."""

    async def on_headers_sent(
        _session: aiohttp.ClientSession, context: SimpleNamespace, _params: Any
    ) -> None:
        if context.trace_request_ctx is not None:
            context.trace_request_ctx.headers = True

    tracer = aiohttp.TraceConfig()
    # aiohttp 3.9 annotates its signals for aiosignal < 1.4 (Signal[callback type]); the pinned
    # aiosignal 1.4 reads the parameter as the callbacks' argument types, so mypy misreads it.
    tracer.on_request_headers_sent.append(on_headers_sent)  # type: ignore[arg-type]
    return tracer


async def _json_or_empty(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {}
    return body if isinstance(body, dict) else {}


def _seconds(raw: str | None) -> float | None:
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None
