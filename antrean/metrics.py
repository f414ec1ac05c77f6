"""Prometheus metrics of every LAW process: one registry, the definitions, the text format.

The definitions are the contract the dashboard (``deploy/grafana/law-dashboard.json``) and
``docs/deployment.md`` ("Metrics") rely on; the recording is done where things happen: the
WhatsApp channel (``addons/whatsapp/instrumentation.py``), Rasa and the action server
(``law_rasa/observability.py``). Serving is framework-free: :func:`render` returns the body
and its content type, so a Sanic route (Rasa, the action server), a Starlette route (the staff
console) or a test can expose it.

No label ever holds personal data: labels are channel names, response and action names from
the domain, Meta's numeric error codes, HTTP statuses and dependency names — never a phone
number, a sender id, a message id or a booking code. Recording is an in-memory increment
(a microsecond or two per figure; ``bench/bench_metrics.py``: ~10 µs per WhatsApp message with
two replies, against milliseconds of Rasa's own work).
"""
from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

# No ``*_created`` series beside each counter and histogram: nothing here reads them.
disable_created_metrics()
REGISTRY = CollectorRegistry(auto_describe=True)
# CPU, memory, open files, start time and garbage collection of the process itself.
process_collector.ProcessCollector(registry=REGISTRY)
platform_collector.PlatformCollector(registry=REGISTRY)
gc_collector.GCCollector(registry=REGISTRY)

# Seconds: an applicant's answer is due within 10 s (SPEC), a lock wait is usually milliseconds.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 10.0, 15.0, 30.0, 60.0)
LOCK_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ACTION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

PROCESS_INFO = Gauge(
    "law_process_info", "Always 1; the role label says what this process is "
    "(rasa, actions, console).", ["role"], registry=REGISTRY)

# --- messages (Rasa processes) --------------------------------------------------------------
MESSAGES_RECEIVED = Counter(
    "law_messages_received", "Applicant messages received, by input channel (WhatsApp: every "
    "message of a signed delivery for this business number, re-deliveries included).",
    ["channel"], registry=REGISTRY)
DUPLICATES = Counter(
    "law_whatsapp_duplicates", "WhatsApp messages skipped because they were answered, or are "
    "being answered, already (Meta's re-deliveries).", registry=REGISTRY)
REPLIES_SENT = Counter(
    "law_replies_sent", "Replies sent to applicants (WhatsApp: messages the Graph API accepted).",
    ["channel"], registry=REGISTRY)
REPLIES_FAILED = Counter(
    "law_replies_failed", "Replies the Graph API did not accept after every retry.",
    ["channel"], registry=REGISTRY)
REPLY_LATENCY = Histogram(
    "law_reply_latency_seconds", "From a message's arrival (WhatsApp: the webhook POST) until "
    "its last reply was handed over (WhatsApp: to the Graph API).", ["channel"],
    buckets=LATENCY_BUCKETS, registry=REGISTRY)
NLU_FALLBACKS = Counter(
    "law_nlu_fallbacks", "Applicant messages the NLU classified as nlu_fallback.",
    registry=REGISTRY)
NOT_UNDERSTOOD = Counter(
    "law_not_understood_replies", "\"Not understood\" replies sent, by response name "
    "(utter_default, utter_fallback_menu).", ["response"], registry=REGISTRY)
GRAPH_ERRORS = Counter(
    "law_graph_errors", "Graph API requests that failed, each try counted: Meta's error code "
    "(\"none\" without one) and the HTTP status (\"none\" without an answer: timeout, network).",
    ["code", "status"], registry=REGISTRY)

# --- backlogs (read from the shared database when a Rasa process is scraped) -----------------
INBOX_BACKLOG = Gauge(
    "law_whatsapp_inbox_backlog", "WhatsApp messages accepted (200 sent to Meta) and not yet "
    "answered, in the shared inbox: every process's, not only this one's.", registry=REGISTRY)
OUTBOX_BACKLOG = Gauge(
    "law_notice_outbox_backlog", "Office notices (reminders, closure notices) waiting to be sent, "
    "due or not, in the shared outbox.", registry=REGISTRY)
OWNER_NOTICE_BACKLOG = Gauge(
    "law_owner_notices_unsent", "Notices owed to a booking's own number (changed from another "
    "number, NIK released) that nobody has sent yet.", registry=REGISTRY)
for _backlog in (INBOX_BACKLOG, OUTBOX_BACKLOG, OWNER_NOTICE_BACKLOG):
    _backlog.set(float("nan"))  # not read by this process (an action server, the console)

# --- conversation lock (Rasa processes) -----------------------------------------------------
LOCK_WAIT = Histogram(
    "law_lock_wait_seconds", "Time a message waited for its conversation's lock (Rasa's lock "
    "store) before it was handled.", buckets=LOCK_BUCKETS, registry=REGISTRY)
LOCK_ERRORS = Counter(
    "law_lock_errors", "Conversation locks that could not be taken (lock store error or an "
    "expired ticket).", registry=REGISTRY)

# --- custom actions (action servers) --------------------------------------------------------
ACTION_CALLS = Counter(
    "law_action_calls", "Custom action calls, by action name.", ["action"], registry=REGISTRY)
ACTION_FAILURES = Counter(
    "law_action_failures", "Custom action calls that raised (answered with the apology), by "
    "action name.", ["action"], registry=REGISTRY)
ACTION_SECONDS = Histogram(
    "law_action_seconds", "Duration of custom action calls, by action name.", ["action"],
    buckets=ACTION_BUCKETS, registry=REGISTRY)

# --- readiness (every server process) -------------------------------------------------------
READY = Gauge(
    "law_ready", "1 when the last readiness check passed, 0 when it failed.", registry=REGISTRY)
DEPENDENCY_UP = Gauge(
    "law_dependency_up", "1 when the dependency answered the last check in time, else 0 "
    "(database, tracker_store, redis, model).", ["dependency"], registry=REGISTRY)


def set_role(role: str) -> None:
    """Name what this process is in ``law_process_info`` (``rasa``, ``actions``, ``console``)."""
    PROCESS_INFO.labels(role).set(1)


def render() -> tuple[bytes, str]:
    """The current figures in Prometheus' text format, and the content type to serve them with.

    Returns:
        ``(body, content_type)``, e.g. for Starlette
        ``Response(body, media_type=content_type)``.
    """
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
