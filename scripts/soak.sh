#!/usr/bin/env bash
# Soak: a long steady load with churn on one easel, watching for drift.
#
#   scripts/soak.sh            # 1 h: 3,000 connections on 300 charts (+ churn)
#   scripts/soak.sh small      # 2 min, 300 connections on 30 charts (for CI)
#
# What runs, on a fresh server and data dir:
# - steady: `easel-loadgen traffic`, CLIENTS connections in rooms of 10 (one
#   room per chart), 3 typists per room at RATE updates/s each, presence
#   (awareness) once a second from every client, for DURATION, measured in
#   windows of WINDOW seconds (one loadgen step each);
# - churn, beside it, round after round until the steady run ends: CHURN
#   more connections join the same charts, type and send presence for
#   CHURN_SECS, and leave (joins and leaves every few seconds);
# - a sampler: the server's RSS and open file descriptors every 5 s.
#
# Report (stdout, and $OUT/summary.txt): RSS, open fds and the steady
# clients' p99 latency in the first window vs the last; then pass/fail
# against the limits: RSS drift under MAX_RSS_DRIFT_PCT (10), open fds
# within MAX_FD_DRIFT (+50) of the first window, last p99 at most
# MAX_P99_RATIO (2) x the first (+ 5 ms), no update missing in either
# window, and the server alive at the end. Exit status 1 if any fails.
#
# Environment (defaults: full / small):
#   DURATION=3600/120  WINDOW=600/30  CLIENTS=3000/300  CHARTS=300/30
#   CHURN=300/60  CHURN_SECS=5  RATE=1  WARMUP=10/5
#   EASEL_BIN, LOADGEN_BIN   prebuilt binaries (else cargo build --release)
#   EASEL_ARGS               extra `easel serve` flags
#   OUT=target/soak/DATE     server log, samples.tsv, loadgen JSON, summary
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-full}
if [ "$MODE" = small ]; then
  DURATION=${DURATION:-120}; WINDOW=${WINDOW:-30}; CLIENTS=${CLIENTS:-300}
  CHARTS=${CHARTS:-30}; CHURN=${CHURN:-60}; WARMUP=${WARMUP:-5}
else
  DURATION=${DURATION:-3600}; WINDOW=${WINDOW:-600}; CLIENTS=${CLIENTS:-3000}
  CHARTS=${CHARTS:-300}; CHURN=${CHURN:-300}; WARMUP=${WARMUP:-10}
fi
CHURN_SECS=${CHURN_SECS:-5}
RATE=${RATE:-1}
MAX_RSS_DRIFT_PCT=${MAX_RSS_DRIFT_PCT:-10}
MAX_FD_DRIFT=${MAX_FD_DRIFT:-50}
MAX_P99_RATIO=${MAX_P99_RATIO:-2}
OUT=${OUT:-$ROOT/target/soak/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

STEPS=$(( DURATION / WINDOW ))
if [ "$STEPS" -lt 2 ]; then
  echo "soak: DURATION must hold at least two windows of $WINDOW s" >&2
  exit 2
fi

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NEED=$(( 2 * (CLIENTS + CHURN) + 512 ))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$NEED" ]; then
  echo "soak: ulimit -n is $(ulimit -n); need >= $NEED" >&2
  exit 2
fi

if [ -z "${EASEL_BIN:-}" ] || [ -z "${LOADGEN_BIN:-}" ]; then
  (cd "$ROOT" && cargo build --release -p easel -p easel-loadgen)
  TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
  EASEL_BIN=${EASEL_BIN:-$TARGET/release/easel}
  LOADGEN_BIN=${LOADGEN_BIN:-$TARGET/release/easel-loadgen}
fi

DATA=$(mktemp -d "$OUT/data.XXXX")
PIDS=()
SERVER_PID=""
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$DATA"
}
trap cleanup EXIT

# shellcheck disable=SC2086
"$EASEL_BIN" serve --listen 127.0.0.1:0 --data-dir "$DATA" --web-dir "$OUT/no-web" --no-demo \
  ${EASEL_ARGS:-} >"$OUT/server.log" 2>"$OUT/server.err" &
SERVER_PID=$!
for _ in $(seq 1 200); do
  grep -q 'listening on http://' "$OUT/server.log" 2>/dev/null && break
  sleep 0.05
done
ADDR=$(grep -m1 -o 'http://[0-9.:]*' "$OUT/server.log" | sed 's|http://||')
[ -n "$ADDR" ] || { echo "soak: server did not start (see $OUT/server.err)" >&2; exit 1; }
TOKEN=$(python3 "$ROOT/scripts/bench-fixture.py" "http://$ADDR" "$CHARTS" "$OUT/charts.txt")

# Sampler: seconds since start, RSS KiB, open fds.
START=$(date +%s)
(
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
    fds=$(ls "/proc/$SERVER_PID/fd" 2>/dev/null | wc -l)
    echo -e "$(( $(date +%s) - START ))\t$rss\t$fds"
    sleep 5
  done
) >"$OUT/samples.tsv" &
PIDS+=($!)

RATES=$(printf "$RATE,%.0s" $(seq 1 "$STEPS")); RATES=${RATES%,}
"$LOADGEN_BIN" --url "ws://$ADDR/sync" --token "$TOKEN" --charts-file "$OUT/charts.txt" \
  --server-pid "$SERVER_PID" --json "$OUT/steady.jsonl" --label steady \
  traffic --clients "$CLIENTS" --room-size 10 --writers-per-room 3 --rates "$RATES" \
  --warmup-secs "$WARMUP" --step-secs "$WINDOW" --awareness-hz 1 \
  >"$OUT/steady.txt" 2>&1 &
STEADY=$!
PIDS+=($STEADY)

# Churn rounds until the steady run ends; a different seed each round
# spreads the newcomers over different charts.
(
  round=0
  while kill -0 "$STEADY" 2>/dev/null; do
    round=$(( round + 1 ))
    "$LOADGEN_BIN" --url "ws://$ADDR/sync" --token "$TOKEN" --charts-file "$OUT/charts.txt" \
      --seed "$round" --json "$OUT/churn.jsonl" --label "churn-$round" \
      traffic --clients "$CHURN" --room-size 10 --writers-per-room 1 --rates "$RATE" \
      --warmup-secs 1 --step-secs "$CHURN_SECS" --drain-secs 1 --awareness-hz 1 \
      >>"$OUT/churn.txt" 2>&1 || echo "churn round $round failed" >>"$OUT/churn.txt"
  done
  echo "$round" >"$OUT/churn-rounds"
) &
CHURNER=$!
PIDS+=($CHURNER)

wait "$STEADY" || { echo "soak: the steady load generator failed (see $OUT/steady.txt)" >&2; exit 1; }
wait "$CHURNER" || true
ALIVE=yes
kill -0 "$SERVER_PID" 2>/dev/null || ALIVE=no

python3 - "$OUT" "$WARMUP" "$WINDOW" "$ALIVE" "$MAX_RSS_DRIFT_PCT" "$MAX_FD_DRIFT" "$MAX_P99_RATIO" <<'EOF' | tee "$OUT/summary.txt"
import json, sys
out, warmup, window, alive = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
max_rss, max_fd, max_ratio = float(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
samples = [tuple(int(x) for x in l.split()) for l in open(f"{out}/samples.tsv") if l.strip()]
load = [s for s in samples if s[0] >= warmup]
end = load[-1][0]
first = [s for s in load if s[0] < warmup + window]
last = [s for s in load if s[0] > end - window]
avg = lambda xs: sum(xs) / max(len(xs), 1)
rss0, rss1 = avg([s[1] for s in first]), avg([s[1] for s in last])
fd0, fd1 = max(s[2] for s in first), max(s[2] for s in last)
steps = json.loads(open(f"{out}/steady.jsonl").readline())["report"]["steps"]
s0, s1 = steps[0], steps[-1]
churn = [json.loads(l)["report"] for l in open(f"{out}/churn.jsonl")] if __import__("os").path.exists(f"{out}/churn.jsonl") else []
joined = sum(r["conns"]["connected"] for r in churn)
drift = 100 * (rss1 - rss0) / rss0
print(f"windows: {len(steps)} x {window} s; steady clients {json.loads(open(f'{out}/steady.jsonl').readline())['report']['clients']}")
print(f"churn: {len(churn)} rounds, {joined} connections joined and left")
print(f"RSS MiB: first window {rss0/1024:.1f}, last {rss1/1024:.1f}, drift {drift:+.1f}%")
print(f"open fds (max): first window {fd0}, last {fd1}")
for name, s in (("first", s0), ("last", s1)):
    print(f"{name} window: p50 {s['latency']['p50_ms']:.1f} ms, p99 {s['latency']['p99_ms']:.1f} ms, "
          f"delivered {s['delivered']}/{s['expected']}, missing {s['missing']}, server CPU {s.get('server_cpu_pct') or 0:.0f}%")
checks = [
    ("server alive", alive == "yes"),
    (f"RSS drift under {max_rss:.0f}%", drift < max_rss),
    (f"open fds within +{max_fd}", fd1 <= fd0 + max_fd),
    (f"last p99 <= {max_ratio:g} x first + 5 ms", s1["latency"]["p99_ms"] <= max_ratio * s0["latency"]["p99_ms"] + 5),
    ("nothing missing", s0["missing"] == 0 and s1["missing"] == 0),
    ("churn ran", joined > 0),
]
for what, ok in checks:
    print(f"{'PASS' if ok else 'FAIL'}: {what}")
sys.exit(0 if all(ok for _, ok in checks) else 1)
EOF
