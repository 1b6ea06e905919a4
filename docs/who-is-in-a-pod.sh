#!/bin/sh
# Who is in a pod: the processes in each pinned namespace, and the pins a
# process is in.
set -eu
PINNS=${PINNS:-pinns}
DIR=${1:-/run/pinns-demo}
POD=${2:-pod-$$}

"$PINNS" -d "$DIR" -f "$POD" --net --uts --loopback
trap '"$PINNS" unpin -d "$DIR" -f "$POD"' EXIT

# Two processes in the pod: one joins only its network, one all of it.
nsenter --net="$DIR/netns/$POD" sleep 30 &
first=$!
"$PINNS" exec -d "$DIR" -f "$POD" -- sleep 30 &
second=$!
sleep 0.3

"$PINNS" list -d "$DIR"                  # PROCS: net 2, uts 1
"$PINNS" list -d "$DIR" --pid "$first"   # only the net pin (ip netns identify)
"$PINNS" list -d "$DIR" --json           # each pin's "pids": [...]
kill "$first" "$second"
wait 2>/dev/null || true
