#!/bin/sh
# /usr/lib/queuesync/cron-resync: "queuesync resync" for cron (see
# /etc/cron.d/queuesync). Exit 0, 3 and 4 print nothing: their details are
# in the sync log (queuesync log) and in queuesync status. Exit 1 and 2 (an
# error, a bad config) print the reason, once: the same failure again prints
# nothing until a run succeeds or the reason changes, so that a node down for
# a day sends one mail, not 288.
#
#   QUEUESYNC_BIN        the binary (default /usr/bin/queuesync)
#   QUEUESYNC_CRON_STATE the last reported failure (default
#                        /var/lib/queuesync/cron-failure)
bin=${QUEUESYNC_BIN:-/usr/bin/queuesync}
state=${QUEUESYNC_CRON_STATE:-/var/lib/queuesync/cron-failure}

out=$("$bin" resync --log-level error "$@" 2>&1 >/dev/null)
rc=$?
case $rc in
0 | 3 | 4)
	rm -f "$state" 2>/dev/null
	exit 0
	;;
esac
msg=$(printf 'queuesync resync exited %s:\n%s' "$rc" "$out")
if [ -f "$state" ] && [ "$(cat "$state" 2>/dev/null)" = "$msg" ]; then
	exit 0
fi
printf '%s\n' "$msg" >"$state" 2>/dev/null || true
printf '%s\n\n%s\n' "$msg" "Until this changes, cron repeats the resync every 5 minutes without mailing again. Check with: sudo -u queuesync queuesync config check; queuesync status"
exit "$rc"
