#!/bin/sh
# Usage: refresh-node-addresses.sh <nodes.conf>
#
# Rewrites the IP of every node in a Redis Cluster nodes.conf to the address its hostname resolves
# to now. Why: the cluster bus connects by IP, and pod IPs change whenever a pod restarts. One pod
# coming back is not a problem (the others learn its new address from its first ping), but after
# all of them restart (a node pool upgrade, a cluster restart) every nodes.conf names only dead
# IPs and no node would reach another. Each line of nodes.conf keeps the node's announced hostname
# (`id ip:port@bus,hostname,… flags …`), the pod's stable DNS name through the headless Service,
# which publishes not-ready pods too; so at start each pod looks them up and reconnects. A name that
# does not resolve yet (that pod is not scheduled) keeps its old IP: when it starts, it does the
# same, and its pings update the others.
set -euf
conf=$1
[ -f "$conf" ] || exit 0
refreshed="$conf.refreshing"
: > "$refreshed"
while IFS= read -r line; do
  set -- $line
  if [ "$#" -lt 2 ] || [ "$1" = vars ]; then
    printf '%s\n' "$line" >> "$refreshed"
    continue
  fi
  address=$2 # ip:port@bus,hostname[,aux=…]
  host=$(printf '%s' "$address" | cut -s -d, -f2)
  ip=""
  if [ -n "$host" ]; then ip=$(getent hosts "$host" | awk '{ print $1; exit }' || true); fi
  if [ -n "$ip" ]; then
    endpoint=${address%%@*} # ip:port (an IPv6 address has colons of its own: the port is after the last)
    old_ip=${endpoint%:*}
    address="$ip${address#"$old_ip"}"
    [ "$address" = "$2" ] || echo "refresh-node-addresses: $host is now $ip (was $old_ip)"
  fi
  id=$1
  shift 2
  printf '%s %s %s\n' "$id" "$address" "$*" >> "$refreshed"
done < "$conf"
mv "$refreshed" "$conf"
