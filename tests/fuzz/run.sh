#!/bin/sh
# run.sh BINDIR SRCDIR NAME... - runs each fuzz target fuzz_NAME in BINDIR
# first over its committed corpus SRCDIR/corpus/NAME (every file once: the
# regression run), then for FUZZ_TIME seconds (default 60) on a copy of
# that corpus, with its dictionary.  Prints one line "PASS: fuzz_NAME ..."
# or "FAIL: fuzz_NAME ..." per target; the exit status is 1 when any
# failed.  Work files (the grown corpus, logs, crash-* artifacts) go to
# BINDIR/runs/NAME and stay for a look.
set -u
[ $# -ge 3 ] || { echo "usage: run.sh BINDIR SRCDIR NAME..." >&2; exit 2; }
bindir=$(cd "$1" && pwd) || exit 2
srcdir=$(cd "$2" && pwd) || exit 2
shift 2
time=${FUZZ_TIME:-60}
status=0
# UBSan findings with their stack, like ASan's.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export UBSAN_OPTIONS

dict_of() {	# NAME -> the dictionary option, or nothing
	case $1 in
	config)		echo "-dict=$srcdir/ini.dict" ;;
	linksfile)	echo "-dict=$srcdir/yaml.dict" ;;
	view_record)	;;
	*)		echo "-dict=$srcdir/json.dict" ;;
	esac
}

# The stack's first frames and the reason, for the report.
show_failure() {	# LOG
	grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz: |.*runtime error|    #[0-4] )' "$1" |
	    head -12 | sed 's/^/    /'
}

for name in "$@"; do
	prog=$bindir/fuzz_$name
	work=$bindir/runs/$name
	rm -rf "$work"
	mkdir -p "$work/corpus"
	if [ ! -x "$prog" ]; then
		echo "FAIL: fuzz_$name: $prog not built"
		status=1; continue
	fi
	if [ -d "$srcdir/corpus/$name" ]; then
		cp "$srcdir/corpus/$name"/* "$work/corpus/" 2>/dev/null
	fi
	ncorpus=$(ls "$work/corpus" | wc -l)
	# -runs=0: every corpus file once, then stop.
	if ! "$prog" -runs=0 -timeout=25 -artifact_prefix="$work/" \
	    "$work/corpus" >"$work/corpus.log" 2>&1; then
		echo "FAIL: fuzz_$name: the committed corpus ($ncorpus files)" \
		    "fails: $work/corpus.log"
		show_failure "$work/corpus.log"
		status=1; continue
	fi
	# shellcheck disable=SC2046
	if ! "$prog" -max_total_time="$time" -timeout=25 -rss_limit_mb=2048 \
	    -print_final_stats=1 $(dict_of "$name") \
	    -artifact_prefix="$work/" "$work/corpus" >"$work/fuzz.log" 2>&1
	then
		echo "FAIL: fuzz_$name: a finding in ${time}s:" \
		    $(ls "$work" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' |
		    sed "s|^|$work/|")
		show_failure "$work/fuzz.log"
		status=1; continue
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log")
	cov=$(grep -E '^#[0-9]+' "$work/fuzz.log" | tail -1 |
	    sed -n 's/.*cov: \([0-9]*\).*corp: \([0-9/a-zA-Z]*\).*/cov \1, corpus \2/p')
	echo "PASS: fuzz_$name: ${time}s, $runs runs, $speed exec/s, $cov" \
	    "(from $ncorpus corpus files)"
done
exit $status
