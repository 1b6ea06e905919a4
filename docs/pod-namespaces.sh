#!/bin/sh
# Build a pod's namespaces with pinns, then run two processes that share
# them. No process holds the pod in between: the pins do.
set -eu
PINNS=${PINNS:-pinns}
DIR=${1:-/run/pinns-demo}
POD=${2:-pod-$$}

# The pod: network (lo up), IPC and UTS namespaces with its own hostname.
"$PINNS" -d "$DIR" -f "$POD" --net --ipc --uts --loopback -s kernel.hostname="$POD"
trap '"$PINNS" unpin -d "$DIR" -f "$POD"' EXIT

# Some state in the pod's network, made by a first short-lived process.
"$PINNS" exec -d "$DIR" -f "$POD" -- ip link add br0 type bridge

# Process one runs in the background; process two finds it sharing the pod.
"$PINNS" exec -d "$DIR" -f "$POD" -- sleep 30 &
first=$!
sleep 0.2
"$PINNS" exec -d "$DIR" -f "$POD" -- sh -c '
  echo "hostname: $(hostname)"
  echo "net namespace: $(readlink /proc/self/ns/net)"
  ip -o link show br0 | cut -d: -f2'
echo "first process's net namespace: $(readlink /proc/$first/ns/net)"
kill "$first"
wait "$first" 2>/dev/null || true
