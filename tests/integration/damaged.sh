#!/bin/sh
# A damaged data.mdb: every query command either works or exits 1 saying
# the cache is damaged and how to rebuild it; none dies of a signal, none
# blames Split ("malformed answer").  The damage: deterministic byte flips
# across the file, truncations, and zeroed meta pages.
. "$SRCDIR/tests/integration/lib.sh"

sim_start --state "$SRCDIR/tests/integration/base-state.json" --generate 300 --seed 3
write_config
fs sync >/dev/null 2>&1
fs link new_checkout OPS-9 >/dev/null 2>&1
cp "$T/state/data.mdb" "$T/pristine.mdb"
size=$(stat -c %s "$T/pristine.mdb")

# damage CASE: rewrites $T/state/data.mdb from the pristine copy.
damage() {
	python3 - "$T/pristine.mdb" "$T/state/data.mdb" "$1" <<'PY'
import sys
src, dst, case = sys.argv[1], sys.argv[2], sys.argv[3]
data = bytearray(open(src, "rb").read())
kind, _, arg = case.partition(":")
if kind == "flip":
    # eight bytes from a little LCG seeded by the case number
    x = int(arg) * 2654435761 + 1
    for _ in range(8):
        x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
        data[(x >> 11) % len(data)] ^= 0xFF ^ (x & 0x7F)
elif kind == "pageflip":
    # the headers and first entries of page N
    n = int(arg)
    for off in (0, 8, 10, 12, 14, 16, 20, 40, 64):
        if n * 4096 + off < len(data):
            data[n * 4096 + off] ^= 0xA5
elif kind == "trunc":
    data = data[:int(arg)]
elif kind == "zero":
    n = int(arg)
    data[n * 4096:(n + 1) * 4096] = bytes(4096)
open(dst, "wb").write(data)
PY
	rm -f "$T/state/lock.mdb"
}

cases="zero:0 zero:1 trunc:0 trunc:100 trunc:4096 trunc:8192 trunc:12288"
cases="$cases trunc:$((size / 2)) trunc:$((size - 4096))"
i=0
while [ $i -lt 40 ]; do cases="$cases flip:$i"; i=$((i + 1)); done
i=2
while [ $i -lt $((size / 4096)) ] && [ $i -lt 40 ]; do
	cases="$cases pageflip:$i"; i=$((i + 1))
done

signals=0 blamed=0 silent=0 damaged=0 total=0
for c in $cases; do
	damage "$c"
	for cmd in "flags --json" "events --json" "status --json" \
	    "issue SHOP-1" "export --format json" "flag new_checkout" \
	    "events --issue OPS-9"; do
		total=$((total + 1))
		# shellcheck disable=SC2086
		fs $cmd >/dev/null 2>"$T/err"; rc=$?
		if [ $rc -ge 128 ]; then
			signals=$((signals + 1))
			diag "$c: '$cmd' died of signal $((rc - 128))"
		elif [ $rc -ne 0 ] && grep -q "malformed answer" "$T/err"; then
			blamed=$((blamed + 1))
			diag "$c: '$cmd': $(cat "$T/err")"
		elif [ $rc -ne 0 ] && ! grep -q "damaged" "$T/err" &&
		    ! grep -q "^flagsync flag: no flag" "$T/err"; then
			# (a flipped key byte can hide a flag: without
			# checksums that reads as "no such flag")
			silent=$((silent + 1))
			diag "$c: '$cmd' exit $rc: $(cat "$T/err")"
		elif [ $rc -ne 0 ]; then
			damaged=$((damaged + 1))
		fi
	done
done
diag "$total runs over $(echo $cases | wc -w) damaged files: $damaged said damaged"
check_eq "no query died of a signal" 0 "$signals"
check_eq "no failure blamed Split ('malformed answer')" 0 "$blamed"
check_eq "every failure said the cache is damaged" 0 "$silent"

# The message names the cache and the way out.
damage zero:0
err=$(fs flags 2>&1); rc=$?
check_eq "a zeroed meta page: exit 1" 1 "$rc"
check_match "... naming the cache and the rebuild" \
    "cache at $T/state is damaged: .*flagsync rebuild" "$err"
damage trunc:8192
err=$(fs status 2>&1); rc=$?
check_eq "a truncated file: exit 1" 1 "$rc"
check_match "... naming the cache and the rebuild" \
    "cache at $T/state is damaged: .*flagsync rebuild" "$err"

done_testing
