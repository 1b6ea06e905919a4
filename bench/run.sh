#!/usr/bin/env bash
# pinns benchmark: user-space instructions and page faults per
# call, pin/unpin latency, scale, memory per pod and throughput of pinns
# against a static C floor, unshare(1), ip netns and pause-style pods (and
# CRI-O's C pinns, when given), and the library pinning in-process beside
# the floor. Run as root:
#
#   bench/run.sh            full run (~3-4 min on 2 cores)
#   bench/run.sh --quick    smoke test (< 1 min)
#   options: --only instructions,latency,scale,memory,throughput,strace,inproc   --json FILE
#   env: PINNS=/path/to/pinns (default: the shipped static build,
#        target/x86_64-unknown-linux-gnu/release/pinns, rebuilt by `cargo build-static`)
#        PINNS_REF=/path/to/crio/pinns (optional: CRI-O's C pinns, measured beside)
#        INPROC=/path/to/bench_inproc (default: examples/bench_inproc.rs, built with
#        the library alone and its symbols kept, for the in-process part)
#
# Everything happens under a fresh mktemp -d directory (a tmpfs is mounted on
# its pins/ subdir, like /run), and every pod is unpinned at the end, on error
# and on interrupt; ip netns names are pinnsbench-<pid>-*. See bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
OUT=$ROOT/target/bench
PINNS=${PINNS:-}
PINNS_REF=${PINNS_REF:-}
INPROC=${INPROC:-}
ONLY=
QUICK=
PYARGS=()
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1; PYARGS+=(--quick) ;;
	--only) ONLY=$2; PYARGS+=("$1" "$2"); shift ;;
	--json) PYARGS+=("$1" "$2"); shift ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || { echo "run.sh: must run as root (namespaces, mounts, drop_caches)" >&2; exit 1; }
for t in gcc python3 unshare ip findmnt; do
	command -v $t >/dev/null || { echo "run.sh: $t is required" >&2; exit 1; }
done

# --- build the helpers and, if missing, pinns
mkdir -p "$OUT"
gcc -O2 -Wall -o "$OUT/floor" "$HERE/floor.c"
gcc -O2 -Wall -o "$OUT/timeit" "$HERE/timeit.c"
# The static floor is the one that defines the limit (pinns ships static);
# the dynamic one is shown beside it.
if ! gcc -O2 -Wall -static -o "$OUT/floor-static" "$HERE/floor.c" 2>/dev/null; then
	echo "run.sh: no static libc; floor-static is the dynamic floor" >&2
	cp "$OUT/floor" "$OUT/floor-static"
fi
if [ -z "$PINNS" ]; then
	# The binary as shipped: static (see README, "Static build"). cargo
	# rebuilds it only when the sources changed.
	echo "run.sh: cargo build-static" >&2
	(cd "$ROOT" && cargo build-static)
	PINNS=$ROOT/target/x86_64-unknown-linux-gnu/release/pinns
fi
PINNS=$(readlink -f "$PINNS")
if [ -z "$INPROC" ] && { [ -z "$ONLY" ] || [[ ,$ONLY, == *,inproc,* ]]; }; then
	# The library as a runtime embeds it: no command-line crates. Unstripped,
	# so that callgrind's report names the functions the bench looks for.
	echo "run.sh: cargo build --release -p pinns --example bench_inproc" >&2
	(cd "$ROOT" && cargo build --release -p pinns --example bench_inproc \
		--config profile.release.strip=false)
	INPROC=$ROOT/target/release/examples/bench_inproc
fi
[ -z "$INPROC" ] || INPROC=$(readlink -f "$INPROC")
[ -z "$PINNS_REF" ] || PINNS_REF=$(readlink -f "$PINNS_REF")

# --- work dir and cleanup
RUNID=$$
WORK=$(mktemp -d /tmp/pinns-bench.XXXXXX)
NETNS_EXISTED=0
[ -e /run/netns ] && NETNS_EXISTED=1

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	set +e
	# pause-style holders (the driver kills them; this is the fallback)
	if [ -f "$WORK/pause.pids" ]; then
		while read -r pid; do
			if [ -n "$pid" ] && grep -qa "floor" "/proc/$pid/cmdline" 2>/dev/null; then
				kill -9 "$pid" 2>/dev/null
			fi
		done <"$WORK/pause.pids"
	fi
	# ip netns pods of this run
	for f in /run/netns/pinnsbench-$RUNID-*; do
		[ -e "$f" ] && ip netns delete "$(basename "$f")"
	done
	if [ $NETNS_EXISTED = 0 ] && [ -d /run/netns ] && [ -z "$(ls -A /run/netns)" ]; then
		while mountpoint -q /run/netns; do umount /run/netns || break; done
		rmdir /run/netns 2>/dev/null
	fi
	# any pin left under the work dir (the driver unpins; this is the fallback)
	for f in "$WORK"/pins/*/*/*ns/* "$WORK"/pins/*/*ns/*; do
		[ -e "$f" ] && [ ! -d "$f" ] || continue
		umount -l "$f" 2>/dev/null
		rm -f "$f"
	done
	# pinns's shared type-dir mounts and the tmpfs, deepest first
	findmnt -rn -o TARGET | grep -F "$WORK/" | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2- |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	local nsfs procs netns
	nsfs=$(findmnt -rn -o TARGET,SOURCE | grep -F "$WORK" | grep -c nsfs)
	procs=$(pgrep -f -- "$OUT/floor" | wc -l)
	[ -z "$INPROC" ] || procs=$((procs + $(pgrep -f -- "$INPROC serve" | wc -l)))
	netns=$(ls /run/netns 2>/dev/null | grep -c "^pinnsbench-$RUNID-")
	echo "cleanup check: nsfs mounts under $WORK: $nsfs; bench processes left: $procs; /run/netns entries of this run: $netns" >&2
	rm -rf "$WORK"
	if [ "$nsfs$procs$netns" != 000 ]; then
		echo "run.sh: CLEANUP INCOMPLETE" >&2
		[ $rc = 0 ] && rc=1
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

mkdir "$WORK/pins"
mount -t tmpfs -o mode=0755 pinns-bench "$WORK/pins"

echo "machine: $(uname -r), nproc $(nproc), $(date -Is)"
echo "pinns: $PINNS ($(stat -c %s "$PINNS") bytes)"
echo "  file: $(file -b "$PINNS")"
echo "  ldd:  $(ldd "$PINNS" 2>&1 | tr '\n' ' ' | tr -s ' \t' ' ')"
[ -z "$PINNS_REF" ] || echo "C pinns (PINNS_REF): $PINNS_REF ($(file -b "$PINNS_REF" | cut -d, -f1-2))"

python3 "$HERE/bench.py" --work "$WORK" --runid "$RUNID" --pinns "$PINNS" \
	--floor "$OUT/floor-static" --floor-dynamic "$OUT/floor" --ref "$PINNS_REF" \
	--timeit "$OUT/timeit" --inproc "$INPROC" "${PYARGS[@]}"
