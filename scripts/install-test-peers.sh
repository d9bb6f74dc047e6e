#!/usr/bin/env bash
# Installs the Debian packages the test suite uses as independent peers.
# Idempotent and quiet: re-running is a no-op when everything is present.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
WANT=(openssl gnutls-bin golang-go softhsm2 opensc python3-pykmip postgresql chromium openssh-client openssh-server certbot lego golang-cfssl openjdk-17-jre-headless jq curl systemd python3-hvac zsh)
MISSING=()
for p in "${WANT[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || MISSING+=("$p")
done
if [ ${#MISSING[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing test peers: ${MISSING[*]}" >&2
$SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq >/dev/null
$SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${MISSING[@]}" >/dev/null
