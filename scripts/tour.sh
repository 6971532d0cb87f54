#!/usr/bin/env bash
# The README's tour as a test: a fresh development server (the test build, a
# seeded catalog of 1,000 products), then every sh block of the README run and
# compared with the answers it shows (rules in scripts/tour.py). A README that lies
# fails `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --quiet --bin commerce
BIN="$TARGET_DIR/debug/commerce"

DATA=$(mktemp -d /tmp/commerce-tour-XXXXXX)
SERVER_LOG="$DATA/server.log"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT

"$BIN" seed --products 1000 --data-dir "$DATA/data" >/dev/null
"$BIN" serve --data-dir "$DATA/data" --listen 127.0.0.1:0 >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
ADDRESS=""
for _ in $(seq 1 600); do
    ADDRESS=$(sed -n 's/^listening on //p' "$SERVER_LOG" | head -n1)
    [ -n "$ADDRESS" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG"; exit 1; }
    sleep 0.1
done
[ -n "$ADDRESS" ] || { echo "tour: the server did not start"; cat "$SERVER_LOG"; exit 1; }

# The search index is built from the seeded log in the background after the start;
# a person typing the tour is slower than that, a script is not: wait for it.
caught_up() {
    local head at
    head=$(curl -s "http://$ADDRESS/ready" | grep -o '"head":[0-9]*' | cut -d: -f2 || true)
    at=$(curl -s "http://$ADDRESS/v1/admin/projections/search" | grep -o '"position":[0-9]*' | head -n1 | cut -d: -f2 || true)
    [ -n "$head" ] && [ -n "$at" ] && [ "$at" -ge "$head" ]
}
for _ in $(seq 1 600); do
    caught_up && break
    sleep 0.1
done

if ! python3 scripts/tour.py README.md "http://$ADDRESS"; then
    echo "--- server log ---"
    tail -n 50 "$SERVER_LOG"
    exit 1
fi
