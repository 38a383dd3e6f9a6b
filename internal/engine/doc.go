// Package engine applies queuesync's rules (architecture.md §2) to one node: it reads
// the live AMI state and the journal, journals missed local changes, restores
// what an Asterisk restart erased, merges registers received from peers by
// last writer wins and drives live state to the winners with the minimal AMI
// actions.
//
// The engine works on a Session: one consistent view of live state and
// journal, taken under the engine's lock. It does not speak HTTP and never
// decides exit codes; internal/daemon and internal/cli use it.
//
// See docs/architecture.md §2 (the rules) and §4 (sessions on the path of a change).
package engine
