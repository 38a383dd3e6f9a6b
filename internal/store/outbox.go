package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PeerStatus is the delivery state of one peer.
type PeerStatus struct {
	// Peer is the peer's node name.
	Peer string
	// Acked is the highest sequence number the peer acknowledged.
	Acked int64
	// Backlog counts the entries past Acked that did not come from the peer.
	Backlog int64
	// LastSync is the time of the last Ack; zero when never.
	LastSync time.Time
	// LastError is the message of the last failure since the last Ack.
	LastError string
}

// Since returns up to limit entries (all when limit <= 0) with a sequence
// number greater than after that were not received from peer, in sequence
// order: the changes to deliver to peer past its watermark.
//
// Since waits until no write is in flight before it reads, so every
// sequence number up to the largest returned is committed: acknowledging
// the largest one never skips a change written concurrently. The lock and
// the read go to the database as one batch, one round trip: a batch is one
// implicit transaction, which holds the lock to its end, and the read,
// executed after the lock is granted, takes its snapshot then (each
// statement of a read-committed transaction takes its own).
func (s *Store) Since(ctx context.Context, peer string, after int64, limit int) ([]Entry, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	var es []Entry
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(`+lockKey+`, 0)`, s.journalScope())
	b.Queue(`SELECT `+entryColumns+` FROM attribute_state
		WHERE class = $1 AND seq > $2 AND via <> $3 ORDER BY seq LIMIT $4`,
		s.class, after, peer, lim).Query(func(rows pgx.Rows) (err error) {
		es, err = collectEntries(rows)
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("read changes for %s since %d: %w", peer, after, err)
	}
	return es, nil
}

// MaxSeq returns the largest sequence number in the journal; 0 when empty.
func (s *Store) MaxSeq(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM attribute_state WHERE class = $1`, s.class).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("read max sequence: %w", err)
	}
	return n, nil
}

// Watermark returns the highest sequence number peer acknowledged; 0 when
// the peer is unknown.
func (s *Store) Watermark(ctx context.Context, peer string) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, `SELECT acked_seq FROM queue_sync_peer WHERE peer = $1`, peer).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read watermark of %s: %w", peer, err)
	}
	return n, nil
}

// Ack records that peer holds every change up to seq: its watermark becomes
// the greater of the old one and seq (it never moves back), its last sync
// time now, and its last error is cleared.
func (s *Store) Ack(ctx context.Context, peer string, seq int64) error {
	_, err := s.db.Exec(ctx, `INSERT INTO queue_sync_peer (peer, acked_seq, last_sync)
		VALUES ($1, $2, now())
		ON CONFLICT (peer) DO UPDATE SET
			acked_seq = GREATEST(queue_sync_peer.acked_seq, EXCLUDED.acked_seq),
			last_sync = now(), last_error = NULL`, peer, seq)
	if err != nil {
		return fmt.Errorf("ack %s at %d: %w", peer, seq, err)
	}
	return nil
}

// NoteFailure records msg as peer's last error, keeping its watermark.
func (s *Store) NoteFailure(ctx context.Context, peer string, msg string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO queue_sync_peer (peer, last_error) VALUES ($1, $2)
		ON CONFLICT (peer) DO UPDATE SET last_error = EXCLUDED.last_error`, peer, msg)
	if err != nil {
		return fmt.Errorf("note failure of %s: %w", peer, err)
	}
	return nil
}

// Peers returns the delivery state of every peer the journal has recorded
// (by Ack or NoteFailure), ordered by name.
func (s *Store) Peers(ctx context.Context) ([]PeerStatus, error) {
	rows, err := s.db.Query(ctx, `SELECT p.peer, p.acked_seq,
			(SELECT count(*) FROM attribute_state a
			 WHERE a.class = $1 AND a.seq > p.acked_seq AND a.via <> p.peer),
			p.last_sync, coalesce(p.last_error, '')
		FROM queue_sync_peer p ORDER BY p.peer`, s.class)
	if err != nil {
		return nil, fmt.Errorf("list peers: %w", err)
	}
	ps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (PeerStatus, error) {
		var (
			p    PeerStatus
			last *time.Time
		)
		err := row.Scan(&p.Peer, &p.Acked, &p.Backlog, &last, &p.LastError)
		p.LastSync = timeOrZero(last)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("list peers: %w", err)
	}
	return ps, nil
}

// CollectTombstones deletes the settled tombstones whose stamp is older than
// olderThan and returns how many it deleted. A peer that has not received a
// tombstone by then will not receive it from the outbox; a full resync still
// converges, since the member is absent on this side.
func (s *Store) CollectTombstones(ctx context.Context, olderThan time.Time) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM attribute_state
		WHERE class = $1 AND present = false AND NOT pending AND stamp_wall < $2`,
		s.class, olderThan.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("collect tombstones older than %s: %w", olderThan.Format(time.RFC3339), err)
	}
	if tag.RowsAffected() > 0 {
		s.cache.collect()
	}
	return tag.RowsAffected(), nil
}
