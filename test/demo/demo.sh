#!/usr/bin/env bash
# demo.sh: two real Asterisk nodes (sop1 = ast0, sop2 = ast1), PostgreSQL and
# two queuesync daemons on this machine; members are changed on both sides,
# then `queuesync resync -v` makes the nodes agree. Run it with `make demo`.
set -euo pipefail
cd "$(dirname "$0")/../.."
TB=test/testbed/testbed.sh
QS=$PWD/bin/queuesync
DIR=${QS_DEMO_DIR:-/tmp/queuesync-demo}
set -a; eval "$($TB env)"; set +a

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { for i in 0 1; do echo "--- sop$((i + 1)) (ast$i): queue $1"; $TB rx "$i" "queue show $1" | grep -E 'Local/|No Members' || true; done; }

cleanup() {
	for f in "$DIR"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
}
trap cleanup EXIT

say "setting up two nodes in $DIR"
rm -rf "$DIR"; mkdir -p "$DIR"
printf '%s\n' "$QS_AMI_SECRET" >"$DIR/ami.secret"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/peer.secret"
chmod 600 "$DIR"/*.secret
base=${QUEUESYNC_TEST_DATABASE%/*}
for i in 0 1; do
	n=sop$((i + 1)); o=sop$((2 - i)); port=$((18038 + i)); oport=$((18039 - i)); wport=$((18048 + i))
	psql -q "$QUEUESYNC_TEST_DATABASE" -c "DROP DATABASE IF EXISTS demo_$n WITH (FORCE)" -c "CREATE DATABASE demo_$n"
	ami_var=QS_AST${i}_AMI
	cat >"$DIR/$n.yaml" <<YAML
node: $n
ami:
  address: ${!ami_var}
  username: $QS_AMI_USER
  secret_file: $DIR/ami.secret
database:
  url: $base/demo_$n?sslmode=disable
listen: 127.0.0.1:$port
web_listen: 127.0.0.1:$wport
peers:
  - name: $o
    url: http://127.0.0.1:$oport
    secret_file: $DIR/peer.secret
    queues: all
log_file: $DIR/$n-queue_sync.log
YAML
	$QS migrate --config "$DIR/$n.yaml"
done

say "clearing the demo queues (sales, support) on both nodes"
for i in 0 1; do
	for q in sales support; do
		$TB rx "$i" "queue show $q" | grep '(dynamic)' | grep -o 'Local/[0-9]*@agents' | sort -u |
			while read -r m; do $TB rx "$i" "queue remove member $m from $q" >/dev/null; done || true
	done
done

say "starting both daemons"
for n in sop1 sop2; do
	$QS daemon --config "$DIR/$n.yaml" >"$DIR/$n-daemon.log" 2>&1 &
	echo $! >"$DIR/$n.pid"
done
for port in 18038 18039; do
	for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done
sleep 0.5
say "status pages (open them in a browser; they update themselves every second)"
echo "sop1: http://127.0.0.1:18048/"
echo "sop2: http://127.0.0.1:18049/"

say "live: Alice logs in to sales on sop1 and pauses for lunch (Asterisk CLI, no queuesync involved)"
$TB rx 0 'queue add member Local/1001@agents to sales penalty 2 as Alice state_interface Custom:1001'
$TB rx 0 'queue pause member Local/1001@agents queue sales reason lunch'
sleep 0.3
show sales

say "sop2's daemon goes down (maintenance); the agents keep working on both nodes"
curl -fsS -o /dev/null http://127.0.0.1:18048/api/v1/queues || true # sop1's page has seen sop2
kill "$(cat "$DIR/sop2.pid")"; rm -f "$DIR/sop2.pid"; sleep 0.5
$TB rx 1 'queue add member Local/1002@agents to support penalty 4 as Bob'
$TB rx 1 'queue add member Local/1003@agents to sales penalty 0 as Carol'
$TB rx 0 'queue unpause member Local/1001@agents queue sales'
$TB rx 0 'queue set penalty 1 on Local/1001@agents in sales'
show sales
show support
echo "sop1's page now shows sop2 unreachable, and Alice's unpause and penalty as differences"
echo "with what sop2 held when last seen: http://127.0.0.1:18048/"
sleep 1.5
if [ -n "${QS_DEMO_SCREENSHOT:-}" ] && command -v chromium >/dev/null; then
	chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
		--disable-sync --no-first-run --user-data-dir="$DIR/chromium" --hide-scrollbars --window-size=1100,1000 \
		--virtual-time-budget=4000 --screenshot="$QS_DEMO_SCREENSHOT" http://127.0.0.1:18048/ 2>/dev/null &&
		echo "screenshot of sop1's page: $QS_DEMO_SCREENSHOT"
fi

say "queuesync resync -v on sop2 (what cron runs every 5 minutes)"
$QS resync -v --config "$DIR/sop2.yaml" || true

say "the nodes agree"
show sales
show support

say "queuesync resync -v again: nothing left to do"
$QS resync -v --config "$DIR/sop2.yaml"

say "why is Alice unpaused, and where was it decided? queuesync history on sop2"
$QS history sales --member Local/1001@agents --config "$DIR/sop2.yaml" | column -t -s $'\t'

say "sync log of sop2 ($DIR/sop2-queue_sync.log)"
cat "$DIR/sop2-queue_sync.log"
echo
echo "Stop the Asterisk nodes and PostgreSQL with: make testbed-down"
