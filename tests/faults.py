"""Fault injection shared by the store and channel tests: a server that never answers.

``silent_listener()`` accepts TCP connections on a loopback port and never sends a byte, like
a database whose host is up but whose server hangs. Used as the database URL
(``postgresql+psycopg2://u@127.0.0.1:<port>/x``), every call must fail within its timeout.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def silent_listener() -> Iterator[int]:
    """A loopback port that accepts connections and never answers; yields the port."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:  # the accept timeout, or the socket closed at the end
                continue
            accepted.append(connection)  # held open, never read nor written

    thread = threading.Thread(target=accept, name="silent-listener", daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        server.close()


def hanging_postgres_url(port: int) -> str:
    return f"postgresql+psycopg2://u@127.0.0.1:{port}/x"
