package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
// The digests of the whole journal are kept: when the journal changed since
// (a write takes a new sequence number), only the queues written since are
// computed again. All of them are computed again after a tombstone
// collection of this store, and when the last whole computation is
// digestMaxAge old (a write whose transaction commits after a later one's
// is seen then at the latest). The daemon asks every health_interval, per
// peer and for each peer's GET /digest; at 100,000 members a whole
// computation reads the whole journal.
func (s *Store) Digests(ctx context.Context, queues []string) ([]QueueDigest, error) {
	if len(queues) > 0 {
		return s.digests(ctx, queues)
	}
	seq, err := s.MaxSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("digest journal: %w", err)
	}
	base, fresh := s.cache.get(seq)
	if fresh {
		return base.ds, nil
	}
	if base.ok {
		return s.digestsSince(ctx, base, seq)
	}
	collected := s.cache.collections()
	ds, err := s.digests(ctx, nil)
	if err == nil {
		s.cache.put(digestSet{seq: seq, collected: collected, at: time.Now(), ds: ds, ok: true})
	}
	return ds, err
}

// digestsSince brings base up to seq: the digests of the queues written
// after base.seq are computed again, the others kept.
func (s *Store) digestsSince(ctx context.Context, base digestSet, seq int64) ([]QueueDigest, error) {
	rows, err := s.db.Query(ctx, `SELECT DISTINCT queue_key FROM attribute_state
		WHERE class = $1 AND seq > $2`, s.class, base.seq)
	if err != nil {
		return nil, fmt.Errorf("digest journal: %w", err)
	}
	changed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("digest journal: %w", err)
	}
	ds := base.ds
	if len(changed) > 0 {
		fresh, err := s.digests(ctx, changed)
		if err != nil {
			return nil, err
		}
		ds = mergeDigests(base.ds, changed, fresh)
	}
	base.seq, base.ds = seq, ds
	s.cache.put(base)
	return slices.Clone(ds), nil
}

// mergeDigests returns ds with the digests of the changed queues replaced
// by fresh (a changed queue absent from fresh has no row left), in queue
// key order.
func mergeDigests(ds []QueueDigest, changed []string, fresh []QueueDigest) []QueueDigest {
	gone := make(map[string]bool, len(changed))
	for _, q := range changed {
		gone[q] = true
	}
	out := make([]QueueDigest, 0, len(ds)+len(fresh))
	for _, d := range ds {
		if !gone[d.Queue] {
			out = append(out, d)
		}
	}
	out = append(out, fresh...)
	slices.SortFunc(out, func(a, b QueueDigest) int { return strings.Compare(a.Queue, b.Queue) })
	return out
}

// digestSet is the digests of the whole journal at one sequence number.
type digestSet struct {
	seq       int64
	collected uint64    // tombstone collections when last computed whole
	at        time.Time // when last computed whole
	ds        []QueueDigest
	ok        bool
}

// digestCache holds the last digestSet and counts tombstone collections.
type digestCache struct {
	mu   sync.Mutex
	last digestSet
	now  uint64 // collections so far
}

// get returns the cached set and whether it is of seq (fresh); the set's
// ok is false when it may not be brought up to date (a collection since,
// or its whole computation is too old).
func (c *digestCache) get(seq int64) (set digestSet, fresh bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	set = c.last
	set.ds = slices.Clone(set.ds)
	if !set.ok || set.collected != c.now || time.Since(set.at) > digestMaxAge {
		return digestSet{}, false
	}
	return set, set.seq == seq
}

func (c *digestCache) put(set digestSet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	set.ds = slices.Clone(set.ds)
	c.last = set
}

// digestMaxAge bounds how long digests are brought up to date from the
// queues written since, before they are all computed again.
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

// DigestOf sums up registers as Digests sums up the journal rows holding
// them: one QueueDigest per queue key, ordered by queue key. It lets a
// process that holds a queue's whole journal (a session) compare it with a
// peer's digest without reading the journal again.
func DigestOf(regs []state.Register) []QueueDigest {
	type row struct{ iface, line string }
	byQueue := map[string][]row{}
	members := map[string]int{}
	for _, r := range regs {
		k := r.Key()
		present := "0"
		if r.Present {
			present = "1"
			members[k.Queue]++
		}
		line := k.Interface + " " + present + " " + strconv.FormatInt(r.Stamp.Wall, 10) + "." +
			strconv.FormatUint(uint64(r.Stamp.Logical), 10) + " " + r.Origin
		byQueue[k.Queue] = append(byQueue[k.Queue], row{k.Interface, line})
	}
	out := make([]QueueDigest, 0, len(byQueue))
	for _, q := range slices.Sorted(maps.Keys(byQueue)) {
		rows := byQueue[q]
		slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.iface, b.iface) })
		h := sha256.New()
		for i, r := range rows {
			if i > 0 {
				h.Write([]byte{'\n'})
			}
			h.Write([]byte(r.line))
		}
		out = append(out, QueueDigest{Queue: q, Members: members[q], Digest: hex.EncodeToString(h.Sum(nil))})
	}
	return out
}
