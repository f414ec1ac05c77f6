#!/usr/bin/env bash
# Print the path of a working Python 3.10 interpreter (Rasa 3.6 needs exactly 3.10).
# Looks at $PYTHON310, python3.10 on PATH, then pyenv's and common install locations.
set -u
candidates=()
[ -n "${PYTHON310:-}" ] && candidates+=("$PYTHON310")
candidates+=("python3.10")
if command -v pyenv >/dev/null 2>&1; then
  root="$(pyenv root 2>/dev/null)"
  for p in "$root"/versions/3.10*/bin/python3.10; do candidates+=("$p"); done
fi
for p in "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do
  candidates+=("$p")
done
for c in "${candidates[@]}"; do
  # A pyenv shim exists even when 3.10 is not selected: run it to be sure it works.
  if out="$("$c" -c 'import sys, venv; print(sys.version_info[:2] == (3, 10))' 2>/dev/null)" \
     && [ "$out" = "True" ]; then
    "$c" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
cat >&2 <<'MSG'
error: Python 3.10 not found. Rasa 3.6 runs only on Python 3.10.
  Install it (for example `pyenv install 3.10` or your distribution's python3.10 with venv),
  or point PYTHON310 at the interpreter: make setup PYTHON310=/path/to/python3.10
MSG
exit 1
