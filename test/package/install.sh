#!/usr/bin/env bash
# install.sh: install the built amd64 deb into a clean Debian 12 (bookworm)
# chroot, as an operator would, and check what it did: the queuesync user,
# the files and conffiles, the unit (systemd-analyze verify), the cron entry,
# `queuesync config check` on the example config, man pages that man reads
# without warnings; then `apt purge` must leave nothing but the user (which
# Debian policy keeps). `make package-test` runs it after check.sh.
#
#   install.sh base            only build the cached chroot
#   install.sh [DEB]           the test (default: dist/queuesync_*_linux_amd64.deb)
#
# Settings (environment):
#   QS_BOOKWORM   cached base chroot (default /opt/qs-bookworm), built once
#                 with debootstrap (about two minutes; needs Debian's archive)
#   QS_MIRROR     Debian mirror (default http://deb.debian.org/debian)
# Needs root (chroot, mount). Every run works on a fresh copy of the base.
set -euo pipefail
cd "$(dirname "$0")/../.."

BASE=${QS_BOOKWORM:-/opt/qs-bookworm}
MIRROR=${QS_MIRROR:-http://deb.debian.org/debian}
# What the base holds besides minbase: what the package recommends, systemd
# for systemd-analyze verify, man-db for the man pages.
EXTRA=systemd,cron,logrotate,man-db,groff-base

log() { printf 'package-install: %s\n' "$*" >&2; }
die() { printf 'package-install: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and chroot need it)"

build_base() {
	[ -f "$BASE/.qs-ready" ] && return 0
	if ! command -v debootstrap >/dev/null; then
		apt-get update -qq || die "apt-get update failed: is Debian's archive reachable?"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
			die "cannot install debootstrap with apt-get"
	fi
	log "building the Debian 12 chroot in $BASE (once; about two minutes)"
	rm -rf "$BASE.partial"
	mkdir -p "$(dirname "$BASE")"
	debootstrap --variant=minbase --include="$EXTRA" bookworm "$BASE.partial" "$MIRROR" \
		>"$BASE.log" 2>&1 || die "debootstrap failed; see $BASE.log"
	printf '#!/bin/sh\nexit 101\n' >"$BASE.partial/usr/sbin/policy-rc.d"
	chmod +x "$BASE.partial/usr/sbin/policy-rc.d"
	chroot "$BASE.partial" apt-get clean
	echo bookworm >"$BASE.partial/.qs-ready"
	rm -rf "$BASE"
	mv "$BASE.partial" "$BASE"
}

build_base
[ "${1:-}" = base ] && exit 0

deb=${1:-$(ls dist/queuesync_*_linux_amd64.deb 2>/dev/null | head -n1)}
[ -f "$deb" ] || die "no amd64 deb (run make snapshot first)"

fail=0
problem() { printf 'package-install: %s\n' "$*" >&2; fail=1; }

work=$(mktemp -d /opt/qs-install.XXXXXX)
root=$work/root
cleanup() {
	umount "$root/proc" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
cp -a "$BASE" "$root"
mount -t proc proc "$root/proc"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# Everything but the files that installing and purging a package always
# touches (dpkg's and apt's own state and logs, the password databases'
# backups) and /run, which systemd-analyze writes to.
snapshot() {
	(cd "$root" && find . -xdev \( -path ./proc -o -path ./run -o -path ./var/lib/dpkg -o -path ./var/cache \
		-o -path ./var/lib/apt -o -path ./var/log/apt -o -path ./tmp -o -path ./var/cache/man \) -prune \
		-o -print | grep -v -e '^\./var/log/dpkg\.log$' -e '^\./var/log/alternatives\.log$' \
		-e '^\./etc/\(passwd\|group\|shadow\|gshadow\|subuid\|subgid\)-$' -e '^\./etc/\.pwd\.lock$' | sort)
}
snapshot >"$work/before"

cp "$deb" "$root/tmp/queuesync.deb"
if ! in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /tmp/queuesync.deb >"$work/apt.log" 2>&1; then
	cat "$work/apt.log" >&2
	die "apt-get install of $deb failed"
fi

in_root getent passwd queuesync | grep -q ':/nonexistent:/usr/sbin/nologin$' ||
	problem "no system user queuesync with home /nonexistent and shell nologin"
in_root getent group queuesync >/dev/null || problem "no group queuesync"
[ "$(in_root stat -c '%U:%G %a' /var/log/queue_sync.log 2>/dev/null)" = "queuesync:adm 640" ] ||
	problem "/var/log/queue_sync.log is not queuesync:adm 640"
for f in /usr/bin/queuesync /etc/queuesync/queuesync.yaml /etc/cron.d/queuesync /etc/logrotate.d/queuesync \
	/usr/lib/systemd/system/queuesync.service /usr/share/man/man1/queuesync.1.gz \
	/usr/share/man/man5/queuesync.yaml.5.gz /usr/share/man/man7/queuesync-peer-api.7.gz \
	/usr/share/doc/queuesync/copyright; do
	[ -f "$root$f" ] || problem "$f is not installed"
done
conffiles=$(in_root dpkg-query -W -f='${Conffiles}\n' queuesync | awk '{print $1}')
for c in /etc/queuesync/queuesync.yaml /etc/cron.d/queuesync /etc/logrotate.d/queuesync; do
	grep -qx "$c" <<<"$conffiles" || problem "$c is not a conffile"
done
grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' \
	"$root/usr/share/doc/queuesync/copyright" || problem "copyright is not in Debian's machine-readable format"

# The unit, as systemd on bookworm reads it.
if out=$(in_root systemd-analyze verify /usr/lib/systemd/system/queuesync.service 2>&1); then :; else
	problem "systemd-analyze verify queuesync.service failed: $out"
fi
[ -z "${out:-}" ] || problem "systemd-analyze verify queuesync.service: $out"

# Every man page reads without a warning.
for page in "$root"/usr/share/man/man*/queuesync*.gz; do
	rel=${page#"$root"}
	w=$(in_root sh -c "MANWIDTH=80 man --warnings -l '$rel' 2>&1 >/dev/null") || problem "man -l $rel failed"
	[ -z "$w" ] || problem "man --warnings -l $rel: $w"
done

# config check on the example config: exit 2 naming the missing secret
# files, then 0 once they exist.
rc=0
out=$(in_root runuser -u queuesync -- queuesync config check 2>&1) || rc=$?
[ "$rc" = 2 ] || problem "config check with no secret files exited $rc, want 2: $out"
grep -q 'ami.secret_file: "/etc/queuesync/ami.secret" does not exist' <<<"$out" ||
	problem "config check does not name the missing ami.secret_file: $out"
for s in ami.secret peer-sop2.secret; do
	in_root sh -c "install -m 600 -o queuesync -g queuesync /dev/null /etc/queuesync/$s && echo 0123456789abcdef0123456789abcdef >/etc/queuesync/$s"
done
rc=0
out=$(in_root runuser -u queuesync -- queuesync config check 2>&1) || rc=$?
[ "$rc" = 0 ] || problem "config check of the example config with its secret files exited $rc: $out"
rm -f "$root"/etc/queuesync/*.secret

# The cron line parses and runs the resync only where the daemon is enabled.
line=$(grep -E '^\*/5 ' "$root/etc/cron.d/queuesync" | sed -E 's/^([^ ]+ ){5}queuesync //')
in_root sh -n -c "$line" || problem "the cron command does not parse: $line"
grep -q '^MAILTO=root$' "$root/etc/cron.d/queuesync" || problem "/etc/cron.d/queuesync does not mail root"

if ! in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q queuesync >"$work/purge.log" 2>&1; then
	cat "$work/purge.log" >&2
	problem "apt-get purge queuesync failed"
fi
snapshot >"$work/after"
left=$(comm -13 "$work/before" "$work/after")
gone=$(comm -23 "$work/before" "$work/after")
[ -z "$left" ] || problem "apt purge left: $(echo $left)"
[ -z "$gone" ] || problem "install and purge removed: $(echo $gone)"
in_root getent passwd queuesync >/dev/null || problem "purge removed the queuesync user (policy keeps it)"

if [ "$fail" != 0 ]; then
	echo "package-install: FAILED" >&2
	exit 1
fi
echo "package-install: ok: $deb installs, verifies and purges cleanly on Debian 12"
