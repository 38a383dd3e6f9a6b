// Package daemon is queuesync's long-running engine: it holds the AMI session
// to the local Asterisk, serves the peer API, and applies changes received
// from peers through the engine. New builds it, Run blocks until its context
// is cancelled, Addr reports the bound address. It never touches os/signal:
// the command line owns signals, so tests can run a daemon in-process.
//
// See docs/architecture.md §4 for the path of a change through the daemon.
package daemon
