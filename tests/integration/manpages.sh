#!/bin/sh
# The manual pages in doc/ (mdoc(7) source, installed as they are): they
# render with groff without a single warning; flagsync.8 documents exactly
# the commands of `flagsync --help`, each with the options --help gives it,
# every global option and the environment flagsync reads; flagsync.ini.5
# documents every key the configuration parser accepts, in its section,
# with the defaults of conf/flagsync.ini, and the keys of the bundled
# outputs; flagsync-plugin.3 documents every callback, host function and
# constant of <flagsync/plugin.h>, and its example compiles.
#
# Where the lists come from:
#  - commands and options: the output of `flagsync --help`;
#  - [agent] [split] [links] [jira] [project NAME] keys: the parser itself,
#    whose "unknown key; [S] takes K1, K2, ..." error prints its key table;
#  - [plugin NAME] keys (module, events, timeout) and the keys of the file,
#    syslog and jira outputs: the list below, plus every key, commented out
#    or not, of conf/flagsync.ini;
#  - environment: the getenv("...") calls in agent/*.c (the FLAGSYNC_TEST_*
#    hooks aside) and the secrets' variables listed below.
. "$SRCDIR/tests/integration/lib.sh"

if ! command -v groff >/dev/null 2>&1; then
	echo "Bail out! groff is not installed (Debian: apt-get install groff-base)"
	exit 1
fi

DOC=$SRCDIR/doc
PAGE8=$DOC/flagsync.8
PAGE5=$DOC/flagsync.ini.5
PAGE3=$DOC/flagsync-plugin.3

# One "title:key" a line: the .Ss title in flagsync.ini.5 and the key.
PLUGIN_KEYS="[plugin NAME]:module
[plugin NAME]:events
[plugin NAME]:timeout
[plugin NAME]:start
[plugin NAME]:credentials
file output:path
file output:fsync
syslog output:socket
syslog output:server
syslog output:facility
syslog output:ident
jira output:property
jira output:web_links"
SECRET_ENV="FLAGSYNC_SPLIT_ADMIN_KEY FLAGSYNC_JIRA_API_TOKEN"

# ---------------------------------------------------------------- rendering

for page in "$PAGE8" "$PAGE5" "$PAGE3"; do
	name=${page##*/}
	if [ ! -f "$page" ]; then
		not_ok "$name exists"
		continue
	fi
	out=$(groff -mdoc -Tutf8 -ww -z "$page" 2>&1)
	check_eq "$name renders with groff -ww without warnings" "" "$out"
	if command -v mandoc >/dev/null 2>&1; then
		out=$(mandoc -Tlint -Wwarning "$page" 2>&1)
		check_eq "$name passes mandoc -Tlint" "" "$out"
	else
		ok "$name passes mandoc -Tlint # SKIP mandoc is not installed"
	fi
	if command -v lexgrog >/dev/null 2>&1; then
		check_match "$name has a whatis entry (lexgrog)" \
		    "^[^:]*: \"[^ ]+ - .+\"$" "$(lexgrog "$page" 2>&1 | head -1)"
	else
		ok "$name has a whatis entry # SKIP lexgrog is not installed"
	fi
done

# ---------------------------------------------------------------- commands

# "cmd option" for every option --help shows ("global" for the global
# options): a command line starts with two spaces and its name, and its
# continuation lines with more spaces.
"$FLAGSYNC" --help >"$T/help" 2>&1
awk '
	/^  [a-z]/ { cmd = $1 }
	/^  -/ || /^[^ ]/ { cmd = "global" }
	{
		line = $0
		while (match(line, /(^|[[ |,])--?[A-Za-z][A-Za-z-]*/)) {
			tok = substr(line, RSTART, RLENGTH)
			sub(/^[[ |,]/, "", tok)
			print cmd, tok
			line = substr(line, RSTART + RLENGTH)
		}
	}' "$T/help" | sort -u >"$T/help.opts"
sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' "$T/help" | sort -u >"$T/help.cmds"
sed -n 's/^\.It Cm \([^ ]*\).*/\1/p' "$PAGE8" | sort -u >"$T/page.cmds"

check_match "--help lists commands" "^check-config$" "$(cat "$T/help.cmds")"
check_match "--help lists options" "^global --config$" "$(cat "$T/help.opts")"
while read -r cmd; do
	check "flagsync.8 documents command $cmd (.It Cm $cmd)" \
	    grep -qx "$cmd" "$T/page.cmds"
done <"$T/help.cmds"
check_eq "every .It Cm command of flagsync.8 is in --help" "" \
    "$(comm -13 "$T/help.cmds" "$T/page.cmds" | paste -sd " " -)"

# item CMD: the flagsync.8 source of command CMD's item, up to the next.
item() {
	awk -v c="$1" '
		/^\.It Cm / { on = ($3 == c) }
		on' "$PAGE8"
}

# has_fl TEXT OPTION: TEXT marks OPTION up as ".Fl NAME" (NAME is OPTION
# without its first dash).
has_fl() {
	printf '%s\n' "$1" |
	    grep -Eq "(^|[[:space:]])Fl[[:space:]]+${2#-}([[:space:]]|$)"
}

while read -r cmd opt; do
	if [ "$cmd" = global ]; then
		check "flagsync.8 documents global option $opt (Fl ${opt#-})" \
		    has_fl "$(cat "$PAGE8")" "$opt"
	else
		check "flagsync.8 documents $cmd $opt in the $cmd item" \
		    has_fl "$(item "$cmd")" "$opt"
	fi
done <"$T/help.opts"

for s in NAME SYNOPSIS DESCRIPTION ENVIRONMENT FILES "EXIT STATUS" \
    EXAMPLES "SEE ALSO"; do
	check "flagsync.8 has a $s section" grep -qx "\.Sh $s" "$PAGE8"
done
check "flagsync.8 documents SIGHUP, SIGTERM and SIGINT" \
    sh -c 'grep -q "^\.It Dv SIGHUP" "$1" && grep -q "^\.It Dv SIGTERM , SIGINT" "$1"' \
    sh "$PAGE8"

# ---------------------------------------------------------------- environment

{
	printf '%s\n' $SECRET_ENV
	cat "$SRCDIR"/agent/*.c | grep -o 'getenv("[A-Z_]*")' |
	    sed 's/getenv("\(.*\)")/\1/' | grep -v '^FLAGSYNC_TEST_'
} | sort -u >"$T/env"
check_match "the agent reads environment variables" "^FLAGSYNC_CONFIG$" "$(cat "$T/env")"
while read -r var; do
	check "flagsync.8 ENVIRONMENT documents $var" \
	    grep -qx "\.It Ev $var" "$PAGE8"
done <"$T/env"

# ---------------------------------------------------------------- keys

# The parser's own key table for each fixed section.
: >"$T/keys"
for sect in agent split links jira "project P"; do
	title="[$sect]"
	[ "$sect" = "project P" ] && title="[project NAME]"
	if [ "$sect" = "project P" ]; then
		printf '[project P]\nzz_no_such_key = 1\n' >"$T/k.ini"
	else
		printf '[project P]\nenvironment = E\n[%s]\nzz_no_such_key = 1\n' \
		    "$sect" >"$T/k.ini"
	fi
	err=$("$FLAGSYNC" -c "$T/k.ini" check-config 2>&1)
	keys=$(printf '%s\n' "$err" | sed -n 's/.*unknown key; \[[a-z]*\] takes //p')
	check_match "the parser lists the keys of [$sect]" "^[a-z_]+(, [a-z_]+)*$" "$keys"
	printf '%s\n' "$keys" | tr ',' '\n' | tr -d ' ' | grep . |
	    sed "s/^/$title:/" >>"$T/keys"
done
printf '%s\n' "$PLUGIN_KEYS" >>"$T/keys"

# Every key of conf/flagsync.ini, commented out or not, as "title:key";
# keys of a [plugin NAME] other than the host's belong to its module.
awk '
	function flush() {
		for (i = 0; i < n; i++) {
			t = title
			if (plug && k[i] !~ /^(module|events|timeout|start|credentials)$/)
				t = mod " output"
			print t ":" k[i]
		}
		n = 0
	}
	/^;?\[[a-z]+( [^]]*)?\]/ {
		flush()
		h = $0; sub(/^;?\[/, "", h); sub(/\].*/, "", h)
		split(h, w, " ")
		plug = (w[1] == "plugin"); mod = w[2]
		title = "[" h "]"
		if (w[1] == "plugin")
			title = "[plugin NAME]"
		if (w[1] == "project")
			title = "[project NAME]"
		next
	}
	/^;?[a-z_]+[ \t]*=/ {
		key = $0; sub(/^;/, "", key); sub(/[ \t]*=.*/, "", key)
		if (plug && key == "module") {
			v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t;].*/, "", v)
			mod = v
		}
		k[n++] = key
	}
	END { flush() }' "$SRCDIR/conf/flagsync.ini" | sort -u >"$T/conf.keys"
check_match "conf/flagsync.ini has keys" "^\[agent\]:state_dir$" "$(cat "$T/conf.keys")"
sort -u "$T/keys" "$T/conf.keys" >"$T/all.keys"

# What flagsync.ini.5 documents: ".It Cm KEY" under ".Ss TITLE".
awk '
	/^\.Ss / { t = substr($0, 5); gsub(/"/, "", t) }
	/^\.It Cm / && t != "" { print t ":" $3 }' "$PAGE5" | sort -u >"$T/page.keys"

while IFS= read -r tk; do
	check "flagsync.ini.5 documents ${tk%%:*} ${tk#*:}" grep -qxF "$tk" "$T/page.keys"
done <"$T/all.keys"
check_eq "flagsync.ini.5 documents no key the parser or an output lacks" "" \
    "$(comm -13 "$T/all.keys" "$T/page.keys" | paste -sd " " -)"

# The values conf/flagsync.ini sets are the defaults (it says so), except
# the example project and links file: each must be in the key's item.
awk '
	/^\[/ { s = $0 }
	/^[a-z_]+[ \t]*=/ && s !~ /^\[project / {
		k = $0; sub(/[ \t]*=.*/, "", k)
		v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]+;.*/, "", v)
		if (!(s == "[links]" && k == "file"))
			print s, k, v
	}' "$SRCDIR/conf/flagsync.ini" >"$T/defaults"
check_match "conf/flagsync.ini sets defaults" "^\[agent\] interval 60$" "$(cat "$T/defaults")"
while read -r s k v; do
	text=$(awk -v s="$s" -v k="$k" '
		/^\.Ss / { t = substr($0, 5) }
		/^\.It / { on = (t == s && $2 == "Cm" && $3 == k) }
		on' "$PAGE5")
	check "flagsync.ini.5: the default of $s $k is $v" \
	    sh -c 'printf "%s\n" "$1" | grep -qF -- "$2"' sh "$text" "$v"
done <"$T/defaults"

for w in CREDENTIALS_DIRECTORY/split-admin-key CREDENTIALS_DIRECTORY/jira-api-token \
    FLAGSYNC_SPLIT_ADMIN_KEY FLAGSYNC_JIRA_API_TOKEN "chmod o-r"; do
	check "flagsync.ini.5 Secrets names $w" grep -qF "$w" "$PAGE5"
done

# ---------------------------------------------------------------- SDK

hdr=$SRCDIR/include/flagsync/plugin.h
sed -n 's/.*(\*\([a-z_]*\))(.*/\1/p' "$hdr" | sort -u >"$T/sdk.fns"
check_match "plugin.h has callbacks" "^deliver$" "$(cat "$T/sdk.fns")"
while read -r fn; do
	check "flagsync-plugin.3 has an item for $fn() (.It [Ft ...] Fn $fn)" \
	    grep -Eq "^\.It (Ft .* )?Fn $fn( |$)" "$PAGE3"
done <"$T/sdk.fns"
sed -n 's/^#define[[:space:]]\(FLAGSYNC_[A-Z_]*\)[[:space:]].*/\1/p' "$hdr" |
    grep -v -e '^FLAGSYNC_PLUGIN_EXPORT$' -e '^FLAGSYNC_PLUGIN_LINKAGE$' |
    sort -u >"$T/sdk.consts"
check_match "plugin.h has constants" "^FLAGSYNC_RETRY$" "$(cat "$T/sdk.consts")"
while read -r c; do
	check "flagsync-plugin.3 documents $c (Dv $c)" grep -q "Dv $c" "$PAGE3"
done <"$T/sdk.consts"
for w in FLAGSYNC_PLUGIN_DEFINE FLAGSYNC_PLUGIN_ABI_MAJOR \
    "pkg-config --cflags flagsync-plugin" \
    "pkg-config --variable=plugindir flagsync-plugin"; do
	check "flagsync-plugin.3 mentions $w" grep -qF -- "$w" "$PAGE3"
done

# The EXAMPLES program, as a reader would copy it, builds as a plugin.
groff -mdoc -Tascii -P-cbou "$PAGE3" 2>/dev/null |
    awk '/^EXAMPLES/ { on = 1; next } /^[A-Z]/ { on = 0 } on' |
    sed -n '/^ *#include/,/^ *);/p' | sed 's/^     //' >"$T/example.c"
CC=${CC:-cc}
if command -v "$CC" >/dev/null 2>&1; then
	if "$CC" -std=c11 -Wall -Wextra -Werror -I"$SRCDIR/include" -fPIC \
	    -fvisibility=hidden -shared -o "$T/example.so" "$T/example.c" \
	    >"$T/cc.log" 2>&1; then
		ok "the flagsync-plugin.3 example compiles"
		check_eq "... and exports only flagsync_plugin" "flagsync_plugin" \
		    "$(nm -D --defined-only "$T/example.so" | awk '{ print $3 }')"
	else
		not_ok "the flagsync-plugin.3 example compiles"
		diag "$(cat "$T/cc.log")"
	fi
else
	ok "the flagsync-plugin.3 example compiles # SKIP no C compiler"
fi

done_testing
