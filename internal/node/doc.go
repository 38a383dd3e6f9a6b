// Package node assembles a queuesync node from its validated config: the
// link to the local Asterisk, the journal, the node's hybrid clock, the
// signed peer clients, the engine, the peer API's secrets and TLS. The
// daemon and every command get their parts here, so that they cannot
// drift apart. See docs/architecture.md §5 (the package map).
package node
