#!/usr/bin/env bash
# The cross-node benchmark in BENCHMARKS.md ("Scale-out"), one command:
#
#   scripts/bench-cluster.sh            # REPS=3, rates 10,50,100 /s per writer
#   REPS=1 RATES=20 STEP_SECS=3 scripts/bench-cluster.sh   # quick look
#
# Starts a redis-server (loopback, free port, temp dir, appendonly yes,
# appendfsync always) and two easel nodes sharing it, seeded with one
# conference and CHARTS charts (created through node A's API; node B sees
# them through Redis, as the integration tests do; the local node is seeded
# the same way through its own API). Then, per
# repetition and alternating, runs the same load three ways:
#   same   both clients of every chart on node A (the cluster path, one node)
#   cross  the writer on node A, the reader on node B (every delivery crosses
#          Redis: XADD on A, XREAD on B)
#   local  a single easel without --redis (sled, the default deployment), for
#          reference
# Load: CHARTS charts, 2 clients each (one writer, one reader), no presence,
# each rate in RATES a steady step. Prints p50/p99 per mode and rate
# (medians over repetitions) and keeps the raw JSON.
#
# Environment: REPS, RATES, CHARTS, WARMUP_SECS, STEP_SECS, MODES,
#   EASEL_BIN, LOADGEN_BIN (prebuilt; else cargo build --release),
#   REDIS_SERVER (/usr/bin/redis-server), OUT (target/bench-cluster/DATE).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPS=${REPS:-3}
RATES=${RATES:-10,50,100}
CHARTS=${CHARTS:-32}
WARMUP_SECS=${WARMUP_SECS:-2}
STEP_SECS=${STEP_SECS:-5}
MODES=${MODES:-"same cross local"}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
OUT=${OUT:-$ROOT/target/bench-cluster/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl

if [ -z "${EASEL_BIN:-}" ] || [ -z "${LOADGEN_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release -p easel -p easel-loadgen)
  TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
  EASEL_BIN=${EASEL_BIN:-$TARGET/release/easel}
  LOADGEN_BIN=${LOADGEN_BIN:-$TARGET/release/easel-loadgen}
fi

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_line() { # file pattern -> first matching line (20 s)
  for _ in $(seq 1 400); do
    if grep -m1 -E "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "bench-cluster: no /$2/ in $1" >&2
  return 1
}

# ---- Redis ----------------------------------------------------------------------------
RPORT=$(free_port)
mkdir -p "$OUT/redis"
"$REDIS_SERVER" --bind 127.0.0.1 --port "$RPORT" --dir "$OUT/redis" --appendonly yes \
  --appendfsync always --save "" --logfile redis.log &
PIDS+=($!)
for _ in $(seq 1 200); do
  if redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG; then break; fi
  sleep 0.05
done
REDIS_URL=redis://127.0.0.1:$RPORT

start_node() { # name data-dir [extra args...] -> sets NODE_PID, NODE_ADDR
  local name=$1 dir=$2 line
  shift 2
  "$EASEL_BIN" serve --listen 127.0.0.1:0 --no-demo --data-dir "$dir" --web-dir "$OUT/no-web" \
    --connections-per-minute 0 --auth-failures-per-minute 0 "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" &
  NODE_PID=$!
  PIDS+=("$NODE_PID")
  line=$(wait_line "$OUT/$name.out" 'Easel listening on http://')
  NODE_ADDR=${line##*http://}
}

# ---- Seed: one conference, CHARTS charts, an edit token -------------------------------
seed() { # addr out-suffix -> $OUT/charts$suffix.txt, $OUT/token$suffix.txt
python3 - "$1" "$CHARTS" "$OUT" "$2" <<'PY'
import json, sys, urllib.request
addr, n, out, suffix = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(f"http://{addr}/api/v1{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
c = call("POST", "/conferences", {"name": "Bench", "time_zone": "UTC", "start_date": "2030-01-01", "end_date": "2030-01-10"})
cid, org = c["conference"]["id"], c["organizer_token"]
space = call("POST", f"/conferences/{cid}/spaces", {"name": "Room"}, org)
pattern = {"segments": [{"kind": "breakout", "count": n,
    "start": {"type": "at", "start": {"type": "instant", "at": "2030-01-01T00:00:00Z"}},
    "interval_minutes": 60, "duration_minutes": 50}]}
conf = call("POST", f"/conferences/{cid}/rounds/pattern", pattern, org)
edit = call("POST", f"/conferences/{cid}/links", {"role": "edit", "label": "bench"}, org)["token"]
space_id = conf["spaces"][0]["id"]
charts = []
for i, r in enumerate(conf["rounds"][:n]):
    s = call("POST", f"/conferences/{cid}/sessions",
             {"topic": f"bench {i}", "convener": "bench", "round_id": r["id"], "space_id": space_id}, edit)
    charts.append(s["session"]["chart_id"])
open(f"{out}/charts{suffix}.txt", "w").write("\n".join(charts) + "\n")
open(f"{out}/token{suffix}.txt", "w").write(edit)
PY
}

start_node a "$OUT/a" --redis "$REDIS_URL"
A_PID=$NODE_PID A_URL="ws://$NODE_ADDR/sync"
seed "$NODE_ADDR" ""
start_node b "$OUT/b" --redis "$REDIS_URL"
B_URL="ws://$NODE_ADDR/sync"
start_node local "$OUT/local"
L_PID=$NODE_PID L_URL="ws://$NODE_ADDR/sync"
seed "$NODE_ADDR" "-local"

run() { # mode rep
  local mode=$1 rep=$2 url=$A_URL pid=$A_PID extra=() files=""
  case $mode in
    cross) extra=(--peer-url "$B_URL") ;;
    local) url=$L_URL pid=$L_PID files="-local" ;;
  esac
  TOKEN=$(cat "$OUT/token$files.txt")
  echo "== $mode / rep $rep  (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  "$LOADGEN_BIN" --url "$url" "${extra[@]}" "--token=$TOKEN" --charts-file "$OUT/charts$files.txt" \
    --server-pid "$pid" --seed "$rep" --json "$RESULTS" --label "$mode/$rep" \
    traffic --clients $((CHARTS * 2)) --room-size 2 --writers-per-room 1 --awareness-hz 0 \
    --rates "$RATES" --warmup-secs "$WARMUP_SECS" --step-secs "$STEP_SECS" >&2
}

for rep in $(seq 1 "$REPS"); do
  for mode in $MODES; do run "$mode" "$rep"; done
done

python3 - "$RESULTS" <<'PY' | tee "$OUT/table.md"
import json, statistics, sys
from collections import defaultdict
cells = defaultdict(list)  # (mode, rate) -> [step]
for line in open(sys.argv[1]):
    r = json.loads(line)
    mode, _ = r["label"].split("/")
    for s in r["report"]["steps"]:
        cells[(mode, s["rate_per_writer"])].append(s)
modes = [m for m in ["same", "cross", "local"] if any(k[0] == m for k in cells)]
rates = sorted({k[1] for k in cells})
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
def f(x):
    return "n/a" if x is None else f"{x:.2f}"
print("| updates/s per writer | " + " | ".join(f"{m} p50 ms | {m} p99 ms" for m in modes) + " | cross/same p99 | delivered/s (cross) | missing (cross) |")
print("|---" * (2 + 2 * len(modes) + 2) + "|")
for rate in rates:
    row = [f"{rate:g}"]
    p99 = {}
    for m in modes:
        steps = cells.get((m, rate), [])
        p50 = med([s["latency"]["p50_ms"] for s in steps])
        p99[m] = med([s["latency"]["p99_ms"] for s in steps])
        row += [f(p50), f(p99[m])]
    ratio = f"{p99['cross'] / p99['same']:.2f}x" if p99.get("cross") and p99.get("same") else "n/a"
    cross = cells.get(("cross", rate), [])
    row += [ratio, f(med([s["delivered_per_s"] for s in cross])), str(sum(s["missing"] for s in cross))]
    print("| " + " | ".join(row) + " |")
print()
print(f"medians of {max((len(v) for v in cells.values()), default=0)} runs per cell; raw: {sys.argv[1]}")
PY
