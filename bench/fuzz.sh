#!/usr/bin/env bash
# API fuzzing with schemathesis (PyPI) against the server's own /openapi.yaml (issue 5):
# every operation, positive and negative data, stateful links where the document declares
# them. Fails on any 5xx, any response that violates the documented schema or content type,
# and any undocumented status code.
#
#   bench/fuzz.sh                         start a server, run ≥10,000 cases, stop it
#   bench/fuzz.sh --examples 300          the same, shorter
#   bench/fuzz.sh --url URL --token TOKEN --examples N   against a running server (the
#                                         test suite's smoke does this)
# Installs schemathesis with pip when it is missing; fails loudly if it cannot.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fwrepo/target}"
SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"

url="" token="" examples=400 partner=acme seed="" workers=2 report="" sha256=""
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url="$2"; shift 2 ;;
    --token) token="$2"; shift 2 ;;
    --examples) examples="$2"; shift 2 ;;
    --partner) partner="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --report) report="$2"; shift 2 ;;
    --sha256) sha256="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

ensure_schemathesis() {
  if python3 -c 'import schemathesis' 2>/dev/null; then return 0; fi
  echo "installing schemathesis $SCHEMATHESIS_VERSION from PyPI" >&2
  python3 -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION" >&2 \
    || python3 -m pip install -q --break-system-packages "schemathesis==$SCHEMATHESIS_VERSION" >&2 \
    || { echo "FATAL: schemathesis cannot be installed; the fuzzing harness cannot run" >&2; exit 3; }
  python3 -c 'import schemathesis' || { echo "FATAL: schemathesis installed but not importable" >&2; exit 3; }
}
ensure_schemathesis

server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
if [ -z "$url" ]; then
  bin="$CARGO_TARGET_DIR/debug/fwrepo-server"
  [ -x "$bin" ] || (cd "$root" && cargo build -p fwrepo-server --bin fwrepo-server)
  work="$(mktemp -d /tmp/fwrepo-fuzz.XXXXXX)"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  creds=$("$bin" client create --data-dir "$work/data" --partner "$partner" --scope ota:read --scope ota:write --scope admin --json)
  url="http://127.0.0.1:$port"
  "$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" --public-url "$url" 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
  id=$(echo "$creds" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
  secret=$(echo "$creds" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
  token=$(curl -sf -d grant_type=client_credentials -d "client_id=$id" -d "client_secret=$secret" "$url/oauth/token" \
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  # Some state for the operations to find: a type, a published record, an image.
  api="$url/v1/ota/partners/$partner"
  curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d '{"name":"app","type":101}' "$api/types" >/dev/null
  sha=$(printf 'fuzz firmware' | curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' --data-binary @- "$api/binaries" | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')
  repo=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "{\"value\":\"$sha\"}" "$api/binaries/moveToRepository" | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')
  curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "{\"name\":\"app\",\"type\":101,\"version\":\"1.0.0\",\"url\":\"$repo\",\"tags\":[\"branch:main\"]}" "$api/pool" >/dev/null
  echo "server on $url, data in $work" >&2
  sha256="$sha"
fi

cfg="$(mktemp /tmp/fwrepo-schemathesis.XXXXXX.toml)"
# Path parameters are pinned to the caller's own partner so operations reach real handlers
# (a random partner id is always 404, which teaches nothing).
cat >"$cfg" <<TOML
[parameters]
partnerId = "$partner"
TOML
# A stored blob, so downloads (Range, If-None-Match, HEAD) reach real bytes.
[ -n "$sha256" ] && echo "sha256 = \"$sha256\"" >>"$cfg"

args=(run "$url/openapi.yaml" --url "$url"
      -H "Authorization: Bearer $token"
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance
      --phases examples,coverage,fuzzing,stateful
      --max-examples "$examples" --workers "$workers"
      --request-timeout 30 --suppress-health-check all)
[ -n "$seed" ] && args+=(--seed "$seed")
[ -n "$report" ] && args+=(--report junit --report-junit-path "$report")
echo "schemathesis ${args[*]//$token/<token>}" >&2
set +e
# schemathesis keeps a cache directory in the working directory: not in the checkout.
cd "$(dirname "$cfg")"
python3 -m schemathesis.cli --no-color --config-file "$cfg" "${args[@]}"
rc=$?
set -e
rm -f "$cfg"
if [ -n "$server_pid" ] && grep -q -E '" (5[0-9][0-9]) |status=5[0-9][0-9]' "$work/server.log" 2>/dev/null; then
  echo "note: the server log mentions 5xx answers: $work/server.log" >&2
fi
exit $rc
