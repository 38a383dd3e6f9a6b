// Package e2e holds queuesync's end-to-end tests: two real Asterisk 22 nodes
// and a real PostgreSQL from the testbed (test/testbed), the queuesync binary
// built from this tree, two daemons, and the scenarios of the design run
// against them. The tests carry the e2e build tag; run them with `make e2e`.
package e2e
