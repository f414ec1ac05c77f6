"""The running Rasa processes: which model each runs, and loading a model into all of them.

A model is loaded by asking a process (``PUT /model`` of Rasa's HTTP API, which needs ``rasa
run --enable-api``; with ``--auth-token`` the token goes in the query string), and checked by
``GET /status``, which names the loaded model's id. A topology has several Rasa processes
behind a load balancer; each is reached directly, at the URLs of ``LAW_RASA_URLS``
(``Settings.rasa_urls``). Loading is all or nothing: when a process cannot load the model,
the processes that did are given their previous model back, and the error names each process
and what it runs now, so the topology is never left split without staff being told.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from antrean.settings import RASA_TOKEN_ENV, RASA_URLS_ENV, Settings
from antrean.staff.common import StaffError

LOAD_TIMEOUT = 900.0  # seconds; the full model takes a while to load on a busy server


class RasaServer:
    """Rasa's HTTP API of one process at ``url``."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def _request(self, method: str, path: str, timeout: float, **kwargs: Any) -> requests.Response:
        params = {"token": self.token} if self.token else None
        try:
            reply = requests.request(method, f"{self.url}{path}", params=params,
                                     timeout=timeout, **kwargs)
        except requests.RequestException as exc:
            raise StaffError(
                f"Server Rasa di {self.url} tidak dapat dihubungi ({exc.__class__.__name__}). "
                f"Pastikan server berjalan dengan --enable-api dan {RASA_URLS_ENV} benar.", 3
            ) from exc
        if reply.status_code in (401, 403):
            raise StaffError(
                f"Server Rasa {self.url} menolak permintaan ({reply.status_code}): periksa token "
                f"di {RASA_TOKEN_ENV} (sama dengan --auth-token server).", 3)
        return reply

    def loaded_model(self) -> dict[str, Any] | None:
        """``{"model_file", "model_id"}`` of the loaded model; None when none is loaded."""
        reply = self._request("GET", "/status", timeout=30)
        if reply.status_code == 409:  # Rasa: "No agent loaded"
            return None
        if reply.status_code != 200:
            raise StaffError(f"GET /status gagal ({reply.status_code}): {_message(reply)}", 3)
        return reply.json()

    def load_model(self, model: Path) -> None:
        """Ask the process to load ``model`` and wait until it has (PUT /model)."""
        reply = self._request("PUT", "/model", timeout=LOAD_TIMEOUT,
                              json={"model_file": str(model.resolve())})
        if reply.status_code != 204:
            raise StaffError(
                f"Server {self.url} tidak dapat memuat {model.name} ({reply.status_code}): "
                f"{_message(reply)}.", 1)


def _message(reply: requests.Response) -> str:
    try:
        return str(reply.json().get("message") or reply.text)[:300]
    except ValueError:
        return reply.text[:300]


def _on_each(servers: list[RasaServer], work: Callable[[RasaServer], Any]
             ) -> list[tuple[RasaServer, Any, StaffError | None]]:
    """``work`` on every process at once: (server, result, the StaffError it raised)."""
    def run(server: RasaServer) -> tuple[RasaServer, Any, StaffError | None]:
        try:
            return server, work(server), None
        except StaffError as problem:
            return server, None, problem

    if not servers:
        return []
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        return list(pool.map(run, servers))


@dataclass
class ProcessModel:
    """What one process runs: its model, or why that could not be read."""

    url: str
    model_id: str | None = None
    model_file: str | None = None
    problem: str | None = None


class Topology:
    """Every Rasa process of the deployment, each at its own URL."""

    def __init__(self, urls: Sequence[str], token: str | None = None) -> None:
        if not urls:
            raise StaffError(f"Tidak ada alamat server Rasa ({RASA_URLS_ENV}).", 3)
        self.servers = [RasaServer(url, token) for url in urls]

    @classmethod
    def from_settings(cls, given: str | None = None, settings: Settings | None = None
                      ) -> Topology:
        """The processes named by ``given`` (comma-separated URLs), else by the settings."""
        settings = settings or Settings.from_env()
        urls = [u.strip() for u in given.split(",") if u.strip()] if given else \
            list(settings.rasa_urls)
        return cls(urls, settings.rasa_token)

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    def models(self) -> list[ProcessModel]:
        """The model each process runs (a process that cannot be asked says why)."""
        found = []
        for server, loaded, problem in _on_each(self.servers, RasaServer.loaded_model):
            if problem is not None:
                found.append(ProcessModel(server.url, problem=problem.message))
            else:
                found.append(ProcessModel(server.url, (loaded or {}).get("model_id"),
                                          (loaded or {}).get("model_file")))
        return found

    def require(self, model_id: str, name: str) -> None:
        """Every process runs ``model_id``; else a StaffError naming those that do not."""
        found = _on_each(self.servers, RasaServer.loaded_model)
        unreachable = [problem for _, _, problem in found if problem is not None]
        if unreachable:
            raise StaffError("\n".join(p.message for p in unreachable),
                             max(p.exit_code for p in unreachable))
        others = [(server.url, (loaded or {}).get("model_file") or "(belum memuat model)")
                  for server, loaded, _ in found if (loaded or {}).get("model_id") != model_id]
        if others:
            raise StaffError(
                f"Server memakai model lain, bukan {name} yang dibandingkan: "
                + "; ".join(f"{url} memakai model {file}" for url, file in others)
                + ". Ulangi dengan --model-saat-ini <file model yang dipakai server>.", 1)

    def load_everywhere(self, model: Path, model_id: str, previous: Path) -> None:
        """Load ``model`` into every process, or into none of them.

        Args:
            model: The model to load.
            model_id: Its id, checked in each process's ``GET /status`` afterwards.
            previous: What the processes ran before: loaded back into those that succeeded
                when another one failed.

        Raises:
            StaffError: A process failed; says which, and what each process runs now.
        """
        def load(server: RasaServer) -> None:
            server.load_model(model)
            loaded = server.loaded_model()
            if not loaded or loaded.get("model_id") != model_id:
                raise StaffError(f"{server.url} melaporkan model lain "
                                 f"({(loaded or {}).get('model_file')}) setelah memuat", 1)

        results = _on_each(self.servers, load)
        failed = [(server, problem) for server, _, problem in results if problem is not None]
        if not failed:
            return
        loaded = [server for server, _, problem in results if problem is None]
        restored = [(server, problem) for server, _, problem in
                    _on_each(loaded, lambda s: s.load_model(previous))]
        lines = [f"  - {server.url}: gagal: {problem.message}" for server, problem in failed]
        split = False
        for server, problem in restored:
            if problem is None:
                lines.append(f"  - {server.url}: sempat memuat, dikembalikan ke {previous.name}")
            else:
                split = True
                lines.append(f"  - {server.url}: MEMAKAI {model.name}, gagal dikembalikan: "
                             f"{problem.message}")
        head = (f"Tidak semua proses Rasa dapat memuat {model.name}; tidak dipromosikan, "
                f"semua proses tetap memakai {previous.name}:")
        if split:
            head = (f"PERHATIAN: proses Rasa kini memakai model berbeda. {model.name} tidak "
                    "dapat dimuat di semua proses dan tidak semua dapat dikembalikan; serahkan "
                    "ke tim TI (nyalakan ulang proses dengan models/current.tar.gz):")
        raise StaffError("\n".join([head, *lines]), 1)
