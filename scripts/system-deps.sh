#!/usr/bin/env bash
# Install Debian packages whose command is missing: system-deps.sh COMMAND[:PACKAGE]...
# (the package is named like the command unless given: redis-server, chromium, nginx,
# systemd-analyze:systemd). COMMAND may be a file glob the package installs instead
# (/usr/lib/postgresql/*/bin/initdb:postgresql). Needs root, which CI has; never prompts.
set -euo pipefail
present() {
  local probe=$1
  if [[ $probe == */* ]]; then
    compgen -G "$probe" >/dev/null
  else
    command -v "$probe" >/dev/null 2>&1
  fi
}
need=()
for spec in "$@"; do
  name=${spec%%:*}
  package=${spec#*:}
  # nginx lives in /usr/sbin, which a non-login PATH may lack.
  present "$name" || [ -x "/usr/sbin/$name" ] || need+=("$package")
done
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: need root to install ${need[*]} (run: sudo apt-get install ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
