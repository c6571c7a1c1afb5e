#!/bin/sh
# Bash completion (packaging/completion/flagsync): commands, options,
# option values, and flag names, issue keys and output instances taken
# from a real cache through flagsync's own queries, with the -c/--config
# typed on the line honoured.  Each completion runs in a fresh bash that
# sources the file, sets COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT as
# bash would and calls _flagsync.
. "$SRCDIR/tests/integration/lib.sh"

if ! command -v bash >/dev/null 2>&1; then
	echo "1..0 # SKIP bash is not installed"
	exit 0
fi
COMPLETION=$SRCDIR/packaging/completion/flagsync

sim_start --state "$SRCDIR/tests/integration/base-state.json"
plugin_dir_setup
write_config "
[plugin audit]
module = file
path = $T/events.jsonl

[plugin mirror]
module = file
path = $T/mirror.jsonl"
if ! fs sync >"$T/sync.out" 2>&1; then
	echo "Bail out! flagsync sync failed"
	cat "$T/sync.out" >&2
	exit 1
fi

# flagsync as the user runs it: by name, from PATH.
mkdir -p "$T/bin"
ln -s "$FLAGSYNC" "$T/bin/flagsync"
PATH=$T/bin:$PATH
export PATH

# A second configuration whose cache is empty: a completion that ignored
# the line's -c and used $FLAGSYNC_CONFIG would find nothing.
mkdir -p "$T/other-state"
sed "s|^state_dir = .*|state_dir = $T/other-state|" "$T/flagsync.ini" \
    >"$T/other.ini"

# comp WORD...: completes the last WORD (the one under the cursor, at its
# end) of the command line WORD...; prints COMPREPLY sorted, on one line.
comp() {
	bash -c '
		. "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_flagsync flagsync "${COMP_WORDS[COMP_CWORD]}" \
		    "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | paste -sd " " -
	' bash "$COMPLETION" "$@"
}

FLAGSYNC_CONFIG=$T/flagsync.ini
export FLAGSYNC_CONFIG

check "the completion file is valid bash" bash -n "$COMPLETION"
check_match "sourcing it registers _flagsync for flagsync" \
    "^complete -F _flagsync flagsync$" \
    "$(bash -c '. "$1"; complete -p flagsync' bash "$COMPLETION")"
check_eq "sourcing it and completing sets no variable but COMPREPLY" "COMPREPLY" \
    "$(bash -c 'COMP_WORDS=(flagsync issue S); COMP_CWORD=2
	COMP_LINE="flagsync issue S"; COMP_POINT=${#COMP_LINE}
	compgen -v | sort >"$2/vars.before"
	. "$1"
	_flagsync flagsync S issue
	compgen -v | sort | comm -13 "$2/vars.before" - |
	    grep -vx -e _ -e PIPESTATUS' \
    bash "$COMPLETION" "$T" | paste -sd " " -)"

help_cmds=$("$FLAGSYNC" --help | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' | sort | paste -sd " " -)
check_match "--help lists the commands" "check-config .*unlink" "$help_cmds"
check_eq "flagsync <TAB>: every command of --help" "$help_cmds" "$(comp flagsync "")"
check_eq "flagsync fl<TAB>" "flag flags" "$(comp flagsync fl)"
check_eq "flagsync --json ch<TAB>: after a global option" "check-config" \
    "$(comp flagsync --json ch)"
check_eq "flagsync -<TAB>: the global options" \
    "--config --help --json --quiet --verbose --version -V -c -h -q -v" \
    "$(comp flagsync -)"
check_eq "flagsync flags --<TAB>: its options and the long globals" \
    "--active --config --json --killed --linked --project --quiet --unlinked --verbose" \
    "$(comp flagsync flags --)"
check_eq "an option already given is not offered again" \
    "--config --flag --follow --issue --limit --project --quiet --type --verbose" \
    "$(comp flagsync events --since 3 --json --)"
check_eq "... nor one given as --opt=value" \
    "--active --config --json --killed --linked --quiet --unlinked --verbose" \
    "$(comp flagsync flags --project=Default --)"
check_eq "flagsync events --<TAB>" \
    "--config --flag --follow --issue --json --limit --project --quiet --since --type --verbose" \
    "$(comp flagsync events --)"
check_eq "flagsync replay --<TAB>" "--config --from --json --plugin --quiet --state --verbose" \
    "$(comp flagsync replay --)"

check_eq "flagsync flag <TAB>: the flag names" \
    "dark_mode new_checkout old_banner search_v2" "$(comp flagsync flag "")"
check_eq "flagsync flag n<TAB>" "new_checkout" "$(comp flagsync flag n)"
check_eq "flagsync flag --project Default <TAB>" \
    "dark_mode new_checkout old_banner search_v2" \
    "$(comp flagsync flag --project Default "")"
check_eq "flagsync flag new_checkout <TAB>: one name only" "" \
    "$(comp flagsync flag new_checkout "")"
check_eq "flagsync link s<TAB>: a flag first" "search_v2" "$(comp flagsync link s)"
check_eq "flagsync link new_checkout <TAB>: then an issue key" \
    "PAY-42 SHOP-1 SHOP-7" "$(comp flagsync link new_checkout "")"
check_eq "flagsync unlink --project Default search_v2 P<TAB>" "PAY-42" \
    "$(comp flagsync unlink --project Default search_v2 P)"
check_eq "flagsync link new_checkout SHOP-1 <TAB>: nothing more" "" \
    "$(comp flagsync link new_checkout SHOP-1 "")"
check_eq "flagsync issue S<TAB>" "SHOP-1 SHOP-7" "$(comp flagsync issue S)"
check_eq "flagsync issue <TAB>: every linked issue once" "PAY-42 SHOP-1 SHOP-7" \
    "$(comp flagsync issue "")"
check_eq "flagsync events --flag s<TAB>" "search_v2" "$(comp flagsync events --flag s)"
check_eq "flagsync events --issue <TAB>" "PAY-42 SHOP-1 SHOP-7" \
    "$(comp flagsync events --issue "")"
check_eq "flagsync events --type flag.k<TAB>" "flag.killed" \
    "$(comp flagsync events --type flag.k)"
check_eq "flagsync events --type link<TAB>" "link.* link.added link.removed" \
    "$(comp flagsync events --type link)"
check_eq "flagsync export --format <TAB>" "csv json" "$(comp flagsync export --format "")"
check_eq "flagsync export --format=<TAB>, split at = by bash" "csv json" \
    "$(comp flagsync export --format = "")"
check_eq "flagsync export --format=c<TAB>, split at = by bash" "csv" \
    "$(comp flagsync export --format = c)"
check_eq "flagsync export --format=j<TAB>, not split" "--format=json" \
    "$(comp flagsync export --format=j)"
check_eq "flagsync replay --plugin <TAB>: the output instances" "audit mirror" \
    "$(comp flagsync replay --plugin "")"
check_eq "flagsync flags --project <TAB>: the projects" "Default" \
    "$(comp flagsync flags --project "")"
check_eq "flagsync events --since <TAB>: no guess" "" "$(comp flagsync events --since "")"
check_eq "flagsync -c <TAB>: file names" "$T/flagsync.ini" \
    "$(comp flagsync -c "$T/flagsy")"

# The configuration typed on the line wins over $FLAGSYNC_CONFIG.
FLAGSYNC_CONFIG=$T/other.ini
check_eq "with \$FLAGSYNC_CONFIG's empty cache: flagsync issue P<TAB> finds nothing" "" \
    "$(comp flagsync issue P)"
check_eq "flagsync -c \$T/flagsync.ini issue P<TAB>" "PAY-42" \
    "$(comp flagsync -c "$T/flagsync.ini" issue P)"
check_eq "flagsync --config \$T/flagsync.ini flag o<TAB>" "old_banner" \
    "$(comp flagsync --config "$T/flagsync.ini" flag o)"
check_eq "flagsync --config=\$T/flagsync.ini issue P<TAB>, split at =" "PAY-42" \
    "$(comp flagsync --config = "$T/flagsync.ini" issue P)"
check_eq "flagsync --config=\$T/flagsync.ini issue P<TAB>, not split" "PAY-42" \
    "$(comp flagsync "--config=$T/flagsync.ini" issue P)"
check_eq "flagsync issue --json -c \$T/flagsync.ini S<TAB>: -c after the command" \
    "SHOP-1 SHOP-7" "$(comp flagsync issue --json -c "$T/flagsync.ini" S)"
check_eq "flagsync -c \$T/flagsync.ini replay --plugin m<TAB>" "mirror" \
    "$(comp flagsync -c "$T/flagsync.ini" replay --plugin m)"

# No cache, no configuration: nothing to offer, and no error output.
FLAGSYNC_CONFIG=$T/missing.ini
out=$(comp flagsync issue "" 2>&1)
check_eq "without a usable configuration: no keys and no noise" "" "$out"

done_testing
