#!/usr/bin/env bash
# check.sh: build the deb and rpm packages with goreleaser (snapshot), unpack
# the amd64 deb and check that every file an operator expects is in it, with
# its mode, that the config files are conffiles, that the maintainer scripts
# are there and parse, and that the packaged binary runs. `make package-test`
# runs it; it exits non-zero naming every problem.
#
#   GORELEASER  how to run goreleaser (default: go run ...goreleaser/v2@v2.15.1)
#   SKIP_BUILD=1  check the packages already in dist/ (no goreleaser run)
set -euo pipefail
cd "$(dirname "$0")/../.."
GORELEASER=${GORELEASER:-go run github.com/goreleaser/goreleaser/v2@v2.15.1}

fail=0
problem() { printf 'package-test: %s\n' "$*" >&2; fail=1; }

command -v dpkg-deb >/dev/null || { echo "package-test: dpkg-deb is missing (apt-get install dpkg)" >&2; exit 1; }

$GORELEASER check
if [ "${SKIP_BUILD:-}" != 1 ]; then
	$GORELEASER release --snapshot --clean --skip=publish
fi

debs=(dist/queuesync_*_linux_amd64.deb)
[ -f "${debs[0]}" ] || { echo "package-test: no amd64 deb in dist/" >&2; exit 1; }
deb=${debs[0]}
for a in amd64 arm64; do
	for f in "dist/queuesync_*_linux_$a.deb" "dist/queuesync_*_linux_$a.rpm" "dist/queuesync_*_linux_$a.tar.gz"; do
		compgen -G "$f" >/dev/null || problem "missing $f"
	done
done

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root/fs"
dpkg-deb -e "$deb" "$root/control"

# path mode: every file the package must install.
expect=(
	"/usr/bin/queuesync 755"
	"/etc/queuesync/queuesync.yaml 644"
	"/etc/cron.d/queuesync 644"
	"/etc/logrotate.d/queuesync 644"
	"/usr/lib/systemd/system/queuesync.service 644"
	"/usr/share/bash-completion/completions/queuesync 644"
	"/usr/share/zsh/vendor-completions/_queuesync 644"
	"/usr/share/fish/vendor_completions.d/queuesync.fish 644"
	"/usr/share/man/man7/queuesync-peer-api.7.gz 644"
	"/usr/share/man/man5/queuesync.yaml.5.gz 644"
	"/usr/lib/queuesync/cron-resync 755"
	"/usr/share/doc/queuesync/README.md 644"
	"/usr/share/doc/queuesync/copyright 644"
)
for page in man/queuesync*.1; do
	expect+=("/usr/share/man/man1/$(basename "$page").gz 644")
done
for cmd in "" -status -log -config-check -resync -daemon -version; do
	[ -f "man/queuesync$cmd.1" ] || problem "man/queuesync$cmd.1 is not generated (make man)"
done
for e in "${expect[@]}"; do
	path=${e% *} mode=${e#* }
	if [ ! -f "$root/fs$path" ]; then
		problem "$deb lacks $path"
	elif [ "$(stat -c %a "$root/fs$path")" != "$mode" ]; then
		problem "$path has mode $(stat -c %a "$root/fs$path"), want $mode"
	fi
done

for c in /etc/queuesync/queuesync.yaml /etc/cron.d/queuesync /etc/logrotate.d/queuesync; do
	grep -qx "$c" "$root/control/conffiles" 2>/dev/null || problem "$c is not a conffile"
done
for s in postinst prerm postrm; do
	if [ ! -x "$root/control/$s" ]; then
		problem "the deb has no $s script"
	elif ! sh -n "$root/control/$s"; then
		problem "$s does not parse"
	fi
done
grep -q 'useradd --system' "$root/control/postinst" 2>/dev/null || problem "postinst does not create the queuesync user"
grep -q 'queue_sync.log' "$root/control/postinst" 2>/dev/null || problem "postinst does not create the sync log"
grep -q 'purge' "$root/control/postrm" 2>/dev/null || problem "postrm does nothing on purge"

unit=$root/fs/usr/lib/systemd/system/queuesync.service
for want in 'User=queuesync' 'ExecStart=/usr/bin/queuesync daemon' 'ExecReload=/usr/bin/queuesync reload' \
	'Type=notify' 'RestartPreventExitStatus=2' 'RuntimeDirectory=queuesync' 'Restart=on-failure' 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ReadWritePaths=/var/log' \
	'PrivateTmp=yes' 'ProtectHome=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'; do
	grep -qF "$want" "$unit" 2>/dev/null || problem "queuesync.service lacks $want"
done
if command -v systemd-analyze >/dev/null && [ -f "$unit" ]; then
	out=$(systemd-analyze verify "$unit" 2>&1 | grep -v -e 'Failed to prepare filename' -e 'not executable' -e 'Command /usr/bin/queuesync' -e "Command 'man " || true)
	[ -z "$out" ] || problem "systemd-analyze verify queuesync.service: $out"
fi
grep -Eq '^\*/5 \* \* \* \* queuesync .*/usr/lib/queuesync/cron-resync$' "$root/fs/etc/cron.d/queuesync" 2>/dev/null ||
	problem "/etc/cron.d/queuesync does not run cron-resync every 5 minutes as queuesync"
grep -q '^MAILTO=root$' "$root/fs/etc/cron.d/queuesync" 2>/dev/null || problem "/etc/cron.d/queuesync does not mail root"
test/package/cron_test.sh "$root/fs/usr/lib/queuesync/cron-resync" || problem "cron-resync does not behave (see above)"
grep -q '/var/log/queue_sync.log' "$root/fs/etc/logrotate.d/queuesync" 2>/dev/null ||
	problem "/etc/logrotate.d/queuesync does not rotate /var/log/queue_sync.log"

bin=$root/fs/usr/bin/queuesync
if [ -x "$bin" ]; then
	v=$("$bin" version) || problem "queuesync version failed"
	case $v in *"-next (commit "*go1.*) ;; *) problem "queuesync version printed: $v" ;; esac
	rc=0
	"$bin" config check --config "$root/fs/etc/queuesync/queuesync.yaml" >/dev/null 2>&1 || rc=$?
	[ "$rc" = 2 ] || problem "config check of the example config (its secret files absent) exited $rc, want 2"
fi

if [ "$fail" != 0 ]; then
	echo "package-test: FAILED" >&2
	exit 1
fi
# Install it into a clean Debian 12, check, purge (needs root and
# debootstrap; SKIP_INSTALL=1 skips it).
if [ "${SKIP_INSTALL:-}" != 1 ]; then
	test/package/install.sh "$deb"
fi
echo "package-test: ok: $deb holds ${#expect[@]} expected files; deb, rpm and tar.gz built for amd64 and arm64"
