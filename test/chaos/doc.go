// Package chaos is queuesync's fault-injection harness: real Asterisk 22
// nodes and PostgreSQL from the testbed (test/testbed), the queuesync binary
// built with -race from this tree, and a daemon per node, as a pair or as a
// chain of three. For each seed it plays a random schedule of member changes
// (through AMI and through the Asterisk CLI) interleaved with faults:
// peer-API partitions, SIGKILL and SIGSTOP of a daemon, Asterisk restarts
// with and without persistentmembers (some with changes going on
// meanwhile), app_queue reloads, cuts of the daemon's AMI connection,
// PostgreSQL restarts and crashes, slow lossy links, clock skew of one
// daemon, and in the chain the hub down. Once every fault has healed, every
// node's live state and journal must equal an oracle computed from the
// changes by last writer wins.
//
// The tests carry the chaos build tag; run them with `make chaos SEEDS=N`
// (or `make chaos SEED=7` to replay one seed, `make chaos-short` in CI).
// See README.md in this directory for the oracle and its assumptions.
package chaos
