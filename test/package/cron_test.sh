#!/usr/bin/env bash
# cron_test.sh SCRIPT: check cron-resync with a stand-in queuesync: silent
# on exit 0, 3 and 4; on 1 and 2 the reason once, again only when it
# changes or after a success.
set -uo pipefail
script=${1:-packaging/cron-resync.sh}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/queuesync" <<'STUB'
#!/bin/sh
echo "stdout is never mailed"
cat "$(dirname "$0")/stderr" >&2
exit "$(cat "$(dirname "$0")/rc")"
STUB
chmod +x "$dir/queuesync"
export QUEUESYNC_BIN=$dir/queuesync QUEUESYNC_CRON_STATE=$dir/state
fail=0
# run RC STDERR WANT: WANT is "silent" or a text the output must hold.
run() {
	echo "$1" >"$dir/rc"
	printf '%s\n' "$2" >"$dir/stderr"
	out=$(sh "$script" 2>&1)
	rc=$?
	case $3 in
	silent) [ -z "$out" ] || { echo "cron-resync: exit $1 printed: $out" >&2; fail=1; } ;;
	*) case $out in *"$3"*) ;; *) echo "cron-resync: exit $1 printed \"$out\", want \"$3\"" >&2; fail=1 ;; esac ;;
	esac
}
run 0 "" silent
run 3 "queuesync: peer sop2: connection refused" silent
run 4 "queuesync: another queuesync resync is running" silent
run 1 "queuesync: journal database: connection refused" "journal database: connection refused"
[ "$rc" = 1 ] || { echo "cron-resync: exit 1 became $rc" >&2; fail=1; }
run 1 "queuesync: journal database: connection refused" silent
run 2 "queuesync: config is not valid" "config is not valid"
run 3 "" silent
run 2 "queuesync: config is not valid" "config is not valid"
exit $fail
