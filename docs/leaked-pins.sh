#!/bin/sh
# Leaked pins: what a crash between creating a pin file and mounting onto
# it (or a reboot with a persistent pin directory) leaves, and prune.
set -eu
PINNS=${PINNS:-pinns}
DIR=${1:-/run/pinns-demo}
POD=${2:-pod-$$}

"$PINNS" -d "$DIR" -f "$POD" --net --ipc
trap '"$PINNS" unpin -d "$DIR" -f "$POD"' EXIT
touch "$DIR/netns/$POD-leaked" "$DIR/ipcns/$POD-leaked"   # the leftovers
echo "not a pin" > "$DIR/netns/$POD-notes"               # not ours to remove

"$PINNS" list -d "$DIR"                # the leftovers are stale, PROCS -
"$PINNS" prune -d "$DIR" --dry-run     # would remove ..., kept ...: not empty
"$PINNS" prune -d "$DIR"               # removed DIR/netns/POD-leaked, ...
"$PINNS" list -d "$DIR"                # the live pod, and the notes file
rm "$DIR/netns/$POD-notes"
