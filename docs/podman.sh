# A pod's namespaces pinned by pinns, joined by two podman containers by
# path: a web server and a client that reaches it over the pod's loopback.
# podman keeps its storage in a temporary directory, runs containers with
# runc, and puts them in a cgroup of the script's own, removed at the end.
set -eu
PINNS=${PINNS:-pinns}
DIR=${1:-/run}
POD=${2:-pod-$$}
WORK=$(mktemp -d)
CG=pinns-demo-$$
podman() {
  command podman --root "$WORK/root" --runroot "$WORK/run" --tmpdir "$WORK/tmp" \
    --storage-driver vfs --runtime runc --cgroup-manager cgroupfs --events-backend file "$@"
}
cleanup() {
  podman rm -f -a -t 0 >/dev/null 2>&1 || true
  "$PINNS" unpin -d "$DIR" -f "$POD"
  "$PINNS" unpin -d "$DIR" -f "$POD-nolo"
  for cg in /sys/fs/cgroup/"$CG" /sys/fs/cgroup/*/"$CG"; do
    for try in $(seq 25); do   # conmon may take a moment to exit
      [ -d "$cg" ] || break
      find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || sleep 0.2
    done
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# An image: a static busybox, imported from a tarball.
mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/tmp" && cp "$(command -v busybox)" "$WORK/rootfs/bin/"
for cmd in $(busybox --list); do
  [ "$cmd" = busybox ] || ln -s busybox "$WORK/rootfs/bin/$cmd"
done
tar -C "$WORK/rootfs" -c . | podman import -q - localhost/pinns-busybox >/dev/null

# The pod: network (lo up), IPC and UTS namespaces, hostname $POD.
"$PINNS" -d "$DIR" -f "$POD" --net --ipc --uts --loopback -s kernel.hostname="$POD"
join="--network ns:$DIR/netns/$POD --uts ns:$DIR/utsns/$POD --ipc ns:$DIR/ipcns/$POD"
run() {
  podman run --cgroup-parent "/$CG" --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
    "$@"
}
fetch='for i in $(seq 50); do wget -q -O - http://127.0.0.1:8080/ && exit; sleep 0.1; done; exit 1'

# Two containers in the pod: a web server, and a client on 127.0.0.1.
run -d --name "$POD-web" $join localhost/pinns-busybox sh -c \
  'echo "hello from $(hostname)" > /tmp/index.html; touch /dev/mqueue/from-web
   exec httpd -f -p 127.0.0.1:8080 -h /tmp' >/dev/null
run --rm $join localhost/pinns-busybox sh -c "hostname; ($fetch) && ls /dev/mqueue"
podman rm -f -t 0 "$POD-web" >/dev/null

# The containers are gone; the pod is not: same namespaces, same hostname.
"$PINNS" list -d "$DIR" | grep -w "$POD"
"$PINNS" exec -d "$DIR" -f "$POD" -- hostname

# Without --loopback, lo stays down in the pinned namespace: podman never
# brings it up in a namespace it joins, so 127.0.0.1 is unreachable.
"$PINNS" -d "$DIR" -f "$POD-nolo" --net
run --rm --network "ns:$DIR/netns/$POD-nolo" localhost/pinns-busybox \
  wget -O - http://127.0.0.1:8080/ 2>&1 || echo "without --loopback: no connection"
