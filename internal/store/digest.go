package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/internal/state"
)

// QueueDigest sums up the journal of one queue: two nodes whose digests of
// a queue are equal hold the same version of every member of it
// (tombstones included), hence the same state.
type QueueDigest struct {
	Queue   string // the queue's key (lower case)
	Members int    // present members
	Digest  string // hex SHA-256 of every (interface key, present, stamp, origin), in key order
}

// Digests returns the digest of each queue of the journal, or of the given
// queues (matched case-insensitively), ordered by queue key. A queue with
// no journal row has no digest (see EmptyDigest).
func (s *Store) Digests(ctx context.Context, queues []string) ([]QueueDigest, error) {
	var keys []string
	for _, q := range queues {
		keys = append(keys, state.NewKey(q, "").Queue)
	}
	rows, err := s.db.Query(ctx, `SELECT queue_key, count(*) FILTER (WHERE present),
		encode(sha256(convert_to(string_agg(iface_key || ' ' || CASE WHEN present THEN '1' ELSE '0' END
			|| ' ' || stamp_wall || '.' || stamp_logical || ' ' || origin, E'\n' ORDER BY iface_key COLLATE "C"), 'UTF8')), 'hex')
		FROM attribute_state WHERE class = $1 AND ($2::text[] IS NULL OR queue_key = ANY($2))
		GROUP BY queue_key ORDER BY queue_key COLLATE "C"`, s.class, keys)
	if err != nil {
		return nil, fmt.Errorf("digest journal: %w", err)
	}
	ds, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (QueueDigest, error) {
		var d QueueDigest
		err := row.Scan(&d.Queue, &d.Members, &d.Digest)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("digest journal: %w", err)
	}
	return ds, nil
}

// EmptyDigest is the digest of a queue with no journal row.
const EmptyDigest = ""

// Undelivered returns how many journal changes wait past peer's watermark
// (not counting those received from it) and when the oldest was written
// (zero when none).
func (s *Store) Undelivered(ctx context.Context, peer string) (n int64, oldest time.Time, err error) {
	var t *time.Time
	err = s.db.QueryRow(ctx, `SELECT count(*), min(a.updated_at) FROM attribute_state a
		WHERE a.class = $1 AND a.via <> $2
		AND a.seq > coalesce((SELECT acked_seq FROM queue_sync_peer WHERE peer = $2), 0)`, s.class, peer).Scan(&n, &t)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read backlog of %s: %w", peer, err)
	}
	return n, timeOrZero(t), nil
}
