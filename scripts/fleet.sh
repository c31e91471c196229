#!/usr/bin/env bash
# `make fleet`: three Chronos instances on ports 8081-8083, on the local Redis ($REDIS_URL) and
# one shared spool dir (./var/fleet-spool), each in the background with its log in
# ./var/fleet/<instance>.log. `make fleet-stop` (this script with `stop`) sends each SIGTERM,
# which hands its jobs to the others (docs/scale-out.md). Kill one by hand to watch a takeover:
#   kill -9 "$(cat var/fleet/chronos-2.pid)"
set -euo pipefail
cd "$(dirname "$0")/.."

dir=var/fleet
ports=(8081 8082 8083)

stop() {
  for pidfile in "$dir"/*.pid; do
    [[ -e "$pidfile" ]] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      echo "stopping $(basename "$pidfile" .pid) (pid $pid)"
    fi
    rm -f "$pidfile"
  done
}

if [[ "${1:-start}" == "stop" ]]; then
  stop
  exit 0
fi

mkdir -p "$dir" var/fleet-spool
stop
# npm start's own command line, run directly so that each pid file names the node process.
read -r -a start_cmd <<<"$(node -p "require('./package.json').scripts.start")"
for i in "${!ports[@]}"; do
  name="chronos-$((i + 1))"
  PORT="${ports[$i]}" CHRONOS_INSTANCE_ID="$name" CHRONOS_SPOOL_DIR="$PWD/var/fleet-spool" \
    nohup "${start_cmd[@]}" >"$dir/$name.log" 2>&1 &
  echo $! >"$dir/$name.pid"
done
for port in "${ports[@]}"; do
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { echo "chronos on :$port did not start; see $dir/" >&2; exit 1; }
done
cat <<MSG
Three instances run on one Redis and one spool dir (var/fleet-spool):
  chronos-1 http://127.0.0.1:8081   chronos-2 http://127.0.0.1:8082   chronos-3 http://127.0.0.1:8083
Logs: $dir/<name>.log.  Kill one by hand: kill -9 "\$(cat $dir/chronos-2.pid)".
Stop them all: make fleet-stop
MSG
