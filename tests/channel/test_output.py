"""The output channel against the fake Graph API: shapes of messages, splitting, retries."""
from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from addons.whatsapp.formatting import (
    MAX_TEXT_CHARS,
    MenuMemory,
    split_text,
    split_text_exact,
)
from addons.whatsapp.graph_client import GraphClient, backoff_delay
from addons.whatsapp.output import WhatsAppOutput
from addons.whatsapp.settings import RetryPolicy, WhatsAppSettings
from tests.channel.helpers import (
    MESSAGES_PATH,
    SENDER,
    accept_all,
    graph_error,
    graph_ok,
    run,
    sent_bodies,
    with_retry,
)


def send_with(settings: WhatsAppSettings, action: Callable[[WhatsAppOutput], Awaitable[Any]],
              menus: MenuMemory | None = None) -> WhatsAppOutput:
    """Run ``action`` on a fresh output channel in its own event loop."""
    async def scenario() -> WhatsAppOutput:
        client = GraphClient(settings)
        output = WhatsAppOutput(client, reply_to="wamid.in.1", menus=menus)
        try:
            await action(output)
        finally:
            await client.close()
        return output

    return run(scenario())


def buttons(*titles: str) -> list[dict[str, str]]:
    return [{"title": title, "payload": f'/inform{{"choice":"{index}"}}'}
            for index, title in enumerate(titles)]


# --- long texts -------------------------------------------------------------------------


def long_text() -> str:
    rng = random.Random(7)
    words = ["antrean", "paspor", "Kemayoran", "jadwal", "besok", "dokumen", "e-KTP", "KK"]
    lines = []
    for _ in range(120):
        sentence_count = rng.randint(1, 6)
        sentences = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 25))) + "."
                     for _ in range(sentence_count)]
        lines.append(" ".join(sentences))
    lines.append("Satu kalimat yang sangat panjang " + "x" * 5000 + " selesai.")
    return "\n".join(lines)


def test_long_text_is_split_into_messages_of_at_most_4096_chars(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)
    text = long_text()
    assert len(text) > 3 * MAX_TEXT_CHARS
    send_with(settings, lambda out: out.send_text_message(SENDER, text))
    chunks = [body["text"]["body"] for body in sent_bodies(graph)]
    assert len(chunks) >= 4
    assert all(0 < len(chunk) <= MAX_TEXT_CHARS for chunk in chunks)
    # Nothing lost, nothing reordered: only whitespace at the cut points may go.
    assert "".join("".join(chunks).split()) == "".join(text.split())
    assert [body["to"] for body in sent_bodies(graph)] == [SENDER] * len(chunks)


def test_split_prefers_line_then_sentence_boundaries() -> None:
    line = "Kalimat pertama. Kalimat kedua!"
    text = "\n".join([line] * 10)
    chunks = split_text(text, limit=70)
    assert all(chunk.endswith(("pertama.", "kedua!")) for chunk in chunks)
    one_line = " ".join(["Ini kalimat."] * 10)
    assert all(c.endswith("kalimat.") for c in split_text(one_line, limit=30))


@pytest.mark.parametrize("limit", [1, 5, 17, 100, MAX_TEXT_CHARS])
def test_split_is_lossless_and_bounded(limit: int) -> None:
    rng = random.Random(limit)
    pieces = ["halo", "Selamat pagi.", "Apa kabar?", "x" * 250, "\n", "\n\n", "  ", "…!"]
    for _ in range(50):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(0, 400)))
        assert "".join(split_text_exact(text, limit)) == text
        chunks = split_text(text, limit)
        assert all(0 < len(chunk) <= limit for chunk in chunks)
        assert "".join("".join(chunks).split()) == "".join(text.split())


def test_short_text_is_one_message(graph: HTTPServer, settings: WhatsAppSettings) -> None:
    accept_all(graph)
    send_with(settings, lambda out: out.send_text_message(SENDER, "Halo! Lihat https://x.id"))
    (body,) = sent_bodies(graph)
    assert body["text"] == {"body": "Halo! Lihat https://x.id", "preview_url": True}


# --- buttons ----------------------------------------------------------------------------


def test_up_to_three_short_buttons_become_reply_buttons(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)
    choices = buttons("Ya", "Tidak", "Ganti tanggal")
    send_with(settings, lambda out: out.send_text_with_buttons(SENDER, "Sudah benar?", choices))
    (body,) = sent_bodies(graph)
    assert body["type"] == "interactive"
    assert body["interactive"] == {
        "type": "button",
        "body": {"text": "Sudah benar?"},
        "action": {"buttons": [
            {"type": "reply", "reply": {"id": b["payload"], "title": b["title"]}}
            for b in choices
        ]},
    }


@pytest.mark.parametrize(
    "titles",
    [("Baru", "Penggantian", "Hilang", "Rusak"),  # four: too many for buttons
     ("Paspor baru (pertama)", "Ya"),  # a title of 21 characters: too long for a button
     tuple(f"Sen {d} Des 2026 08:00" for d in range(1, 11))],  # ten rows
    ids=["four-choices", "long-title", "ten-choices"],
)
def test_up_to_ten_choices_become_a_list(
    graph: HTTPServer, settings: WhatsAppSettings, titles: tuple[str, ...]
) -> None:
    accept_all(graph)
    choices = buttons(*titles)
    send_with(settings, lambda out: out.send_text_with_buttons(SENDER, "Pilih layanan:", choices))
    (body,) = sent_bodies(graph)
    interactive = body["interactive"]
    assert interactive["type"] == "list"
    assert interactive["body"] == {"text": "Pilih layanan:"}
    assert interactive["action"]["button"] == settings.list_button_label
    rows = interactive["action"]["sections"][0]["rows"]
    assert [row["id"] for row in rows] == [b["payload"] for b in choices]
    assert [row["title"] for row in rows] == list(titles)


def test_list_rows_with_long_titles_carry_them_in_the_description(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)
    long_title = "Penggantian karena paspor rusak atau halaman penuh"
    choices = buttons("Baru", long_title)
    send_with(settings, lambda out: out.send_text_with_buttons(SENDER, "Layanan?", choices))
    (body,) = sent_bodies(graph)
    rows = body["interactive"]["action"]["sections"][0]["rows"]
    assert rows[0] == {"id": choices[0]["payload"], "title": "Baru"}
    assert len(rows[1]["title"]) <= 24 and rows[1]["title"].endswith("…")
    assert rows[1]["description"] == long_title


def test_more_than_ten_choices_become_a_numbered_text_answerable_by_number(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)
    choices = buttons(*(f"{h:02d}:00" for h in range(8, 20)))
    menus = MenuMemory()
    send_with(settings, lambda out: out.send_text_with_buttons(SENDER, "Jam berapa?", choices),
              menus=menus)
    (body,) = sent_bodies(graph)
    assert body["type"] == "text"
    lines = body["text"]["body"].splitlines()
    assert lines[0] == "Jam berapa?"
    assert lines[2:] == [f"{i}. {b['title']}" for i, b in enumerate(choices, start=1)]
    assert menus.resolve(SENDER, "3") == choices[2]["payload"]
    assert menus.resolve(SENDER, "3") == "3"  # answered once, then forgotten


def test_custom_json_is_passed_through_with_recipient_filled_in(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    accept_all(graph)
    template = {"type": "template", "template": {"name": "pengingat_jadwal",
                                                 "language": {"code": "id"}}}
    original = json.loads(json.dumps(template))
    send_with(settings, lambda out: out.send_custom_json(SENDER, template))
    (body,) = sent_bodies(graph)
    assert body == {"messaging_product": "whatsapp", "to": SENDER, **original}
    assert template == original  # the domain's response is not mutated


def test_image_is_sent_by_link(graph: HTTPServer, settings: WhatsAppSettings) -> None:
    accept_all(graph)
    send_with(settings, lambda out: out.send_image_url(SENDER, "https://x.id/denah.png"))
    (body,) = sent_bodies(graph)
    assert body["type"] == "image" and body["image"] == {"link": "https://x.id/denah.png"}


# --- retries ----------------------------------------------------------------------------


def failing_first(graph: HTTPServer, times: int, failure: Callable[[], Response]) -> list[int]:
    """Answer the first ``times`` sends with ``failure``, then accept; returns statuses."""
    statuses: list[int] = []

    def handler(request: Request) -> Response:
        response = failure() if len(statuses) < times else graph_ok(request)
        statuses.append(response.status_code)
        return response

    graph.expect_request(MESSAGES_PATH, method="POST").respond_with_handler(handler)
    return statuses


@pytest.mark.parametrize(
    "failure",
    [lambda: Response("slow down", status=429),
     lambda: graph_error(429, 130429, "Rate limit hit"),
     lambda: graph_error(400, 131056, "(Business Account, Consumer Account) pair rate limit"),
     lambda: graph_error(503, 1, "Service unavailable")],
    ids=["429", "130429", "131056", "503"],
)
def test_rate_limits_and_server_errors_are_retried(
    graph: HTTPServer, settings: WhatsAppSettings, failure: Callable[[], Response]
) -> None:
    statuses = failing_first(graph, 1, failure)
    output = send_with(with_retry(settings, rate_limit_factor=2.0),
                       lambda out: out.send_text_message(SENDER, "halo"))
    assert statuses[-1] == 200 and len(statuses) == 2
    assert [r.ok for r in output.sent] == [True]
    assert output.sent[0].attempts == 2 and output.sent[0].message_id.startswith("wamid.out.")
    bodies = sent_bodies(graph)
    assert bodies[0] == bodies[1]


def test_client_errors_are_not_retried(
    graph: HTTPServer, settings: WhatsAppSettings, caplog
) -> None:
    statuses = failing_first(graph, 5, lambda: graph_error(400, 131047, "Re-engagement message"))
    output = send_with(settings, lambda out: out.send_text_message(SENDER, "halo"))
    assert len(statuses) == 1
    assert not output.sent[0].ok and output.sent[0].error_code == 131047
    assert "131047" in caplog.text and "wamid.in.1" in caplog.text


def test_unreachable_graph_api_is_logged_not_raised(settings: WhatsAppSettings, caplog) -> None:
    dead = replace(settings, api_base_url="http://127.0.0.1:9")
    output = send_with(with_retry(dead, max_attempts=2),
                       lambda out: out.send_text_message(SENDER, "halo"))
    assert not output.sent[0].ok and output.sent[0].attempts == 2
    assert re.search(r"\*{9}4406", caplog.text)


def test_rate_limited_backoff_is_longer_and_jittered() -> None:
    policy = RetryPolicy(backoff_base_s=1.0, backoff_max_s=30.0, rate_limit_factor=8.0)
    rng = random.Random(3)
    plain = [backoff_delay(policy, attempt, False, rng=rng) for attempt in (1, 2, 3)]
    limited = [backoff_delay(policy, attempt, True, rng=rng) for attempt in (1, 2, 3)]
    for attempt, delay in enumerate(plain, start=1):
        step = 2 ** (attempt - 1)
        assert step / 2 <= delay <= step
    for attempt, delay in enumerate(limited, start=1):
        step = 8 * 2 ** (attempt - 1)
        assert step / 2 <= delay <= step
    assert len({round(backoff_delay(policy, 1, False), 6) for _ in range(20)}) > 1
    assert backoff_delay(policy, 1, False, retry_after_s=12.0) >= 12.0
    assert backoff_delay(policy, 30, False) <= 30.0


def test_output_channel_is_named_whatsapp(settings: WhatsAppSettings) -> None:
    assert WhatsAppOutput(GraphClient(settings)).name() == "whatsapp"


def test_logged_failure_never_contains_the_number(
    graph: HTTPServer, settings: WhatsAppSettings, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    failing_first(graph, 10, lambda: graph_error(500, 2, f"Recipient {SENDER} unavailable"))
    send_with(with_retry(settings, max_attempts=2),
              lambda out: out.send_text_message(SENDER, "rahasia pribadi"))
    assert SENDER not in caplog.text
    assert "rahasia pribadi" not in caplog.text
    assert "*********4406" in caplog.text


# --- a slow Graph API (issue 14, point 7) -----------------------------------------------


def slow_graph(graph: HTTPServer, delay_s: float) -> list[float]:
    """A Graph API that accepts each request but answers after ``delay_s``; returns the
    moments requests arrived."""
    arrivals: list[float] = []

    def handler(request: Request) -> Response:
        arrivals.append(time.monotonic())
        time.sleep(delay_s)
        return graph_ok(request)

    graph.expect_request(MESSAGES_PATH, method="POST").respond_with_handler(handler)
    return arrivals


def until_answered(graph: HTTPServer, arrivals: list[float]) -> None:
    """Wait for the slow handlers still sleeping, so none logs into the next test."""
    deadline = time.monotonic() + 5
    while len(graph.log) < len(arrivals) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_slow_graph_api_receives_each_message_at_most_twice(
    graph: HTTPServer, settings: WhatsAppSettings, caplog
) -> None:
    arrivals = slow_graph(graph, delay_s=1.5)
    slow = replace(with_retry(settings, max_attempts=5), request_timeout_s=0.3)
    started = time.monotonic()
    output = send_with(slow, lambda out: out.send_text_message(SENDER, "halo"))
    (result,) = output.sent
    assert not result.ok and result.maybe_received
    assert result.attempts == 2  # the first try, and one retry that may duplicate it
    assert time.monotonic() - started < 3
    until_answered(graph, arrivals)
    assert len(arrivals) == 2
    assert "wamid.in.1" in caplog.text


def test_no_retry_at_all_when_unsure_retries_are_off(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    arrivals = slow_graph(graph, delay_s=1.0)
    slow = replace(with_retry(settings, max_unsure_retries=0), request_timeout_s=0.3)
    (result,) = send_with(slow, lambda out: out.send_text_message(SENDER, "halo")).sent
    until_answered(graph, arrivals)
    assert result.attempts == 1 and len(arrivals) == 1


def test_a_request_that_never_went_out_is_retried_every_time(settings: WhatsAppSettings) -> None:
    dead = replace(settings, api_base_url="http://127.0.0.1:9")  # connection refused
    output = send_with(with_retry(dead, max_attempts=4),
                       lambda out: out.send_text_message(SENDER, "halo"))
    assert output.sent[0].attempts == 4 and not output.sent[0].maybe_received


def test_read_receipts_are_idempotent_and_retried_after_a_timeout(
    graph: HTTPServer, settings: WhatsAppSettings
) -> None:
    arrivals = slow_graph(graph, delay_s=1.0)
    slow = replace(settings, request_timeout_s=0.3)

    async def scenario() -> Any:
        client = GraphClient(slow)
        try:
            return await client.mark_read("wamid.in.1", sender=SENDER)
        finally:
            await client.close()

    result = run(scenario())
    until_answered(graph, arrivals)
    assert result.attempts == 2 and len(arrivals) == 2
