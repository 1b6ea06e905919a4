# Two pods pinned by pinns and wired to one bridge by the CNI plugins, run
# the way CRI-O runs them: CNI_NETNS is the pod's net pin. A network
# namespace pinned as "cni-host" stands in for the machine, so the bridge,
# the sysctls and the iptables rules the plugins make stay out of its own.
set -eu
PINNS=${PINNS:-pinns}
DIR=${1:-/run/pinns-cni}
export CNI_PATH=${CNI_PATH:-/usr/lib/cni}
STATE=$(mktemp -d)                 # host-local's leases and the results

for name in cni-host pod-a pod-b; do
  "$PINNS" -d "$DIR" -f "$name" --net --loopback
done
server=
cleanup() {
  [ -z "$server" ] || kill "$server" 2>/dev/null || true
  for name in pod-a pod-b cni-host; do "$PINNS" unpin -d "$DIR" -f "$name"; done
  rm -rf "$STATE"
}
trap cleanup EXIT

# cni COMMAND POD PLUGIN < CONFIG: one plugin call, from the "host".
cni() {
  "$PINNS" exec -d "$DIR" -f cni-host -- env CNI_COMMAND="$1" CNI_CONTAINERID="$2" \
    CNI_NETNS="$DIR/netns/$2" CNI_IFNAME=eth0 "$CNI_PATH/$3"
}
bridge='{"cniVersion": "1.0.0", "name": "pods", "type": "bridge", "bridge": "cni-pods0",
  "isGateway": true, "ipam": {"type": "host-local", "subnet": "192.0.2.0/24",
  "dataDir": "'"$STATE"'"}}'
# portmap as libcni calls it: the bridge's result as prevResult, the
# runtime's port mappings as runtimeConfig.
portmap='{"cniVersion": "1.0.0", "name": "pods", "type": "portmap",
  "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}}'
with_prev() { jq -c --slurpfile r "$STATE/$1.json" '. + {prevResult: $r[0]}'; }

# ADD both pods to the bridge; pod-a's port 80 is published as 8080.
echo "$bridge" | cni ADD pod-a bridge > "$STATE/pod-a.json"
echo "$bridge" | cni ADD pod-b bridge > "$STATE/pod-b.json"
echo "$portmap" | with_prev pod-a | cni ADD pod-a portmap > /dev/null
a=$(jq -r '.ips[0].address' "$STATE/pod-a.json"); a=${a%/*}
b=$(jq -r '.ips[0].address' "$STATE/pod-b.json"); b=${b%/*}
gw=$(jq -r '.ips[0].gateway' "$STATE/pod-a.json")
echo "pod-a $a, pod-b $b, host $gw"

# pod-a pings pod-b across the bridge.
"$PINNS" exec -d "$DIR" -f pod-a -- ping -c 1 -W 5 "$b" | grep -o '1 received'

# A web server in pod-a, reached from the "host" through the published port.
mkdir "$STATE/www" && echo "hello from pod-a" > "$STATE/www/index.html"
"$PINNS" exec -d "$DIR" -f pod-a -- busybox httpd -f -p 80 -h "$STATE/www" &
server=$!
"$PINNS" exec -d "$DIR" -f cni-host -- \
  sh -c "for i in \$(seq 50); do curl -sf -m 1 http://$gw:8080/ && exit; sleep 0.1; done; exit 1"

# CHECK with the ADD's result as prevResult, then DEL twice: DEL is idempotent.
echo "$bridge" | with_prev pod-a | cni CHECK pod-a bridge && echo "CHECK pod-a: ok"
for i in 1 2; do
  echo "$portmap" | with_prev pod-a | cni DEL pod-a portmap
  echo "$bridge" | with_prev pod-a | cni DEL pod-a bridge && echo "DEL pod-a ($i): ok"
done
echo "$bridge" | with_prev pod-b | cni DEL pod-b bridge
