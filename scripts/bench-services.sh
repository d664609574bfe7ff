# Sourced by the bench scripts: a work directory removed at exit with every process started
# (PIDS), and the helpers to start private services on free ports of 127.0.0.1.

WORK="$(mktemp -d -t ecom-bench.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for FILE PATTERN
  for _ in $(seq 1 300); do
    if grep -q "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "bench: timed out waiting for '$2' in $1" >&2
  cat "$1" >&2
  return 1
}

# A private secantusd-rs (data in $WORK/mongo); sets MONGO_PORT and MONGO.
start_secantusd() {
  mkdir -p "$WORK/mongo"
  secantusd-rs --port 0 --storage-path "$WORK/mongo" --cache-size 256M --log-level WARNING \
    >"$WORK/mongo.out" 2>"$WORK/mongo.err" </dev/null &
  PIDS+=($!)
  wait_for "$WORK/mongo.out" "listening on"
  MONGO_PORT="$(grep -o 'listening on 127.0.0.1:[0-9]*' "$WORK/mongo.out" | head -1 | sed 's/.*://')"
  MONGO="mongodb://127.0.0.1:${MONGO_PORT}/?directConnection=true"
}

# A private Redis without persistence; sets REDIS_PORT and REDIS.
start_redis() {
  REDIS_PORT="$(free_port)"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    >"$WORK/redis.out" 2>&1 </dev/null &
  PIDS+=($!)
  wait_for "$WORK/redis.out" "Ready to accept connections"
  REDIS="redis://127.0.0.1:${REDIS_PORT}"
}
