package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
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
//
// The digests of the whole journal are computed again only when the journal
// changed (a write takes a new sequence number; this store's tombstone
// collection is counted) or they are digestMaxAge old (a write whose
// transaction commits after a later one's is seen then at the latest);
// otherwise they are the last ones. The daemon asks every health_interval,
// per peer and for each peer's GET /digest, and at 100,000 members a
// computation reads the whole journal.
func (s *Store) Digests(ctx context.Context, queues []string) ([]QueueDigest, error) {
	if len(queues) > 0 {
		return s.digests(ctx, queues)
	}
	seq, err := s.MaxSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("digest journal: %w", err)
	}
	if ds, ok := s.cache.get(seq); ok {
		return ds, nil
	}
	collected := s.cache.collections()
	ds, err := s.digests(ctx, nil)
	if err == nil {
		s.cache.put(seq, collected, ds)
	}
	return ds, err
}

// digestCache holds the digests of the whole journal at one sequence
// number and tombstone collection count.
type digestCache struct {
	mu        sync.Mutex
	at        time.Time
	seq       int64
	collected uint64 // collections when the digests were computed
	now       uint64 // collections so far
	ds        []QueueDigest
	ok        bool
}

func (c *digestCache) get(seq int64) ([]QueueDigest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ok || c.seq != seq || c.collected != c.now || time.Since(c.at) > digestMaxAge {
		return nil, false
	}
	return slices.Clone(c.ds), true
}

func (c *digestCache) put(seq int64, collected uint64, ds []QueueDigest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq, c.collected, c.ds, c.ok, c.at = seq, collected, slices.Clone(ds), true, time.Now()
}

// digestMaxAge bounds how long cached digests are used without a new write.
const digestMaxAge = 30 * time.Second

func (c *digestCache) collections() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// collected records a tombstone collection that deleted rows.
func (c *digestCache) collect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now++
}

func (s *Store) digests(ctx context.Context, queues []string) ([]QueueDigest, error) {
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
