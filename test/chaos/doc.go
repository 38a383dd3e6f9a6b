// Package chaos is queuesync's fault-injection harness: two real Asterisk 22
// nodes and PostgreSQL from the testbed (test/testbed), the queuesync binary
// built with -race from this tree, and two daemons. For each seed it plays a
// random schedule of member changes (through AMI and through the Asterisk
// CLI) interleaved with faults: peer-API partitions (both ways and one way),
// SIGKILL and restart of a daemon, Asterisk restarts with and without
// persistentmembers, cuts of the daemon's AMI connection, a PostgreSQL
// restart and clock skew of one daemon. Once every fault has healed, both
// nodes' live state and journals must equal an oracle computed from the
// changes by last writer wins.
//
// The tests carry the chaos build tag; run them with `make chaos SEEDS=N`
// (or `make chaos SEED=7` to replay one seed, `make chaos-short` in CI).
// See README.md in this directory for the oracle and its assumptions.
package chaos
