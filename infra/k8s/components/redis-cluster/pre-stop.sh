#!/bin/sh
# preStop of a Redis Cluster pod: a primary hands its slots to one of its replicas before it stops.
#
# Without it, a drained or rolled primary simply disappears: its slots have no primary until
# cluster-node-timeout (5 s) has passed and the replica's election is over, and writes acknowledged
# in its last moment may not have reached the replica. CLUSTER FAILOVER (the coordinated kind, run
# on the replica) makes the primary stop taking writes, lets the replica catch up to its exact
# offset, and only then switches: nothing acknowledged is lost, and clients see a short pause and a
# MOVED to the new primary. A replica, or a primary with no replica in sync, just stops.
#
# Environment: REDIS_HOST, REDIS_PORT (default this pod, 127.0.0.1:6379), REDISCLI_AUTH,
# HANDOVER_SECONDS (default 20: below terminationGracePeriodSeconds, with time left to stop).
set -eu
host=${REDIS_HOST:-127.0.0.1}
port=${REDIS_PORT:-6379}
deadline=$(( $(date +%s) + ${HANDOVER_SECONDS:-20} ))
cli() { redis-cli --no-auth-warning "$@" 2>/dev/null | tr -d '\r'; }
role() { cli -h "$host" -p "$port" role | head -n 1; }

[ "$(role)" = master ] || exit 0
myself=$(cli -h "$host" -p "$port" cluster myid)
# CLUSTER REPLICAS: one CLUSTER NODES line per replica (`id ip:port@bus,hostname flags master …`).
# A connected one, by its hostname when it announces one.
replica=$(cli -h "$host" -p "$port" cluster replicas "$myself" | awk '$3 !~ /fail|handshake|noaddr/ && $8 == "connected" { print $2; exit }')
if [ -z "$replica" ]; then
  echo "pre-stop: primary $myself has no connected replica: stopping without a handover"
  exit 0
fi
endpoint=${replica%%@*}
replica_port=${endpoint##*:}
replica_host=$(printf '%s' "$replica" | cut -s -d, -f2)
[ -n "$replica_host" ] || replica_host=${endpoint%:*}
echo "pre-stop: handing primary $myself's slots to $replica_host:$replica_port"
cli -h "$replica_host" -p "$replica_port" cluster failover >/dev/null || true
until [ "$(role)" = slave ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "pre-stop: still primary after ${HANDOVER_SECONDS:-20}s: stopping anyway (the cluster fails over by itself)"
    exit 0
  fi
  sleep 0.2
done
echo "pre-stop: now a replica of $replica_host:$replica_port"
