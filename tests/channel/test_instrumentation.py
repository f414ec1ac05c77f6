"""The WhatsApp channel's figures (``addons/whatsapp/instrumentation.py``).

Re-deliveries counted apart, each answered message timed once, the arrival map bounded, Graph
API errors by code and status.
"""
from __future__ import annotations

from addons.whatsapp import instrumentation
from addons.whatsapp.graph_client import SendResult
from addons.whatsapp.payload import InboundMessage, MessageKind
from antrean import metrics


def figure(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def message(wamid: str) -> InboundMessage:
    return InboundMessage(message_id=wamid, sender_id="6281299004406", kind=MessageKind.TEXT,
                          wire_type="text", text="halo")


def test_redeliveries_are_counted_apart_and_each_answer_timed_once() -> None:
    before = {name: figure(name, **labels) for name, labels in (
        ("law_messages_received_total", {"channel": "whatsapp"}),
        ("law_whatsapp_duplicates_total", {}),
        ("law_reply_latency_seconds_count", {"channel": "whatsapp"}))}
    delivery = [message("wamid.i.1"), message("wamid.i.2"), message("wamid.i.old")]
    instrumentation.accepted(delivery, {"wamid.i.1", "wamid.i.2"})
    for wamid in ("wamid.i.1", "wamid.i.2", "wamid.i.1", "wamid.i.old"):
        instrumentation.answered(wamid)  # the second answer of i.1 and the skipped one: untimed
    assert figure("law_messages_received_total", channel="whatsapp") - before[
        "law_messages_received_total"] == 3
    assert figure("law_whatsapp_duplicates_total") - before["law_whatsapp_duplicates_total"] == 1
    assert figure("law_reply_latency_seconds_count", channel="whatsapp") - before[
        "law_reply_latency_seconds_count"] == 2


def test_arrival_times_are_bounded(monkeypatch) -> None:
    monkeypatch.setattr(instrumentation, "REMEMBERED", 100)
    instrumentation.accepted([message(f"wamid.b.{i}") for i in range(2500)],
                             {f"wamid.b.{i}" for i in range(2500)})
    assert len(instrumentation._arrived) == 100  # noqa: SLF001
    assert "wamid.b.2499" in instrumentation._arrived  # noqa: SLF001 - the newest are kept
    for i in range(2500):
        instrumentation.answered(f"wamid.b.{i}")
    assert not instrumentation._arrived  # noqa: SLF001


def test_graph_errors_by_code_and_status() -> None:
    before = figure("law_graph_errors_total", code="131047", status="400")
    no_answer = figure("law_graph_errors_total", code="none", status="none")
    instrumentation.graph_attempt(SendResult(ok=False, attempts=1, status=400, error_code=131047))
    instrumentation.graph_attempt(SendResult(ok=False, attempts=2, error_title="TimeoutError"))
    instrumentation.graph_attempt(SendResult(ok=True, attempts=1, status=200))
    assert figure("law_graph_errors_total", code="131047", status="400") - before == 1
    assert figure("law_graph_errors_total", code="none", status="none") - no_answer == 1
