#!/bin/sh
# queuesync postinstall (deb postinst "configure", rpm %post): the system user
# and the sync log. Idempotent.
set -e

case "$1" in
	configure | 1 | 2) ;;
	*) exit 0 ;;
esac

if ! getent group queuesync >/dev/null; then
	groupadd --system queuesync
fi
if ! getent passwd queuesync >/dev/null; then
	nologin=/usr/sbin/nologin
	[ -x "$nologin" ] || nologin=/sbin/nologin
	useradd --system --gid queuesync --no-create-home --home-dir /nonexistent \
		--shell "$nologin" --comment "queuesync daemon" queuesync
fi

# The sync log (log_file): written by the daemon and the cron job, readable
# by the adm group (queuesync log).
log=/var/log/queue_sync.log
loggroup=adm
getent group "$loggroup" >/dev/null || loggroup=queuesync
if [ ! -e "$log" ]; then
	install -m 0640 -o queuesync -g "$loggroup" /dev/null "$log"
else
	chown queuesync:"$loggroup" "$log"
fi

# The cron job's memory of the last failure it reported (cron-resync).
install -d -m 0750 -o queuesync -g queuesync /var/lib/queuesync

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
	# An upgrade restarts a running daemon; a new install waits for the
	# operator to configure the node and enable it.
	systemctl try-restart queuesync.service >/dev/null || true
fi

if [ ! -e /etc/queuesync/ami.secret ]; then
	cat <<'MSG'
queuesync: configure /etc/queuesync/queuesync.yaml and its secret files, check
them with "sudo -u queuesync queuesync config check", create the journal with
"sudo -u queuesync queuesync migrate", then "systemctl enable --now queuesync".
MSG
fi
exit 0
