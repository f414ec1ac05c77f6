"""Prints the figures of the production topology run at the end of the test session."""
from __future__ import annotations

from tests.prod import crowd


def pytest_terminal_summary(terminalreporter) -> None:
    figures = crowd.FIGURES
    if not figures:
        return
    terminalreporter.write_line(
        "Production topology ({rasa} Rasa processes on 2 machines behind round-robin nginx): "
        "{applicants} applicants for {capacity} places → {booked} booked, {refused} offered "
        "alternatives ({late} started late); {messages} messages, {replies} replies, "
        "{redeliveries} duplicate deliveries; start-up {startup_s}s, chat {chat_s}s "
        "({chat_cpu_s} CPU-s)".format(**figures))
    extra = {key: figures[key] for key in ("changed_process", "share", "back_to_back_spread",
                                           "back_to_back_out_of_order", "held_by_killed",
                                           "recovered_after_s", "others_replied_within_s",
                                           "passed_on") if key in figures}
    if extra:
        terminalreporter.write_line(
            "  " + "; ".join(f"{key.replace('_', ' ')}: {value}" for key, value in extra.items()))
