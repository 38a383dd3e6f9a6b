//go:build bench

// Package bench holds queuesync's benchmark suite: two real Asterisk 22 nodes
// and a real PostgreSQL from a testbed of its own (QS_NAME=bench), the
// queuesync binary built from this tree (without the race detector), and
// benchmarks that compare queuesync with a bare-AMI or bare-HTTP baseline
// measured side by side in the same run. Run them with `make bench`; the
// figures and how to read them are in docs/benchmarks.md. No benchmark
// asserts a timing: each one reports what it measured.
package bench
