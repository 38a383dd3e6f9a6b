// Package store owns queuesync's journal: the attribute_state rows of class
// queue_sync in the node's PostgreSQL, one per (queue, interface) key, each
// holding the last-writer-wins register of that member, plus the per-peer
// delivery watermarks in queue_sync_peer that make the journal its own
// outbox. It also owns the embedded schema migrations and the advisory
// locks that keep one resync at a time per node.
//
// The conflict rule is enforced inside the database: every write is a
// conditional upsert that only replaces a row whose (stamp, origin) is
// older, so concurrent writers can never regress a register. Every write
// takes a fresh value of the sequence queue_sync_seq; readers of the outbox
// (Since) never see a sequence number while a smaller one is still being
// written, so a peer's watermark never skips a change.
//
// The package talks to PostgreSQL only. It must not talk to AMI or to peers,
// and it holds no policy about what to apply: callers decide, the store
// records.
//
// See docs/architecture.md §1 (journal and outbox).
package store
