#!/usr/bin/env bash
# Regenerates .cargo/hot-symbols.txt: the functions (mangled names, in the
# order they first run) of one pin, one unpin and one list of the static
# build, which `cargo build-static` asks the linker to place first in .text
# (see .cargo/config.toml). Run as root after changes to the code or the
# toolchain, then `cargo build-static` again. Needs valgrind and gdb.
#
# The binary is built exactly as `cargo build-static` builds it, but with its
# symbols kept (no --strip-all): the names must be those of the shipped build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
flags=$(sed -n "s/^ *\"--config\", \"\(target\.x86_64-unknown-linux-gnu\.rustflags=.*\)\",$/\1/p" .cargo/config.toml)
flags=${flags/, \'-C\', \'link-arg=-Wl,--strip-all\'/}
cargo build --release --target x86_64-unknown-linux-gnu --target-dir target/hot-symbols \
	--config profile.release.strip=false --config "$flags"
B=target/hot-symbols/x86_64-unknown-linux-gnu/release/pinns
D=$(mktemp -d /tmp/pinns-hot.XXXXXX)
trap 'findmnt -rn -o TARGET | grep -F "$D/" | sort -r | while read -r m; do umount -l "$m"; done; rm -rf "$D"' EXIT
vg() { valgrind --tool=callgrind --demangle=no --callgrind-out-file="$D/$1" "${@:2}" >/dev/null 2>&1; }
vg pin "$B" -d "$D/p" -f hot --net --ipc --uts
vg unpin "$B" unpin -d "$D/p" -f hot
vg list "$B" list -d "$D/p"
# glibc picks its string functions (memcpy, strlen, ...) by the CPU at
# start-up (IFUNCs), and valgrind's emulated CPU gets other variants than
# the machine's (AVX2 rather than EVEX/AVX-512): after each variant it ran,
# also list the one this machine picks, read from the relocated GOT at main.
readelf -rW "$B" | awk '/R_X86_64_IRELATIV/ { print "info symbol *(long*)0x" $1 }' >"$D/gdb"
gdb -q -batch -ex "break main" -ex run -x "$D/gdb" -ex kill --args "$B" --version 2>/dev/null |
	awk '/ in section / { print $1 }' >"$D/ifuncs"
grep -hoE "^c?fn=\([0-9]+\) .*" "$D/pin" "$D/unpin" "$D/list" |
	sed -E "s/^c?fn=\([0-9]+\) //; s/'[0-9]+$//" | grep -v "^0x\|^(below main)" |
	awk -v ifuncs="$D/ifuncs" '
		# The family of a variant: __memmove_avx512_unaligned_erms -> memmove
		# (memcpy is memmove: one object, its symbols aliases).
		function family(name) {
			sub(/^__/, "", name); sub(/_.*/, "", name)
			return name == "memcpy" ? "memmove" : name
		}
		BEGIN { while ((getline f <ifuncs) > 0) machine[family(f)] = machine[family(f)] " " f }
		!seen[$0]++ {
			print
			if ($0 ~ /^__[a-z]+_/ && family($0) in machine) {
				n = split(machine[family($0)], picked, " ")
				for (i = 1; i <= n; i++) if (!seen[picked[i]]++) print picked[i]
			}
		}' >.cargo/hot-symbols.txt
echo "hot-symbols.sh: $(wc -l <.cargo/hot-symbols.txt) functions in .cargo/hot-symbols.txt" >&2
