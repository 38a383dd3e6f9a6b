#!/bin/sh
# queuesync postremove (deb postrm, rpm %postun): tell systemd the unit is
# gone; on purge, remove what the package's scripts created: the sync log
# (and its rotations) and the cron job's state. The queuesync user is kept
# (Debian policy: a later user of the same id could inherit its files), and
# so are secret files an administrator put in /etc/queuesync.
set -e

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi

case "$1" in
	purge)
		rm -f /var/log/queue_sync.log /var/log/queue_sync.log.[0-9]*
		rm -rf /var/lib/queuesync
		;;
esac
exit 0
