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
# start-up (IFUNCs), and valgrind runs its own for some (strcmp, memset)
# and, on its emulated CPU, other variants than the machine's for the rest
# (AVX2 rather than EVEX/AVX-512): list first the ones this machine picks,
# all of them (~18 KiB), read from the relocated GOT at main.
readelf -rW "$B" | awk '/R_X86_64_IRELATIV/ { print "info symbol *(long*)0x" $1 }' >"$D/gdb"
gdb -q -batch -ex "break main" -ex run -x "$D/gdb" -ex kill --args "$B" --version 2>/dev/null |
	awk '/ in section / { print $1 }' >"$D/ifuncs"
names() {
	grep -oE "^c?fn=\([0-9]+\) .*" "$D/$1" | sed -E "s/^c?fn=\([0-9]+\) //; s/'[0-9]+$//" |
		grep -v "^0x\|^(below main)" | awk '!seen[$0]++'
}
names pin >"$D/pin.txt"
names unpin >"$D/unpin.txt"
names list >"$D/list.txt"
# Then what both a pin and an unpin run (start-up, parsing, exit), what
# only a pin runs, only an unpin, and only a list: each call's code is as
# close together as it can be. _start and __libc_start_main run first of
# all (valgrind names the latter "(below main)").
{
	printf '%s\n' _start __libc_start_main
	cat "$D/ifuncs"
	grep -Fxf "$D/unpin.txt" "$D/pin.txt"
	cat "$D/pin.txt" "$D/unpin.txt" "$D/list.txt"
} | awk '!seen[$0]++' >.cargo/hot-symbols.txt
echo "hot-symbols.sh: $(wc -l <.cargo/hot-symbols.txt) functions in .cargo/hot-symbols.txt" >&2
