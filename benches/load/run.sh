#!/usr/bin/env bash
# Load bench of the release server (local mode, SQLite in a temp data dir): wrk, 64 connections,
# against POST /v1/verify (a bundle the server signed, identity + issuer) and POST /v1/sign.
#
#   cargo build --release -p certus-trust-server && benches/load/run.sh
#
# Environment: DURATION (default 20s), CONNECTIONS (64), THREADS (2), LOG (server RUST_LOG, default info),
# DATABASE_URL (default: SQLite in the temp data dir).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/target/release/certus-trust-server
[ -x "$bin" ] || { echo "build it first: cargo build --release -p certus-trust-server" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 2; }
duration=${DURATION:-20s}
conns=${CONNECTIONS:-64}
threads=${THREADS:-2}
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env CERTUS_TRUST_LISTEN=127.0.0.1:$port CERTUS_TRUST_DATA_DIR="$work/data" \
    ${DATABASE_URL:+CERTUS_TRUST_DATABASE_URL=$DATABASE_URL} RUST_LOG="${LOG:-info}" \
    "$bin" 2>"$work/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v1/health" >/dev/null && break; sleep 0.1; done
url=http://127.0.0.1:$port
digest="sha256:$(printf 'load bench artifact' | sha256sum | cut -d' ' -f1)"
printf '{"artifact":"%s"}' "$digest" > "$work/sign.json"
curl -fs -XPOST "$url/v1/sign" --data-binary @"$work/sign.json" > "$work/signed.json"
python3 - "$work" "$digest" <<'PY'
import json, sys
work, digest = sys.argv[1], sys.argv[2]
signed = json.load(open(f"{work}/signed.json"))
json.dump({"artifact": digest, "bundle": signed["bundle"], "identity": "certus-trust@localhost",
           "issuer": "https://certus-trust.localhost"}, open(f"{work}/verify.json", "w"))
PY
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); wrk -t$threads -c$conns -d$duration on the same machine"
for endpoint in verify sign; do
    echo "== POST /v1/$endpoint"
    BODY_FILE="$work/$endpoint.json" wrk -t"$threads" -c"$conns" -d"$duration" --latency -s "$root/benches/load/post.lua" "$url/v1/$endpoint"
done
echo "== server: $(curl -fs "$url/v1/transparency/checkpoint" | python3 -c 'import json,sys; print("log size", json.load(sys.stdin)["tree_size"])')"
