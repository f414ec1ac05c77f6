"""The nginx in front of LAW's processes, as ``law-prod`` runs it: its configuration and command.

``law-prod`` writes one configuration into a directory of nginx's own (its *prefix*: the
configuration, the pid file, the logs and the temporary paths, by default ``var/prod/nginx/``)
and starts Debian's ``/usr/sbin/nginx`` in the foreground as one of its children. Two servers:

- **front** — Meta's webhook, spread **round robin** over every Rasa process (this machine's
  and, on several machines, the others'). No affinity: since the lock store serialises each
  conversation across processes (``law_rasa/lock_store.py``), an applicant's consecutive
  messages may land on different processes.
- **actions** — Rasa's action calls, spread round robin over this machine's action servers.

A process that refuses connections or does not answer is skipped at once (the request goes to
the next one) and left out for ``FAIL_TIMEOUT`` (nginx's passive health checks,
``max_fails``/``fail_timeout``). A Rasa process whose channel answers 503 on its readiness path
(``/webhooks/whatsapp/``: its database does not answer) is left out the same way whenever that
path is asked through the front. ``deploy/nginx/law.conf`` is the same policy for a real
server, where Debian's nginx service runs it.

The access log names the process that served each request (``$upstream_addr``) and never the
query string (the webhook handshake carries the verify token there) nor a body.
"""
from __future__ import annotations

import grp
import os
import pwd
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

NGINX = "/usr/sbin/nginx"
CONF_NAME = "nginx.conf"
WEBHOOK_PATH = "/webhooks/whatsapp/webhook"
WHATSAPP_HEALTH_PATH = "/webhooks/whatsapp/"
# A process that failed once is left out this long, then tried again with one request.
FAIL_TIMEOUT = "5s"
# Below the keep-alive timeout of Sanic (5 s), which Rasa and the action server run on, so that
# nginx never reuses a connection the server is closing at that moment: a POST sent on such a
# connection would fail with nothing to retry it (action calls are not retried, see below).
UPSTREAM_KEEPALIVE_TIMEOUT = "3s"
# Meta's deliveries are small; a larger body is not a webhook. Bodies up to this size are kept
# in memory, so nginx's workers never write a temporary file (as root they run as nobody).
MAX_BODY = "1m"
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class NginxError(Exception):
    """nginx refused the configuration; the message is nginx's own."""


@dataclass(frozen=True)
class Site:
    """What nginx serves on one machine.

    Attributes:
        prefix: nginx's directory: configuration, pid file, ``logs/``, ``temp/``.
        rasa: ``host:port`` of every Rasa process the front spreads the webhook over.
        actions: ``host:port`` of this machine's action servers.
        actions_listen: ``host:port`` where Rasa reaches the action servers.
        front_listen: ``host:port`` of the front, or ``None`` on a machine whose Rasa
            processes another machine's load balancer reaches directly.
        health_path: The Rasa readiness path (``/`` when only the REST channel runs).
    """

    prefix: Path
    rasa: Sequence[str]
    actions: Sequence[str]
    actions_listen: str
    front_listen: str | None = None
    health_path: str = WHATSAPP_HEALTH_PATH

    @property
    def conf(self) -> Path:
        return self.prefix / CONF_NAME

    @property
    def access_log(self) -> Path:
        return self.prefix / "logs" / "access.log"

    @property
    def error_log(self) -> Path:
        return self.prefix / "logs" / "error.log"


def render(site: Site) -> str:
    """The whole ``nginx.conf`` of ``site``."""
    prefix = site.prefix
    temp = "\n".join(f"    {name}_temp_path {prefix / 'temp' / name};" for name in TEMP_PATHS)
    servers = [_actions_server(site)]
    if site.front_listen is not None:
        servers.insert(0, _front_server(site))
    upstreams = [_upstream("law_actions", site.actions, keepalive=16)]
    if site.front_listen is not None:
        upstreams.insert(0, _upstream("law_rasa", site.rasa, keepalive=32))
    return f"""\
# Written by law-prod (law_launch/nginx.py) at every start: edit that module, not this file.
# Started as: {' '.join(command(site))}
{_user_line()}worker_processes 1;
pid {prefix / 'nginx.pid'};
error_log {site.error_log} warn;

events {{
    worker_connections 1024;
}}

http {{
    # No query string (the webhook handshake's verify token) and no body: nothing personal.
    log_format law '$time_iso8601 $request_method $uri $status '
                   'upstream=$upstream_addr upstream_status=$upstream_status '
                   'time=$request_time';
    access_log {site.access_log} law;
{temp}
    client_max_body_size {MAX_BODY};
    client_body_buffer_size {MAX_BODY};
    proxy_max_temp_file_size 0;
    server_tokens off;
    default_type application/octet-stream;

    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_connect_timeout 2s;

{_indent(chr(10).join(upstreams))}

{_indent(chr(10).join(servers))}
}}
"""


def _upstream(name: str, servers: Sequence[str], keepalive: int) -> str:
    lines = "\n".join(f"    server {server} max_fails=1 fail_timeout={FAIL_TIMEOUT};"
                      for server in servers)
    return (f"upstream {name} {{\n{lines}\n    keepalive {keepalive};\n"
            f"    keepalive_timeout {UPSTREAM_KEEPALIVE_TIMEOUT};\n}}\n")


def _front_server(site: Site) -> str:
    tries = max(len(site.rasa), 1)
    return f"""\
# The front: Meta's webhook, round robin over the Rasa processes.
server {{
    listen {site.front_listen};

    location = {WEBHOOK_PATH} {{
        proxy_pass http://law_rasa;
        # The body reaches Rasa byte for byte: the signature is checked over it.
        proxy_request_buffering on;
        proxy_read_timeout 30s;
        # A delivery a process did not answer is tried on the next one, POST included
        # (non_idempotent). That cannot answer a message twice: the channel stores each
        # message id in its inbox before its 200 (addons/whatsapp/inbox.py), in one
        # INSERT … ON CONFLICT DO NOTHING plus a lease. What the first process stored stays
        # leased to it (the next one answers 200 and skips it as "seen before"; if the first
        # died, another process takes the message up when the lease runs out); what it did
        # not store, the next one stores and answers; an answered id is in
        # whatsapp_processed_messages and skipped. It is exactly what Meta's own re-delivery
        # would do, minutes sooner. The channel's fail-open path (database down: answered
        # without storing) returns its 200 within its store timeout (3 s), far below
        # proxy_read_timeout, so a request in that path is never retried.
        proxy_next_upstream error timeout http_502 http_503 non_idempotent;
        proxy_next_upstream_tries {tries};
        proxy_next_upstream_timeout 40s;
    }}

    # Readiness: a process answering 503 (its database does not answer) counts as failed and
    # is left out for {FAIL_TIMEOUT}; the answer is the next process's.
    location = {site.health_path} {{
        proxy_pass http://law_rasa;
        proxy_next_upstream error timeout http_502 http_503;
        proxy_read_timeout 10s;
    }}

    # A model is loaded into every process through LAW_RASA_URLS (each process's own URL,
    # set by law-prod), never through the balancer, which would reach one process only.
    location = /model {{
        return 403;
    }}

    # The rest (the REST channel of --rest-only, Rasa's status): round robin, retried only
    # when it never reached a process. law-prod's front listens on loopback by default; the
    # public site (deploy/nginx/law.conf) forwards the WhatsApp webhook alone.
    location / {{
        proxy_pass http://law_rasa;
        proxy_next_upstream error timeout;
        proxy_read_timeout 60s;
    }}
}}
"""


def _actions_server(site: Site) -> str:
    return f"""\
# Rasa's action calls, round robin over this machine's action servers.
server {{
    listen {site.actions_listen};

    location / {{
        proxy_pass http://law_actions;
        # Retried on the next server only when it never reached the first (refused or not
        # connected in time). A call that reached a server is never sent again, since an
        # action may reserve a place; its failure reaches Rasa, whose error boundary answers
        # the applicant (issue 14).
        proxy_next_upstream error timeout;
        proxy_next_upstream_tries {max(len(site.actions), 1)};
        proxy_read_timeout 60s;
    }}
}}
"""


def _user_line() -> str:
    """Workers of a root master run as nobody; name nobody's real group (Debian: nogroup).

    nginx's built-in default is the group ``nobody``, which Debian does not have. Nothing the
    workers do needs a file: bodies and answers stay in memory (``MAX_BODY``), and the logs
    are opened by the master.
    """
    if os.geteuid() != 0:
        return ""
    try:
        nobody = pwd.getpwnam("nobody")
        group = grp.getgrgid(nobody.pw_gid).gr_name
    except KeyError:
        return "user root root;  # no user nobody on this machine\n"
    return f"user nobody {group};\n"


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" if line else "" for line in text.rstrip("\n").splitlines())


def command(site: Site) -> list[str]:
    """The command line of nginx in the foreground (``daemon off``: ``law-prod``'s child)."""
    return [NGINX, "-p", f"{site.prefix}/", "-c", str(site.conf), "-g", "daemon off;"]


def write(site: Site) -> Path:
    """Write the configuration and its directories, check it with ``nginx -t``.

    Raises:
        NginxError: nginx refused the configuration (its message says why).
    """
    for sub in ("logs", "temp"):
        (site.prefix / sub).mkdir(parents=True, exist_ok=True)
    site.conf.write_text(render(site), encoding="utf-8")
    checked = subprocess.run([*command(site), "-t", "-q"], capture_output=True, text=True,
                             check=False)
    if checked.returncode != 0:
        raise NginxError((checked.stderr or checked.stdout).strip())
    return site.conf
