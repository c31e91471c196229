#!/usr/bin/env bash
# Makes sure a Redis answers PING at $REDIS_URL (default redis://127.0.0.1:6379) for `make run`.
# If none does: `docker compose up -d redis` when a Docker engine answers, else redis-server
# from PATH, daemonized, with its data under ./.redis/ (appendonly yes, maxmemory-policy
# noeviction, as in docker-compose.yml). Prints which one it used; exits non-zero if it cannot.
set -euo pipefail

url="${REDIS_URL:-redis://127.0.0.1:6379}"
# redis[s]://[user[:password]@]host[:port][/db]
hostport="${url#*://}"
hostport="${hostport##*@}"
hostport="${hostport%%/*}"
host="${hostport%:*}"
port="${hostport##*:}"
[[ "$hostport" == *:* ]] || port=6379
host="${host:-127.0.0.1}"

answers_ping() {
  if command -v redis-cli >/dev/null 2>&1; then
    # Any reply (PONG, or NOAUTH from a server with a password) means a Redis is there.
    [[ -n "$(timeout 2 redis-cli -u "$url" ping 2>/dev/null)" ]]
  else
    timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port && printf 'PING\r\n' >&3 && read -r reply <&3 && [[ \$reply == [+-]* ]]" 2>/dev/null
  fi
}

wait_for_ping() {
  for _ in $(seq 1 50); do
    answers_ping && return 0
    sleep 0.2
  done
  echo "ensure-redis: $1 started, but nothing answers PING at $url" >&2
  exit 1
}

if answers_ping; then
  echo "ensure-redis: using the Redis already answering at $url"
  exit 0
fi

case "$host" in
  127.0.0.1 | localhost | ::1 | '[::1]') ;;
  *)
    echo "ensure-redis: nothing answers at $url, and $host is not this machine: start it yourself" >&2
    exit 1
    ;;
esac

if timeout 5 docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  REDIS_PORT="$port" docker compose up -d redis
  wait_for_ping "docker compose service redis"
  echo "ensure-redis: started Redis with docker compose (service redis) on port $port"
elif command -v redis-server >/dev/null 2>&1; then
  dir="$PWD/.redis"
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
    --dir "$dir" --appendonly yes --maxmemory-policy noeviction \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  wait_for_ping "redis-server"
  echo "ensure-redis: started redis-server on 127.0.0.1:$port, data in $dir (stop: redis-cli -p $port shutdown)"
else
  echo "ensure-redis: nothing answers at $url, no Docker engine and no redis-server on PATH" >&2
  exit 1
fi
