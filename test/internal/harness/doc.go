//go:build e2e || chaos || bench

// Package harness runs queuesync against the real testbed for the
// end-to-end tests (test/e2e), the fault-injection harness (test/chaos) and
// the benchmarks (test/bench): it reads the testbed's environment (written by
// test/testbed/testbed.sh), creates throwaway journal databases, builds the
// queuesync binary, writes each node's config, starts and stops daemons
// (SIGINT, SIGKILL, SIGSTOP/SIGCONT), runs the CLI, holds AMI sessions and
// journal connections of its own, puts TCP gates in front of the peer APIs
// and the Asterisk managers, and reads Asterisk's queue_log.
//
// A cluster has N nodes: node i is testbed Asterisk instance i with a
// database of its own, and every node names every other one as a peer, or
// those Options.Peers gives it (a chain a-b-c, say).
//
// It holds no scenario and asserts nothing: the packages that use it keep
// their scenarios and their checks. It compiles only with the build tags of
// those packages (e2e, chaos, bench), and never into the queuesync binary.
package harness
