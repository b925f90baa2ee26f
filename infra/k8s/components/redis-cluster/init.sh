#!/bin/sh
# cluster-init (the redis-cluster-init Job): forms the Redis Cluster once; safe to run again.
#
#   1. If a node already serves a cluster with all 16384 slots assigned, it creates nothing.
#   2. Else it waits until every node answers PING (pods still starting), checks again (another run
#      may have formed it meanwhile), refuses a half-formed cluster (some nodes met or some slots
#      assigned: `redis-cli --cluster fix` is a person's decision), and runs
#      `redis-cli --cluster create <nodes> --cluster-replicas 1 --cluster-yes`, then waits until
#      every node reports cluster_state:ok and knows every other.
#   3. Either way it checks placement: no replica may run on its primary's Kubernetes node (each
#      node's cluster-announce-human-nodename, set by start.sh; not known before Redis 7.2).
#
# Nothing here changes a formed cluster. A pod that restarts or is rescheduled keeps its identity
# (nodes.conf on its volume) and rejoins by itself; see infra/k8s/README.md for a lost volume.
#
# Environment: REDIS_CLUSTER_NODES (host:port,… every node: the list the API and worker get),
# REDISCLI_AUTH (the password, read by redis-cli), CLUSTER_REPLICAS (1), WAIT_SECONDS (600),
# NODE_NAME_SETTING (the CONFIG setting holding each pod's Kubernetes node: start.sh's
# cluster-announce-human-nodename; the test sets another, its Redis 7.0 has no such setting).
set -euf
nodes=$(printf '%s' "$REDIS_CLUSTER_NODES" | tr ',' ' ')
replicas=${CLUSTER_REPLICAS:-1}
wait_seconds=${WAIT_SECONDS:-600}
node_name_setting=${NODE_NAME_SETTING:-cluster-announce-human-nodename}
deadline=$(( $(date +%s) + wait_seconds ))
count=$(printf '%s\n' $nodes | wc -l)

say() { echo "cluster-init: $*"; }
fail() { echo "cluster-init: $*" >&2; exit 1; }
# One command to one node (host:port), carriage returns stripped; empty when it does not answer.
cli() {
  node=$1
  shift
  redis-cli --no-auth-warning -h "${node%:*}" -p "${node##*:}" "$@" 2>/dev/null | tr -d '\r'
}
# A CLUSTER INFO field (cluster_state, cluster_slots_assigned, cluster_known_nodes…) of a node.
cluster_info() { cli "$1" cluster info | sed -n "s/^$2://p"; }
# Polls a check every second until it holds, or fails naming what it waited for.
wait_until() {
  what=$1
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "gave up after ${wait_seconds}s waiting for $what"
    sleep 1
  done
}

formed() {
  for node in $nodes; do
    [ "$(cluster_info "$node" cluster_slots_assigned)" = 16384 ] && return 0
  done
  return 1
}
answers() { [ "$(cli "$1" ping)" = PONG ]; }
every_node_ok() {
  for node in $nodes; do
    [ "$(cluster_info "$node" cluster_state)" = ok ] || return 1
    [ "$(cluster_info "$node" cluster_known_nodes)" = "$count" ] || return 1
  done
}

create() {
  for node in $nodes; do wait_until "$node to answer PING (is its pod running? kubectl get pods -l app.kubernetes.io/name=redis-cluster)" answers "$node"; done
  if formed; then
    say "another run formed the cluster meanwhile: nothing to create"
    return
  fi
  for node in $nodes; do
    known=$(cluster_info "$node" cluster_known_nodes)
    assigned=$(cluster_info "$node" cluster_slots_assigned)
    if [ "$known" != 1 ] || [ "$assigned" != 0 ]; then
      fail "$node knows $known nodes and has $assigned slots assigned, but no node has all 16384: a half-formed cluster. Inspect it with \`redis-cli --cluster check $node\` and repair it with \`redis-cli --cluster fix $node\`, then run this Job again"
    fi
  done
  say "creating a cluster of $count nodes with $replicas replica(s) per primary"
  # shellcheck disable=SC2086 # one argument per node
  redis-cli --no-auth-warning --cluster create $nodes --cluster-replicas "$replicas" --cluster-yes
  wait_until "every node to report cluster_state:ok and know all $count nodes" every_node_ok
  say "formed: cluster_state:ok on all $count nodes"
}

# Lines `id master-id k8s-node address` (master-id `-` for a primary) for every node that answers.
placement() {
  for node in $nodes; do
    line=$(cli "$node" cluster nodes | grep myself) || continue
    k8s_node=$(cli "$node" config get "$node_name_setting" | sed -n 2p)
    set -- $line
    printf '%s %s %s %s\n' "$1" "$4" "${k8s_node:-?}" "$node"
  done
}

check_placement() {
  report=$(placement | awk '
    { master[$1] = $2; on[$1] = $3; address[$1] = $4 }
    END {
      for (id in master) {
        m = master[id]
        if (m == "-" || !(m in on)) continue
        if (on[id] == "?" || on[m] == "?") { unknown = 1; continue }
        if (on[id] == on[m]) { print address[id] " replicates " address[m] " (" m ") on the same Kubernetes node " on[id]; bad = 1 }
      }
      if (unknown && !bad) print "unknown"
    }')
  case "$report" in
    "") say "placement: every replica runs on another Kubernetes node than its primary" ;;
    unknown) say "placement: not checked (the nodes do not report $node_name_setting: Redis before 7.2?)" ;;
    *)
      printf '%s\n' "$report" >&2
      fail "a primary and its replica share a Kubernetes node: one node lost loses both. Move the replica under a primary on another node (redis-cli -h <replica> cluster replicate <primary-id>) or reschedule the pod; see infra/k8s/README.md"
      ;;
  esac
}

if formed; then
  say "the cluster already has all 16384 slots assigned: nothing to create"
else
  create
fi
check_placement
