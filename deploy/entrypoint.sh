#!/bin/sh
# The container's roles: web (gunicorn), worker (Celery), beat (exactly one per deployment), init (migrate, once
# per upgrade), or any other xieshang command (backup, restore, demo, ...).
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
  web)
    # xieshang serve: gunicorn with the slow-client worker, the schema and secret-key checks before any worker starts
    exec xieshang serve --bind "0.0.0.0:${XIESHANG_PORT:-8000}" \
      --workers "${XIESHANG_WEB_WORKERS:-4}" --threads "${XIESHANG_WEB_THREADS:-4}" \
      --timeout "${XIESHANG_WEB_TIMEOUT:-60}" "$@"
    ;;
  worker)
    exec xieshang worker --concurrency "${XIESHANG_WORKER_CONCURRENCY:-2}" --hostname "worker-$(hostname)@%h" "$@"
    ;;
  beat)
    exec xieshang beat --schedule "${XIESHANG_INSTANCE_PATH:-/var/lib/xieshang}/celerybeat-schedule" "$@"
    ;;
  init)
    exec xieshang init "$@"
    ;;
  *)
    exec xieshang "$role" "$@"
    ;;
esac
