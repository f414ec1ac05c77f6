"""Prints the figures of the production topology run at the end of the test session."""
from __future__ import annotations

from tests.prod import crowd


def pytest_terminal_summary(terminalreporter) -> None:
    figures = crowd.FIGURES
    if not figures:
        return
    terminalreporter.write_line(
        "Production topology: {applicants} applicants for {capacity} places → {booked} booked, "
        "{refused} offered alternatives ({late} started late); {messages} messages, {replies} "
        "replies, {redeliveries} duplicate deliveries; start-up {startup_s}s "
        "({startup_cpu_s} CPU-s), chat {chat_s}s ({chat_cpu_s} CPU-s)".format(
            **figures)
    )
