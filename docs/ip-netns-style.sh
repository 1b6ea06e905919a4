#!/bin/sh
# pinns the way `ip netns` is used: pins under /run, where ip netns looks,
# and the name as a word.
set -eu
PINNS=${PINNS:-pinns}
NAME=${1:-blue}

"$PINNS" pin "$NAME" --net --loopback    # ip netns add NAME (and lo up)
ip netns list | grep -w "$NAME"          # ip netns sees it
ip netns exec "$NAME" ip -brief link show lo   # lo UNKNOWN ... <LOOPBACK,UP,LOWER_UP>
"$PINNS" exec "$NAME" -- ip -brief addr show lo  # lo UNKNOWN 127.0.0.1/8 ::1/128
"$PINNS" list "$NAME"                    # NAME net INODE live PROCS
"$PINNS" unpin "$NAME"                   # ip netns delete NAME
