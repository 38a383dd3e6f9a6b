package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/internal/state"
)

// putSQL is the conditional upsert of one register. The shared advisory lock
// is taken (in a materialized CTE, so before nextval) for the rest of the
// transaction: Since takes it exclusively, so it never reads while a smaller
// sequence number is still uncommitted. The WHERE clause is the conflict
// rule, evaluated by the database: only a strictly newer (stamp, origin),
// origins compared byte-wise, replaces the row. When the write has a source
// ($24), the same statement records it in the history (historyCTE), with
// the row it replaced, so that the history never disagrees with the journal.
const putSQL = `WITH lk AS MATERIALIZED (
	SELECT pg_advisory_xact_lock_shared(` + lockKey + `, 0)
), ` + historyOldCTE + `, up AS (
` + journalInsert + `
SELECT $2::text, $3::text, $4::text, $5::text, $6::text,
	$7::bool, $8::text, $9::text, $10::int, $11::bool, $12::text,
	$13::bool, $14::text, $15::bigint, $16::bigint, $17::text, $18::bool, $19::text,
	$20::int, $21::bytea, $22::bytea, $23::bytea,
	nextval('queue_sync_seq'), now()
FROM lk, (SELECT count(*) FROM old) AS o
` + journalUpsert + `
RETURNING seq, updated_at
), ` + historyCTE + `
SELECT seq, updated_at FROM up`

// journalInsert and journalUpsert are the write of one journal row and the
// conflict rule putSQL and putSetSQL share: only a strictly newer (stamp,
// origin), origins compared byte-wise, replaces a row.
const journalInsert = `INSERT INTO attribute_state AS a (class, queue_key, iface_key, queue, interface,
	present, member_name, state_interface, penalty, paused, paused_reason,
	ringinuse, membership, stamp_wall, stamp_logical, origin, pending, via,
	wrapuptime, member_name_bytes, state_interface_bytes, paused_reason_bytes,
	seq, updated_at)`

const journalUpsert = `ON CONFLICT (class, queue_key, iface_key) DO UPDATE SET
	queue = EXCLUDED.queue, interface = EXCLUDED.interface,
	present = EXCLUDED.present, member_name = EXCLUDED.member_name,
	state_interface = EXCLUDED.state_interface, penalty = EXCLUDED.penalty,
	paused = EXCLUDED.paused, paused_reason = EXCLUDED.paused_reason,
	ringinuse = EXCLUDED.ringinuse, membership = EXCLUDED.membership,
	stamp_wall = EXCLUDED.stamp_wall, stamp_logical = EXCLUDED.stamp_logical,
	origin = EXCLUDED.origin, pending = EXCLUDED.pending, via = EXCLUDED.via,
	wrapuptime = EXCLUDED.wrapuptime,
	member_name_bytes = EXCLUDED.member_name_bytes,
	state_interface_bytes = EXCLUDED.state_interface_bytes,
	paused_reason_bytes = EXCLUDED.paused_reason_bytes,
	seq = EXCLUDED.seq, updated_at = EXCLUDED.updated_at, acted_at = NULL
WHERE (EXCLUDED.stamp_wall, EXCLUDED.stamp_logical, EXCLUDED.origin COLLATE "C")
	> (a.stamp_wall, a.stamp_logical, a.origin COLLATE "C")`

const getSQL = `SELECT ` + entryColumns + ` FROM attribute_state
WHERE class = $1 AND queue_key = $2 AND iface_key = $3`

// maxPutAttempts bounds Put's retries when the row that beat it vanished
// (collected) before it could be read back.
const maxPutAttempts = 3

// Put writes r if its version (stamp, origin) is newer than the stored one.
// The comparison is made by the database, so concurrent writers can never
// regress a register. When r is written, stored is true and cur is the new
// entry; when it is older than or equal to the stored version, stored is
// false and cur is the stored entry.
func (s *Store) Put(ctx context.Context, r state.Register, o PutOptions) (stored bool, cur Entry, err error) {
	if err := validRegister(r); err != nil {
		return false, Entry{}, err
	}
	for range maxPutAttempts {
		stored, cur, err = s.putOnce(ctx, r, o)
		if !errors.Is(err, ErrNotFound) {
			break
		}
	}
	if err != nil {
		return false, Entry{}, fmt.Errorf("put %s: %w", r.Key(), err)
	}
	return stored, cur, nil
}

func (s *Store) putOnce(ctx context.Context, r state.Register, o PutOptions) (bool, Entry, error) {
	e := Entry{Register: r, Pending: o.Pending, Via: o.Via}
	err := s.db.QueryRow(ctx, putSQL, s.putArgs(r, o)...).Scan(&e.Seq, &e.Updated)
	if err == nil {
		return true, e, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return false, Entry{}, err
	}
	cur, ok, err := s.get(ctx, r.Key())
	if err == nil && !ok {
		err = ErrNotFound
	}
	return false, cur, err
}

// validRegister checks what the journal cannot store: an empty key, a key
// that is not UTF-8 (keys are compared lower-cased as text), or a NUL, which
// no PostgreSQL text or Asterisk value can hold. Any other byte is stored
// (see putArgs).
func validRegister(r state.Register) error {
	switch {
	case strings.TrimSpace(r.Queue) == "" || strings.TrimSpace(r.Interface) == "":
		return fmt.Errorf("put %q/%q: %w: queue and interface are required", r.Queue, r.Interface, ErrInvalidRegister)
	case !utf8.ValidString(r.Queue) || !utf8.ValidString(r.Interface):
		return fmt.Errorf("put %q/%q: %w: queue and interface must be UTF-8", r.Queue, r.Interface, ErrInvalidRegister)
	case strings.ContainsRune(r.Queue+r.Interface+r.MemberName+r.StateInterface+r.PausedReason+r.Origin, 0):
		return fmt.Errorf("put %q/%q: %w: a value holds NUL", r.Queue, r.Interface, ErrInvalidRegister)
	}
	return nil
}

// PutMany writes each register as Put does, in one statement over arrays
// (one transaction), and returns one result per register, in
// order. Registers that lose are read back in a second batch, so their
// Current is the one stored after the whole batch. A register listed twice is
// applied in order: the later one is stored only if newer. A register that
// cannot be journalled at all gets its Err and changes nothing; the others
// are written.
func (s *Store) PutMany(ctx context.Context, regs []state.Register, o PutOptions) ([]PutResult, error) {
	res := make([]PutResult, len(regs))
	var good []state.Register
	var at []int // index in regs of each good register
	for i, r := range regs {
		if res[i].Err = validRegister(r); res[i].Err == nil {
			good, at = append(good, r), append(at, i)
		}
	}
	if len(good) == 0 {
		return res, nil
	}
	put, err := s.putGood(ctx, good, o)
	if err != nil {
		return nil, fmt.Errorf("put %d registers: %w", len(good), err)
	}
	if err := s.readBackLosers(ctx, good, put); err != nil {
		return nil, fmt.Errorf("put %d registers: %w", len(good), err)
	}
	for j, i := range at {
		res[i] = put[j]
	}
	return res, nil
}

// putGood writes valid registers: in one statement when there are several
// of distinct keys (putSet), else one statement per register, in order. A
// single register, the live path's write, takes the one-register statement:
// for one row the set statement costs PostgreSQL more to plan than it saves
// (0.43 against 0.29 ms a write, BenchmarkPutManyOne).
func (s *Store) putGood(ctx context.Context, regs []state.Register, o PutOptions) ([]PutResult, error) {
	if len(regs) > 1 && distinctKeys(regs) {
		return s.putSet(ctx, regs, o)
	}
	return s.putBatch(ctx, regs, o)
}

func (s *Store) putBatch(ctx context.Context, regs []state.Register, o PutOptions) ([]PutResult, error) {
	b := &pgx.Batch{}
	res := make([]PutResult, len(regs))
	for i, r := range regs {
		res[i].Current = Entry{Register: r, Pending: o.Pending, Via: o.Via}
		e := &res[i]
		b.Queue(putSQL, s.putArgs(r, o)...).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&e.Current.Seq, &e.Current.Updated)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			e.Stored = err == nil
			return err
		})
	}
	return res, s.pool.SendBatch(ctx, b).Close()
}

// readBackLosers replaces the entry of every register that was not stored
// by the stored one, read in one query.
func (s *Store) readBackLosers(ctx context.Context, regs []state.Register, res []PutResult) error {
	var keys []state.Key
	for i := range res {
		if !res[i].Stored {
			keys = append(keys, regs[i].Key())
		}
	}
	if len(keys) == 0 {
		return nil
	}
	cur, err := s.GetMany(ctx, keys)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	for i := range res {
		if res[i].Stored {
			continue
		}
		e, ok := cur[regs[i].Key()]
		if !ok {
			return fmt.Errorf("read back %s: %w", regs[i].Key(), ErrNotFound)
		}
		res[i].Current = e
	}
	return nil
}

// Settle clears the pending flag of key k if its stored version is still v.
// It does not take a new sequence number: settling is not a change. A key
// whose version moved on, or that is absent, is left alone.
func (s *Store) Settle(ctx context.Context, k state.Key, v state.Version) error {
	_, err := s.db.Exec(ctx, settleSQL, s.class, k.Queue, k.Interface, v.Stamp.Wall, int64(v.Stamp.Logical), v.Origin)
	if err != nil {
		return fmt.Errorf("settle %s: %w", k, err)
	}
	return nil
}

// SettleMany is Settle for many registers in one statement: it clears the
// pending flag of each register whose stored version is still its own.
func (s *Store) SettleMany(ctx context.Context, regs []state.Register) error {
	switch len(regs) {
	case 0:
		return nil
	case 1: // the live path's settle: the one-register statement is quicker (see putGood)
		return s.Settle(ctx, regs[0].Key(), regs[0].Version())
	}
	if err := s.settleSet(ctx, regs); err != nil {
		return fmt.Errorf("settle %d registers: %w", len(regs), err)
	}
	return nil
}

// Get returns the entry stored under k; ok is false when there is none.
func (s *Store) Get(ctx context.Context, k state.Key) (e Entry, ok bool, err error) {
	e, ok, err = s.get(ctx, k)
	if err != nil {
		return Entry{}, false, fmt.Errorf("get %s: %w", k, err)
	}
	return e, ok, nil
}

func (s *Store) get(ctx context.Context, k state.Key) (Entry, bool, error) {
	e, err := scanEntry(s.db.QueryRow(ctx, getSQL, s.class, k.Queue, k.Interface))
	if errors.Is(err, pgx.ErrNoRows) {
		return Entry{}, false, nil
	}
	return e, err == nil, err
}

// Analyze refreshes PostgreSQL's statistics of the journal and history
// tables. Until they are gathered (autovacuum may take a minute), plans made
// for a journal that was empty stay in use after it filled: after a first
// reconcile of 10,000 members, the first batches of writes took 1.2 s
// instead of 30 ms.
func (s *Store) Analyze(ctx context.Context) error {
	if _, err := s.db.Exec(ctx, `ANALYZE attribute_state, queue_sync_history`); err != nil {
		return fmt.Errorf("analyze journal: %w", err)
	}
	return nil
}

// GetMany returns the entries stored under keys, in one round trip; a key
// the journal does not hold is absent from the map.
func (s *Store) GetMany(ctx context.Context, keys []state.Key) (map[state.Key]Entry, error) {
	qs, is := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		qs[i], is[i] = k.Queue, k.Interface
	}
	es, err := s.queryEntries(ctx, "get members", `SELECT `+entryColumns+` FROM attribute_state
		JOIN unnest($2::text[], $3::text[]) AS k(q, i) ON queue_key = k.q AND iface_key = k.i
		WHERE class = $1`, s.class, qs, is)
	if err != nil {
		return nil, err
	}
	out := make(map[state.Key]Entry, len(es))
	for _, e := range es {
		out[e.Key()] = e
	}
	return out, nil
}

// List returns the entries (tombstones included) of the given queues,
// matched case-insensitively, or of every queue when queues is empty,
// ordered by queue key then interface key.
func (s *Store) List(ctx context.Context, queues []string) ([]Entry, error) {
	var out []Entry
	if err := s.ListEach(ctx, queues, func(e Entry) { out = append(out, e) }); err != nil {
		return nil, err
	}
	return out, nil
}

// ListEach calls each with every entry List would return, in the same
// order, as the rows arrive: the caller keeps what it needs without the
// whole journal held twice.
func (s *Store) ListEach(ctx context.Context, queues []string, each func(Entry)) error {
	var keys []string
	for _, q := range queues {
		keys = append(keys, state.NewKey(q, "").Queue)
	}
	rows, err := s.db.Query(ctx, `SELECT `+entryColumns+` FROM attribute_state
		WHERE class = $1 AND ($2::text[] IS NULL OR queue_key = ANY($2))
		ORDER BY queue_key, iface_key`, s.class, keys)
	if err != nil {
		return fmt.Errorf("list journal: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return fmt.Errorf("list journal: %w", err)
		}
		each(e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list journal: %w", err)
	}
	return nil
}

// ListPending returns the entries whose pending flag is set, in sequence
// order.
func (s *Store) ListPending(ctx context.Context) ([]Entry, error) {
	return s.queryEntries(ctx, "list pending", `SELECT `+entryColumns+` FROM attribute_state
		WHERE class = $1 AND pending ORDER BY seq`, s.class)
}

// queryEntries runs a query of entryColumns and collects its rows; what
// names the operation in errors.
func (s *Store) queryEntries(ctx context.Context, what, sql string, args ...any) ([]Entry, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	es, err := collectEntries(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return es, nil
}

const settleSQL = `WITH st AS (UPDATE attribute_state SET pending = false, updated_at = now(), acted_at = now()
	WHERE class = $1 AND queue_key = $2 AND iface_key = $3
	AND stamp_wall = $4 AND stamp_logical = $5 AND origin = $6 AND pending
	RETURNING seq)
` + historySettled

// ListUnplain returns the present entries whose member name, state
// interface or pause reason is not plain text (kept as bytes): Asterisk
// sends no events for such members, so the daemon reads them now and then.
func (s *Store) ListUnplain(ctx context.Context) ([]Entry, error) {
	return s.queryEntries(ctx, "list members without events", `SELECT `+entryColumns+` FROM attribute_state
		WHERE class = $1 AND present AND (member_name_bytes IS NOT NULL
			OR state_interface_bytes IS NOT NULL OR paused_reason_bytes IS NOT NULL)
		ORDER BY queue_key, iface_key`, s.class)
}
