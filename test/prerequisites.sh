#!/usr/bin/env bash
# The Debian packages the tests need (npm test runs this first; .ci/run too):
# mosquitto (broker) and mosquitto-clients (mosquitto_pub/_sub: the
# third-party MQTT clients of the interoperability and security tests), and
# zstd (the OTA verifier benchmark's baseline). Installs what is missing when
# it can (root with apt-get); otherwise names the exact command and stops.
set -uo pipefail

missing_packages() {
  local packages=()
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || packages+=(mosquitto)
  { command -v mosquitto_pub >/dev/null 2>&1 && command -v mosquitto_sub >/dev/null 2>&1; } || packages+=(mosquitto-clients)
  command -v zstd >/dev/null 2>&1 || packages+=(zstd)
  echo "${packages[@]:-}"
}

missing=$(missing_packages)
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test prerequisites: installing $missing (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086 # one word per package
  apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >&2
  missing=$(missing_packages)
  [ -z "$missing" ] && exit 0
  echo "test prerequisites: still missing after apt-get: $missing" >&2
  exit 1
fi

echo "The tests need these Debian packages: $missing" >&2
echo "Install them with:  sudo apt-get install -y mosquitto mosquitto-clients zstd" >&2
exit 1
