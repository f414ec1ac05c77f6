"""A TCP proxy on loopback in front of a real server, switched by the test while it is used.

``up`` relays; ``silent`` accepts and holds every byte (a server that hangs, as
``tests/faults.py``'s listener); ``down`` refuses connections (a server that is gone).
Processes started with the proxy's port as their database or Redis port then see a store
fail and come back without being restarted.
"""
from __future__ import annotations

import socket
import threading


class SwitchableProxy:
    """Relays ``127.0.0.1:<port>`` to ``target``; see the module's docstring."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._flowing = threading.Event()
        self._flowing.set()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.up()

    def up(self) -> None:
        """Listen (again, on the same port) and relay."""
        self._flowing.set()
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True,
                         name="proxy-accept").start()

    def silent(self) -> None:
        """Keep accepting, relay nothing (held bytes go on after :meth:`up`)."""
        self._flowing.clear()

    def down(self) -> None:
        """Stop listening and cut every connection."""
        listener, self._listener = self._listener, None
        if listener is not None:
            _shut(listener)  # shutdown() first: a close() alone leaves accept() listening
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def close(self) -> None:
        self.down()
        self._flowing.set()  # release held threads; their sockets are shut already

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by down()
            self._track(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True,
                             name="proxy-conn").start()

    def _serve(self, client: socket.socket) -> None:
        self._flowing.wait()  # a silent server does not even answer the handshake
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _shut(client)
            return
        upstream.settimeout(None)
        self._track(upstream)
        threading.Thread(target=self._pump, args=(client, upstream), daemon=True,
                         name="proxy-pump").start()
        self._pump(upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                self._flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _shut(source)
            _shut(sink)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
