#!/bin/sh
# The Redis container's command: refresh the other nodes' addresses in nodes.conf (the IPs of pods
# that restarted), then run redis-server in cluster mode, announcing this pod's stable DNS name.
set -eu
me="$(hostname).$HEADLESS_SERVICE.$POD_NAMESPACE.svc.$CLUSTER_DOMAIN"
sh /usr/local/etc/redis-cluster/refresh-node-addresses.sh /data/nodes.conf
# masterauth: a replica authenticates to its primary with the same password clients use.
# cluster-announce-human-nodename: the Kubernetes node this pod runs on (the Downward API's
# spec.nodeName), for the logs and for the init Job's check that no replica shares its primary's node.
exec redis-server /usr/local/etc/redis-cluster/redis-cluster.conf \
  --requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD" \
  --maxmemory "$REDIS_MAXMEMORY" \
  --cluster-announce-hostname "$me" \
  --cluster-announce-human-nodename "$NODE_NAME"
