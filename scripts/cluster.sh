#!/usr/bin/env bash
# The cluster test's topology on one machine: a NATS server of its own (JetStream,
# storage under the cluster directory), two command nodes on one PostgreSQL
# database, and two query nodes, each with its own SQLite store. Ctrl-C stops all.
#
#   scripts/cluster.sh              # build if needed, start, print the addresses
#   CLUSTER_DIR=/tmp/c scripts/cluster.sh
#
# Settings (environment): CLUSTER_DIR (./cluster), CLUSTER_DATABASE
# (commerce_cluster, created on PostgreSQL if missing), PGHOST (127.0.0.1), NATS_PORT
# (4333), COMMERCE_BIN (target/debug/commerce, built when missing). Ports: command
# nodes 8081 and 8082, query nodes 8091 and 8092.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${CLUSTER_DIR:-./cluster}
database=${CLUSTER_DATABASE:-commerce_cluster}
pghost=${PGHOST:-127.0.0.1}
nats_port=${NATS_PORT:-4333}
bin=${COMMERCE_BIN:-target/debug/commerce}
[ -x "$bin" ] || cargo build --bin commerce
mkdir -p "$dir"/nats "$dir"/command-1 "$dir"/command-2 "$dir"/query-1 "$dir"/query-2

if ! psql -h "$pghost" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
  psql -h "$pghost" -U postgres -qc "CREATE DATABASE $database"
fi
url="postgres://postgres@$pghost/$database"
events="nats://127.0.0.1:$nats_port"

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM

/usr/sbin/nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$dir/nats" -l "$dir/nats.log" &
pids+=($!)
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break; sleep 0.1; done

for n in 1 2; do
  "$bin" serve --role command --events "$events" --listen "127.0.0.1:808$n" \
    --database-url "$url" --data-dir "$dir/command-$n" >"$dir/command-$n.log" 2>&1 &
  pids+=($!)
  "$bin" serve --role query --events "$events" --node-name "q$n" --listen "127.0.0.1:809$n" \
    --data-dir "$dir/query-$n" >"$dir/query-$n.log" 2>&1 &
  pids+=($!)
done

for port in 8081 8082 8091 8092; do
  for _ in $(seq 1 100); do
    curl -sf "127.0.0.1:$port/ready" >/dev/null && break
    sleep 0.2
  done
  echo "127.0.0.1:$port $(curl -s "127.0.0.1:$port/ready")"
done
echo "writes: 127.0.0.1:8081, 127.0.0.1:8082; reads: 127.0.0.1:8091, 127.0.0.1:8092 (logs in $dir)"
wait
