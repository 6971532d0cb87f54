#!/usr/bin/env bash
# Make sure the services the tests use are up: PostgreSQL (5432), NATS with
# JetStream (4222) and Redis (6379) on 127.0.0.1, and that the browser the console's
# tests drive (Chromium and chromedriver) is installed. Starts what is installed but
# down, installs from Debian's packages what is missing. Idempotent; safe to run often.
set -euo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # port name
  for _ in $(seq 1 60); do
    if up "$1"; then echo "services: $2 is up on 127.0.0.1:$1"; return 0; fi
    sleep 0.5
  done
  echo "services: $2 did not come up on 127.0.0.1:$1" >&2
  return 1
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

postgres() {
  if up 5432; then echo "services: postgresql is up on 127.0.0.1:5432"; return; fi
  local fresh=0
  if [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "services: installing postgresql"
    install postgresql
    fresh=1
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if [ "$fresh" = 1 ]; then
    # Tests connect over TCP as postgres without a password, as on the CI machines.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
    as_root sed -i -E 's/^(local\s+all\s+(postgres|all)\s+)peer/\1trust/' "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for 5432 postgresql
}

nats() {
  if up 4222; then echo "services: nats is up on 127.0.0.1:4222"; return; fi
  if [ ! -x /usr/sbin/nats-server ]; then
    echo "services: installing nats-server"
    install nats-server
  fi
  as_root mkdir -p /var/lib/nats-server
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_for 4222 nats
}

redis() {
  if up 6379; then echo "services: redis is up on 127.0.0.1:6379"; return; fi
  if ! command -v redis-server >/dev/null; then
    echo "services: installing redis-server"
    install redis-server
  fi
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_for 6379 redis
}

browser() {
  # The console's browser tests drive Debian's headless Chromium through its driver.
  if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    echo "services: chromium and chromedriver are installed"
    return
  fi
  echo "services: installing chromium and chromium-driver"
  install chromium chromium-driver
}

postgres
nats
redis
browser
