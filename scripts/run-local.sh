#!/usr/bin/env bash
# Start the action server and the staff console in the background and a terminal chat with
# the assistant. Embedded stores: SQLite slot store (var/law.db) and tracker store
# (var/tracker.db). Rasa and the action server start through law-rasa (law_rasa/cli.py), as
# the tests and production do; Python's warnings go to var/warnings.log, the action server's
# output to var/action-server.log, the console's (law-console) to var/console.log.
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}" RASA_TELEMETRY_ENABLED=false
model="${1:?usage: run-local.sh MODEL}"
mkdir -p var
log=var/action-server.log
warnings_log=var/warnings.log
port=5055  # as in endpoints.yml
console_port=5010  # law-console's default
console_log=var/console.log

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "error: port $port is in use (another action server?): stop it first." >&2
  exit 1
fi
# Reminders and closure notices due now (LAW_FIXED_NOW moves "now"): printed as the
# templates WhatsApp would get, nothing sent (law-notices --print; no WhatsApp number here).
.venv/bin/python -m addons.whatsapp.scheduler --once --print 2>>"$warnings_log" || true
.venv/bin/law-rasa --warnings-log "$warnings_log" run actions --actions actions -p "$port" \
  >"$log" 2>&1 &
actions_pid=$!
console_pid=""
trap 'kill $actions_pid $console_pid 2>/dev/null || true' EXIT INT TERM

# The staff console (web) on this machine only; a busy port leaves the chat working.
if (exec 3<>"/dev/tcp/127.0.0.1/$console_port") 2>/dev/null; then
  echo "warning: port $console_port is in use: the staff console is not started." >&2
else
  .venv/bin/law-console --host 127.0.0.1 --port "$console_port" >"$console_log" 2>&1 &
  console_pid=$!
fi

for _ in $(seq 1 120); do
  if curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 $actions_pid 2>/dev/null; then
    echo "error: the action server stopped; see $log" >&2; tail -20 "$log" >&2; exit 1
  fi
  sleep 0.5
done
echo "action server ready on port $port (log: $log)"
if [ -n "$console_pid" ]; then
  for _ in $(seq 1 60); do
    if curl -fs "http://127.0.0.1:$console_port/sehat" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$console_pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  if curl -fs "http://127.0.0.1:$console_port/sehat" >/dev/null 2>&1; then
    echo "staff console: http://127.0.0.1:$console_port/ (log: $console_log)"
    if .venv/bin/antrean pengguna daftar 2>/dev/null | grep -q "Belum ada pengguna"; then
      echo "  no console account yet; create the first admin with:"
      echo "  .venv/bin/antrean pengguna tambah admin --peran admin"
    fi
  else
    echo "warning: the staff console did not start; see $console_log" >&2
  fi
fi
echo "loading the assistant (warnings: $warnings_log) …"
echo "Ketik pesan Anda (mis. \"halo\"); /stop untuk keluar."
# --quiet: Rasa's start-up lines stay out of the chat; its warnings and errors still show.
.venv/bin/law-rasa --warnings-log "$warnings_log" shell --quiet -m "$model" \
  --endpoints endpoints.yml --credentials credentials.yml
