#!/usr/bin/env bash
# The API contract test: the OpenAPI document the server serves is valid OpenAPI 3.1
# (openapi-spec-validator), and every route answers what the document says
# (schemathesis: no 5xx, no undocumented status, every body fits its schema and its
# content type) for generated requests, against a production-mode server with a master
# key on a fresh SQLite directory. The seed is fixed, so a run is repeatable.
#
# Tools come from PyPI at pinned versions into target/contract-venv (made once, kept).
# The server is the debug build `cargo build` makes (the one the tests use).
#
# Environment: CONTRACT_EXAMPLES (test cases per operation and phase, default 25),
# CONTRACT_SEED (default 15), CARGO_TARGET_DIR.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
SPEC_VALIDATOR_VERSION=0.9.0
EXAMPLES=${CONTRACT_EXAMPLES:-25}
SEED=${CONTRACT_SEED:-15}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
venv=$target/contract-venv
started=$(date +%s)

# The tools, pinned; the virtualenv is reused while it holds these versions.
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION" ||
    ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('openapi-spec-validator') != '$SPEC_VALIDATOR_VERSION')" 2>/dev/null; then
    echo "contract: making $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$SPEC_VALIDATOR_VERSION"
fi

${CARGO:-cargo} build --quiet --bin commerce
binary=$target/debug/commerce

work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
master_key=contract-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
server=

stop() {
    if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then
        kill "$server"
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap stop EXIT

# Production mode: every route but the public ones asks for a credential, and the
# development-only sandbox payment route does not exist. SQLite, whatever the caller's
# DATABASE_URL; no Redis. The webhook has a secret, so it checks signatures rather
# than answering 503.
env -u DATABASE_URL -u REDIS_URL -u COMMERCE_ENV -u COMMERCE_CLOCK \
    RUST_LOG=warn \
    "$binary" serve \
    --env production \
    --master-key "$master_key" \
    --payment-webhook-secret contract-webhook-secret \
    --data-dir "$work/data" \
    --listen "127.0.0.1:$port" \
    >"$work/server.log" 2>&1 &
server=$!

for _ in $(seq 1 300); do
    if curl -fs "$base/ready" >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$server" 2>/dev/null; then
        echo "contract: the server did not start:" >&2
        cat "$work/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
curl -fs "$base/ready" >/dev/null

# The document as served, without a credential: it is public.
curl -fs "$base/openapi.json" -o "$work/openapi.json"
"$venv/bin/openapi-spec-validator" "$work/openapi.json"

# Every operation the served document lists is tested: it lists only the routes this
# server has (not the development sandbox, not the manual clock's). Long polls
# (wait_for_status) last at most timeout_ms, which the schema bounds to 30 s; an order
# or reservation the fuzzer never made is answered 404 at once. Stateful testing is
# left out: it would chain calls through links the document does not declare.
# The fuzzed copy bounds timeout_ms to 1 s: the coverage phase tries each bound, and a
# long poll on a resource the examples created then waits its whole timeout (30 s,
# one request at a time), which was 90 of the run's 130 s. The full range is the Rust
# tests' (tests/it/orders.rs, reservations.rs); the document validated above is the
# served one, unchanged.
# The console's live stream never ends (it is an event stream), so the fuzzer, which
# reads whole answers, leaves it out; tests/it/console.rs reads it.
python3 - "$work/openapi.json" "$work/fuzzed.json" <<'PY'
import json, sys
document = json.load(open(sys.argv[1]))
del document["paths"]["/v1/admin/stream"]
for item in document["paths"].values():
    for operation in item.values():
        for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
            if parameter.get("name") == "timeout_ms":
                parameter["schema"]["maximum"] = 1000
json.dump(document, open(sys.argv[2], "w"))
PY
status=0
# From the temporary directory: schemathesis keeps a cache of past failures in its
# working directory, which would make one run depend on the last. One worker:
# with two, hypothesis parses lambdas' source from two threads at once, which
# CPython 3.11 can fail with "SystemError: AST constructor recursion depth
# mismatch" (a crash of the tool, reported as an error of whatever operation it hit).
(cd "$work" && "$venv/bin/schemathesis" run "$work/fuzzed.json" \
    --url "$base" \
    --header "Authorization: Bearer $master_key" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "$EXAMPLES" \
    --seed "$SEED" \
    --workers 1 \
    --request-timeout 40 \
    --suppress-health-check all \
    --no-color \
    >"$work/schemathesis.log" 2>&1) || status=$?
cat "$work/schemathesis.log"

if grep -q "panicked" "$work/server.log"; then
    echo "contract: the server panicked:" >&2
    grep -A5 "panicked" "$work/server.log" >&2
    status=1
fi
echo "contract: $(($(date +%s) - started)) s"
exit "$status"
