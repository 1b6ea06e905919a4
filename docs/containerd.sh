# A pod's namespaces pinned by pinns, joined by containers that containerd
# runs (`ctr run --with-ns`): a web server and a client that reaches it over
# the pod's loopback. The daemon is the script's own (its own root, state
# and socket, no CRI plugin), started here and stopped by its pid.
set -eu
PINNS=${PINNS:-pinns}
DIR=${1:-/run}
POD=${2:-pod-$$}
WORK=$(mktemp -d)
CG=pinns-demo-$$
ctr() { command ctr --address "$WORK/containerd.sock" "$@"; }

cat > "$WORK/config.toml" <<CONF
version = 2
root = "$WORK/root"
state = "$WORK/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$WORK/containerd.sock"
CONF
containerd --config "$WORK/config.toml" > "$WORK/containerd.log" 2>&1 &
daemon=$!
cleanup() {
  ctr task kill -s KILL "$POD-web" >/dev/null 2>&1 && sleep 0.2
  ctr task delete "$POD-web" >/dev/null 2>&1 || true
  ctr container delete "$POD-web" >/dev/null 2>&1 || true
  kill "$daemon" && wait "$daemon" || true
  "$PINNS" unpin -d "$DIR" -f "$POD"
  for cg in /sys/fs/cgroup/"$CG" /sys/fs/cgroup/*/"$CG"; do
    [ ! -d "$cg" ] || find "$cg" -depth -type d -exec rmdir {} +
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
for i in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done

# A root filesystem: a static busybox.
mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/tmp" && cp "$(command -v busybox)" "$WORK/rootfs/bin/"
for cmd in $(busybox --list); do
  [ "$cmd" = busybox ] || ln -s busybox "$WORK/rootfs/bin/$cmd"
done

# The pod: network (lo up), IPC and UTS namespaces, hostname $POD.
"$PINNS" -d "$DIR" -f "$POD" --net --ipc --uts --loopback -s kernel.hostname="$POD"
run() {
  ctr run --rootfs --runc-root "$WORK/runc" --env PATH=/bin --with-ns "network:$DIR/netns/$POD" \
    --with-ns "uts:$DIR/utsns/$POD" --with-ns "ipc:$DIR/ipcns/$POD" "$@"
}
fetch='for i in $(seq 50); do wget -q -O - http://127.0.0.1:8080/ && exit; sleep 0.1; done; exit 1'

# Two containers in the pod: a web server, and a client on 127.0.0.1.
run -d --null-io --cgroup "/$CG/web" "$WORK/rootfs" "$POD-web" sh -c \
  'echo "hello from $(hostname)" > /tmp/index.html; touch /dev/mqueue/from-web
   exec httpd -f -p 127.0.0.1:8080 -h /tmp'
run --rm --cgroup "/$CG/client" "$WORK/rootfs" "$POD-client" sh -c "hostname; ($fetch) && ls /dev/mqueue"
ctr task kill -s KILL "$POD-web" && sleep 0.2 && ctr task delete "$POD-web" >/dev/null
ctr container delete "$POD-web"

# The containers are gone; the pod is not.
"$PINNS" exec -d "$DIR" -f "$POD" -- hostname
