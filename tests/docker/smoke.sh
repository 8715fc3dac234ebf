#!/bin/sh
# `make docker-test`: build the image, start compose.yaml (Northstar and PostgreSQL) under a
# project name of its own, wait for Northstar's health check, ask /api/v1/health, tear down.
# Where no Docker daemon answers, says so and only validates compose.yaml (`docker compose
# config`, or `docker-compose config`), and says so too if neither is installed.
set -eu
cd "$(dirname "$0")/../.."

if docker compose version >/dev/null 2>&1; then
  compose="docker compose"
elif command -v docker-compose >/dev/null 2>&1; then
  compose="docker-compose"
else
  compose=""
fi

# Throwaway secrets for this run only (a Fernet key is 32 random bytes, url-safe base64).
POSTGRES_PASSWORD=$(python3 -c "import secrets; print(secrets.token_hex(16))")
NORTHSTAR_ENCRYPTION_KEY=$(python3 -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())")
NORTHSTAR_PUBLISHED_PORT=${NORTHSTAR_PUBLISHED_PORT:-$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}
COMPOSE_PROJECT_NAME=northstar-docker-test-$$
export POSTGRES_PASSWORD NORTHSTAR_ENCRYPTION_KEY NORTHSTAR_PUBLISHED_PORT COMPOSE_PROJECT_NAME

validate() {
  if [ -z "$compose" ]; then
    echo "docker-test: neither 'docker compose' nor 'docker-compose' is installed, so compose.yaml was not validated."
    return 0
  fi
  $compose -f compose.yaml config -q
  echo "docker-test: compose.yaml is valid ($compose config)."
}

if ! docker info >/dev/null 2>&1; then
  echo "docker-test: no Docker daemon answers here ('docker info' failed): the image was not built or started."
  validate
  exit 0
fi
if [ -z "$compose" ]; then
  echo "docker-test: a Docker daemon answers but neither 'docker compose' nor 'docker-compose' is installed; install one to run compose.yaml."
  exit 1
fi
validate

down() { $compose -f compose.yaml down --volumes --remove-orphans >/dev/null 2>&1 || true; }
trap down EXIT INT TERM

echo "docker-test: building the image and starting Northstar with PostgreSQL ($COMPOSE_PROJECT_NAME)…"
$compose -f compose.yaml up -d --build
container=$($compose -f compose.yaml ps -q northstar)
status=starting
for _ in $(seq 1 90); do
  status=$(docker inspect -f '{{.State.Health.Status}}' "$container" 2>/dev/null || echo gone)
  [ "$status" = healthy ] && break
  [ "$status" = unhealthy ] || [ "$status" = gone ] && break
  sleep 2
done
if [ "$status" != healthy ]; then
  echo "docker-test: Northstar's health check says '$status'. Its log:"
  $compose -f compose.yaml logs --no-color --tail 50 northstar db || true
  exit 1
fi
url="http://127.0.0.1:$NORTHSTAR_PUBLISHED_PORT/api/v1/health"
echo "docker-test: the container is healthy; asking $url"
python3 - "$url" <<'PY'
import json, sys, urllib.request

opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(sys.argv[1], timeout=10) as response:
    document = json.load(response)
print(json.dumps(document))
if response.status != 200 or document.get("database") != "ok":
    sys.exit("docker-test: the health document does not say the database is ok.")
print("docker-test: passed.")
PY
