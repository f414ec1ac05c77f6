#!/usr/bin/env bash
# Install the Debian packages the tests drive when they are missing: chromium (the staff
# console's browser tests, through Playwright's Python API with executable_path; Playwright never
# downloads a browser here) and nginx (the round-robin load balancer of the production topology).
# Called by `make setup` and `.ci/run`; prints nothing when everything is present.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "error: missing Debian packages ${missing[*]} and no root to install them:" >&2
  echo "       run 'apt-get install ${missing[*]}' as root" >&2
  exit 1
fi
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
  || { "${as_root[@]}" apt-get update -q >/dev/null 2>&1 \
       && "${as_root[@]}" apt-get install -y -q "${missing[@]}" >/dev/null; }
# The nginx package starts a system nginx on port 80; the topology runs its own instances.
if [[ " ${missing[*]} " == *" nginx-light "* ]]; then
  "${as_root[@]}" systemctl disable --now nginx >/dev/null 2>&1 \
    || "${as_root[@]}" service nginx stop >/dev/null 2>&1 || true
fi
