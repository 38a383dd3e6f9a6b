#!/usr/bin/env bash
# testbed.sh: real Asterisk 22 instances and a throwaway PostgreSQL on 127.0.0.1
# for queuesync's end-to-end tests.
#
#   testbed.sh up [N]          build the Debian sid chroot if missing, start N Asterisk
#                              instances (default 2) and one PostgreSQL cluster
#   testbed.sh down            stop everything this script started (by pid), nothing else
#   testbed.sh env             print the environment file the tests read
#   testbed.sh rx I CMD        run an Asterisk CLI command on instance I
#   testbed.sh persist I yes|no  set persistentmembers for instance I (takes effect on restart)
#   testbed.sh restart I       'core restart now' on instance I and wait until fully booted
#   testbed.sh stop I | start I  stop or start a single instance
#   testbed.sh pg-restart      restart the PostgreSQL cluster (same port and data)
#   testbed.sh pg-kill         SIGKILL the postmaster and its backends (a crash; pg-start
#                              recovers the same data)
#   testbed.sh pg-start        start the PostgreSQL cluster again (after pg-kill)
#   testbed.sh netns-up N      N network namespaces of this testbed, each joined to the
#                              host by a veth pair (private 10.213.x.y/30 addresses);
#                              prints "NAMESPACE ADDRESS" per line; down removes them
#   testbed.sh netns-loss I PCT  drop PCT% of the packets each way on namespace I's veth
#                              (a tc classic-BPF filter; 0 removes it)
#   testbed.sh netns-down      remove this testbed's namespaces
#
# Settings (environment):
#   QS_ASTROOT    chroot directory                 (default /opt/astroot)
#   QS_STATE      state directory (pids, PG data, env) (default /tmp/queuesync-testbed)
#   QS_BASEPORT   first AMI port                   (default 5038)
#   QS_PERSIST    persistentmembers yes|no         (default yes)
#   QS_EXTRA_QUEUES  add queues q001..qNNN         (default 0)
#   QS_MIRROR     Debian mirror                    (default http://deb.debian.org/debian)
#   QS_NAME       instance name prefix, so that several testbeds can run side by
#                 side (with their own QS_STATE and QS_BASEPORT) (default qs)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ASTROOT=${QS_ASTROOT:-/opt/astroot}
STATE=${QS_STATE:-/tmp/queuesync-testbed}
BASEPORT=${QS_BASEPORT:-5038}
PERSIST=${QS_PERSIST:-yes}
EXTRA=${QS_EXTRA_QUEUES:-0}
MIRROR=${QS_MIRROR:-http://deb.debian.org/debian}
NAME=${QS_NAME:-qs}
AMIUSER=queuesync
AMISECRET=queuesync
LOCK=/tmp/queuesync-testbed.lock

log() { printf 'testbed: %s\n' "$*" >&2; }
die() { printf 'testbed: error: %s\n' "$*" >&2; exit 1; }

need_root() {
	[ "$(id -u)" = 0 ] || die "must run as root (chroot and debootstrap need it); try: sudo $0 $*"
}

# build_chroot creates $ASTROOT with Debian sid's asterisk package, once.
build_chroot() {
	[ -f "$ASTROOT/.qs-ready" ] && return 0
	log "building the Asterisk chroot in $ASTROOT (about a minute; needs $MIRROR)"
	if ! command -v debootstrap >/dev/null; then
		apt-get update -qq || die "apt-get update failed: is Debian's archive reachable?"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
			die "cannot install debootstrap with apt-get"
	fi
	rm -rf "$ASTROOT.partial"
	debootstrap --variant=minbase sid "$ASTROOT.partial" "$MIRROR" >"$STATE/debootstrap.log" 2>&1 ||
		die "debootstrap failed; see $STATE/debootstrap.log"
	local r="$ASTROOT.partial"
	printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
	chmod +x "$r/usr/sbin/policy-rc.d"
	# The sid mirror may be frozen past its Valid-Until date.
	echo 'Acquire::Check-Valid-Until "false";' >"$r/etc/apt/apt.conf.d/99no-check-valid-until"
	mount -t proc proc "$r/proc"
	local rc=0
	{
		chroot "$r" apt-get update &&
			chroot "$r" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends asterisk &&
			chroot "$r" apt-get clean
	} >"$STATE/apt.log" 2>&1 || rc=$?
	umount "$r/proc" || true
	[ "$rc" = 0 ] || die "installing asterisk in the chroot failed; see $STATE/apt.log"
	chroot "$r" /usr/sbin/asterisk -V >"$r/.qs-ready"
	rm -rf "$ASTROOT"
	mv "$r" "$ASTROOT"
	log "chroot ready: $(cat "$ASTROOT/.qs-ready")"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
	local p=$1
	while port_busy "$p"; do p=$((p + 1)); done
	echo "$p"
}

inst_dir() { echo "/srv/$NAME-ast$1"; }           # as seen inside the chroot
host_dir() { echo "$ASTROOT$(inst_dir "$1")"; }  # as seen from the host

ast() { chroot "$ASTROOT" /usr/sbin/asterisk -C "$(inst_dir "$1")/etc/asterisk.conf" "${@:2}"; }

render() {
	local i=$1 port=$2 d hd n extra=""
	d=$(inst_dir "$i")
	hd=$(host_dir "$i")
	rm -rf "$hd"
	mkdir -p "$hd"/{etc,lib,log,run,spool,cache}
	for n in $(seq 1 "$EXTRA"); do
		extra+=$(printf '[q%03d]\nstrategy = ringall\njoinempty = yes\nleavewhenempty = no\n\n' "$n")$'\n'
	done
	for f in "$here"/conf/*; do
		local out="$hd/etc/$(basename "${f%.in}")"
		sed -e "s|@DIR@|$d|g" -e "s|@NAME@|ast$i|g" -e "s|@PORT@|$port|g" \
			-e "s|@AMIUSER@|$AMIUSER|g" -e "s|@AMISECRET@|$AMISECRET|g" \
			-e "s|@PERSIST@|$PERSIST|g" "$f" >"$out"
		if grep -q '@EXTRA_QUEUES@' "$out"; then
			local tmp
			tmp=$(grep -v '@EXTRA_QUEUES@' "$out")
			printf '%s\n\n%s' "$tmp" "$extra" >"$out"
		fi
	done
}

ast_pid() {
	local pf
	pf="$(host_dir "$1")/run/asterisk.pid"
	[ -f "$pf" ] || return 1
	local pid
	pid=$(cat "$pf")
	[ -e "/proc/$pid/exe" ] || return 1
	echo "$pid"
}

wait_booted() {
	local i=$1 n
	for n in $(seq 1 100); do
		if ast "$i" -rx 'core waitfullybooted' >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	die "ast$i did not boot; see $(host_dir "$i")/log/messages.log"
}

start_one() {
	local i=$1 port
	port=$(cat "$STATE/ast$i.port")
	ast_pid "$i" >/dev/null && return 0
	ast "$i" 8>&- 9>&- </dev/null >/dev/null 2>&1 || die "ast$i failed to start"
	wait_booted "$i"
}

stop_one() {
	local i=$1 pid n
	pid=$(ast_pid "$i") || return 0
	ast "$i" -rx 'core stop now' >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
	for n in $(seq 1 50); do
		[ -e "/proc/$pid/exe" ] || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
}

# restart_one restarts instance I with 'core restart now' and returns once
# the new process (daemon mode gives it a new pid) is fully booted.
restart_one() {
	local i=$1 old n
	old=$(ast_pid "$i") || die "ast$i is not running"
	ast "$i" -rx 'core restart now' >/dev/null 2>&1 || true
	for n in $(seq 1 100); do
		local cur
		cur=$(ast_pid "$i" 2>/dev/null) || cur=""
		if [ -n "$cur" ] && [ "$cur" != "$old" ]; then
			wait_booted "$i"
			return 0
		fi
		sleep 0.1
	done
	die "ast$i did not restart within 10 s; see $(host_dir "$i")/log/messages.log"
}

pg_bin() {
	local b
	for b in /usr/lib/postgresql/*/bin; do [ -x "$b/initdb" ] && { echo "$b"; return; }; done
	die "PostgreSQL server binaries not found; install them with: apt-get install -y postgresql"
}

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_up() {
	local bin port
	bin=$(pg_bin)
	# From a port of this testbed's own (25432 for the default base port
	# 5038, 26432 for 6038...): testbeds side by side never take each
	# other's port, not even while one's PostgreSQL is stopped by a fault.
	# Below the kernel's ephemeral range (32768-60999): a client connection
	# that happened to get the port as its source port would, for the
	# minute it lingers in TIME_WAIT, keep PostgreSQL from binding it.
	port=$(free_port $((25432 + BASEPORT - 5038)))
	mkdir -p "$STATE/pg"
	[ "$(id -u)" = 0 ] && chown postgres "$STATE/pg"
	as_pg "$bin/initdb" -D "$STATE/pg/data" -U postgres --auth=trust -E UTF8 --no-sync >"$STATE/pg/initdb.log" 2>&1 ||
		die "initdb failed; see $STATE/pg/initdb.log"
	echo "$port" >"$STATE/pg.port"
	pg_start
}

pg_start() {
	local bin port
	bin=$(pg_bin)
	port=$(cat "$STATE/pg.port")
	as_pg "$bin/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/server.log" -w -t 30 \
		-o "-p $port -k $STATE/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null 9>&- 8>&- ||
		die "PostgreSQL failed to start; see $STATE/pg/server.log"
}

# pg_kill kills the postmaster with SIGKILL, as a crash would, and then the
# backends it leaves (they would hold its shared memory and keep a new
# postmaster from starting), and waits until they are gone.
pg_kill() {
	local pf=$STATE/pg/data/postmaster.pid pid kids n
	[ -f "$pf" ] || return 0
	pid=$(head -1 "$pf")
	kill -0 "$pid" 2>/dev/null || return 0
	kids=$(pgrep -P "$pid" || true)
	kill -9 "$pid" 2>/dev/null || true
	# shellcheck disable=SC2086
	[ -z "$kids" ] || kill -9 $kids 2>/dev/null || true
	for n in $(seq 1 100); do
		local alive=0 k
		for k in $pid $kids; do [ -e "/proc/$k" ] && alive=1; done
		[ "$alive" = 0 ] && return 0
		sleep 0.05
	done
	die "PostgreSQL (pid $pid) did not die"
}

pg_stop() {
	[ -f "$STATE/pg/data/postmaster.pid" ] || return 0
	as_pg "$(pg_bin)/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >/dev/null 2>&1 || true
}

# Network namespaces for links with loss. The kernel may lack netem (no
# sch_netem), so loss is a classic-BPF tc filter in direct-action mode:
# a random number below PCT% of 2^32 means TC_ACT_SHOT.
ns_name() { echo "$NAME-l$1"; }
ns_host_if() { echo "${NAME:0:8}h$1"; }
ns_if() { echo "${NAME:0:8}n$1"; }
ns_addr() { echo "10.213.$(((BASEPORT / 10) % 250)).$((4 * $1 + $2))"; } # $2: 1 host side, 2 namespace side

netns_up() {
	local n=$1 i ns
	need_root netns-up
	command -v tc >/dev/null || die "tc not found; install it with: apt-get install -y iproute2"
	netns_down
	mkdir -p "$STATE"
	for i in $(seq 0 $((n - 1))); do
		ns=$(ns_name "$i")
		echo "$i" >>"$STATE/netns"
		ip netns add "$ns"
		ip link add "$(ns_host_if "$i")" type veth peer name "$(ns_if "$i")"
		ip link set "$(ns_if "$i")" netns "$ns"
		ip addr add "$(ns_addr "$i" 1)/30" dev "$(ns_host_if "$i")"
		ip link set "$(ns_host_if "$i")" up
		ip -n "$ns" addr add "$(ns_addr "$i" 2)/30" dev "$(ns_if "$i")"
		ip -n "$ns" link set "$(ns_if "$i")" up
		ip -n "$ns" link set lo up
		ip netns exec "$ns" tc qdisc add dev "$(ns_if "$i")" clsact
		echo "$ns $(ns_addr "$i" 2)"
	done
}

netns_loss() {
	local i=$1 pct=$2 ns dev dir
	ns=$(ns_name "$i")
	dev=$(ns_if "$i")
	for dir in ingress egress; do
		ip netns exec "$ns" tc filter del dev "$dev" "$dir" 2>/dev/null || true
		[ "$pct" = 0 ] && continue
		ip netns exec "$ns" tc filter add dev "$dev" "$dir" bpf da \
			bytecode "4,32 0 0 4294963256,53 0 1 $((pct * 42949673)),6 0 0 0,6 0 0 2"
	done
}

netns_down() {
	local i
	for i in $(cat "$STATE/netns" 2>/dev/null); do
		ip netns del "$(ns_name "$i")" 2>/dev/null || true
		ip link del "$(ns_host_if "$i")" 2>/dev/null || true
	done
	rm -f "$STATE/netns"
}

write_env() {
	local n=$1 i
	{
		echo "QS_ASTROOT=$ASTROOT"
		echo "QS_STATE=$STATE"
		echo "QS_AST_COUNT=$n"
		echo "QS_AMI_USER=$AMIUSER"
		echo "QS_AMI_SECRET=$AMISECRET"
		echo "QS_TESTBED=$here/testbed.sh"
		echo "QS_NAME=$NAME"
		echo "QS_BASEPORT=$BASEPORT"
		for i in $(seq 0 $((n - 1))); do
			echo "QS_AST${i}_AMI=127.0.0.1:$(cat "$STATE/ast$i.port")"
			echo "QS_AST${i}_DIR=$(host_dir "$i")"
		done
		echo "QUEUESYNC_TEST_DATABASE=postgres://postgres@127.0.0.1:$(cat "$STATE/pg.port")/postgres?sslmode=disable"
	} >"$STATE/env.tmp"
	mv "$STATE/env.tmp" "$STATE/env"
}

cmd_up() {
	local n=${1:-2} i port
	need_root up
	mkdir -p "$STATE"
	exec 9>"$LOCK"
	flock 9
	if [ -f "$STATE/env" ]; then
		if alive; then
			log "already up (run '$0 down' first)"
			cat "$STATE/env"
			return 0
		fi
		log "found a stale testbed state in $STATE (its processes are gone); starting afresh"
		stale_cleanup
	fi
	build_chroot
	for i in $(seq 0 $((n - 1))); do
		port=$((BASEPORT + i))
		port_busy "$port" && die "port $port is in use; set QS_BASEPORT to move the AMI ports"
		echo "$port" >"$STATE/ast$i.port"
		render "$i" "$port"
		start_one "$i"
		echo "$i" >>"$STATE/instances"
		log "ast$i 127.0.0.1:$port pid=$(ast_pid "$i") dir=$(host_dir "$i")"
	done
	pg_up
	write_env "$n"
	log "$(cat "$ASTROOT/.qs-ready")"
	log "PostgreSQL 127.0.0.1:$(cat "$STATE/pg.port") data=$STATE/pg/data"
	cat "$STATE/env"
}

# alive reports whether every instance and PostgreSQL of the state dir run.
alive() {
	local i
	for i in $(cat "$STATE/instances" 2>/dev/null); do
		ast_pid "$i" >/dev/null || return 1
	done
	[ -f "$STATE/pg/data/postmaster.pid" ] && kill -0 "$(head -1 "$STATE/pg/data/postmaster.pid")" 2>/dev/null
}

stale_cleanup() {
	local i
	for i in $(cat "$STATE/instances" 2>/dev/null); do stop_one "$i"; done
	netns_down
	pg_stop
	rm -rf "$STATE"
	mkdir -p "$STATE"
}

cmd_down() {
	exec 9>"$LOCK"
	flock 9
	local i
	if [ -f "$STATE/instances" ]; then
		for i in $(cat "$STATE/instances"); do stop_one "$i"; done
	fi
	netns_down
	pg_stop
	rm -rf "$STATE"
	log "stopped"
}

main() {
	local c=${1:-}
	shift || true
	case "$c" in
	up) cmd_up "$@" ;;
	down) cmd_down ;;
	env) cat "$STATE/env" 2>/dev/null || die "not up; run: $0 up" ;;
	rx) ast "$1" -rx "$2" ;;
	persist)
		sed -i "s/^persistentmembers = .*/persistentmembers = $2/" "$(host_dir "$1")/etc/queues.conf" ;;
	restart) restart_one "$1" ;;
	stop) stop_one "$1" ;;
	start) start_one "$1" ;;
	pg-restart) pg_stop; pg_start ;;
	pg-kill) pg_kill ;;
	pg-start) pg_start ;;
	netns-up) netns_up "${1:-2}" ;;
	netns-loss) netns_loss "$1" "$2" ;;
	netns-down) netns_down ;;
	*) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; [ -z "$c" ] || exit 2 ;;
	esac
}

main "$@"
