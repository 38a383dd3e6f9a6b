#!/bin/sh
# queuesync preremove (deb prerm, rpm %preun): stop the daemon when the package
# is removed, not when it is upgraded. The queuesync user, the config and the
# sync log are kept (Debian policy: removing a user could leave its files to
# a later user of the same id).
set -e

case "$1" in
	remove | 0) ;;
	*) exit 0 ;;
esac

if [ -d /run/systemd/system ]; then
	systemctl disable --now queuesync.service >/dev/null 2>&1 || true
fi
exit 0
