package store

import (
	"context"
	"fmt"

	"github.com/queuesync/queuesync/internal/state"
)

// The set statements write or settle a whole batch of registers in one
// statement over arrays, one element per register: the same rules as
// putSQL and settleSQL, row for row, without a statement per register.

// putSetInput unnests the arrays of putSetArgs into one row per register.
// putSetSQL's other CTEs read it once (materialized).
const putSetInput = `inp AS MATERIALIZED (
	SELECT * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bool[],
		$8::text[], $9::text[], $10::int[], $11::bool[], $12::text[], $13::bool[],
		$14::text[], $15::bigint[], $16::bigint[], $17::text[], $20::int[],
		$21::bytea[], $22::bytea[], $23::bytea[])
	AS t(queue_key, iface_key, queue, interface, present, member_name, state_interface,
		penalty, paused, paused_reason, ringinuse, membership, stamp_wall, stamp_logical,
		origin, wrapuptime, member_name_bytes, state_interface_bytes, paused_reason_bytes)
)`

// putSetOld is historyOldCTE for every register of the batch: the rows the
// writes may replace, read and locked in key order.
const putSetOld = `old AS MATERIALIZED (
	SELECT a.queue_key, a.iface_key, a.present,
		coalesce(a.member_name_bytes, convert_to(a.member_name, 'UTF8')) AS member_name,
		coalesce(a.state_interface_bytes, convert_to(a.state_interface, 'UTF8')) AS state_interface,
		a.penalty, a.paused,
		coalesce(a.paused_reason_bytes, convert_to(a.paused_reason, 'UTF8')) AS paused_reason,
		a.ringinuse, a.wrapuptime, a.membership, a.stamp_wall, a.stamp_logical, a.origin
	FROM attribute_state a JOIN inp ON a.queue_key = inp.queue_key AND a.iface_key = inp.iface_key
	WHERE a.class = $2 AND $24::text <> ''
	ORDER BY a.queue_key, a.iface_key
	FOR UPDATE OF a
)`

// putSetHistory is historyCTE for every stored register of the batch.
const putSetHistory = `h AS (
	` + historyInsert + `
SELECT $2::text, up.updated_at, i.queue, i.interface, i.queue_key, i.iface_key,
		$24::text, CASE WHEN $18::bool THEN 'pending' ELSE 'journalled' END, up.seq,
		i.origin, i.stamp_wall, i.stamp_logical,
		i.present, coalesce(i.member_name_bytes, convert_to(i.member_name, 'UTF8')),
		coalesce(i.state_interface_bytes, convert_to(i.state_interface, 'UTF8')), i.penalty, i.paused,
		coalesce(i.paused_reason_bytes, convert_to(i.paused_reason, 'UTF8')), i.ringinuse,
		i.wrapuptime, i.membership,
		o.present, o.member_name, o.state_interface, o.penalty, o.paused,
		o.paused_reason, o.ringinuse, o.wrapuptime, o.membership,
		o.stamp_wall, o.stamp_logical, o.origin
	FROM up JOIN inp i ON i.queue_key = up.queue_key AND i.iface_key = up.iface_key
	LEFT JOIN old o ON o.queue_key = up.queue_key AND o.iface_key = up.iface_key
	WHERE $24::text <> ''
	ORDER BY up.seq
)`

// putSetSQL is putSQL for a batch of registers of distinct keys, in key
// order (the order every writer locks rows in).
const putSetSQL = `WITH lk AS MATERIALIZED (
	SELECT pg_advisory_xact_lock_shared(` + lockKey + `, 0)
), ` + putSetInput + `, ` + putSetOld + `, up AS (
` + journalInsert + `
SELECT $2::text, i.queue_key, i.iface_key, i.queue, i.interface,
	i.present, i.member_name, i.state_interface, i.penalty, i.paused, i.paused_reason,
	i.ringinuse, i.membership, i.stamp_wall, i.stamp_logical, i.origin, $18::bool, $19::text,
	i.wrapuptime, i.member_name_bytes, i.state_interface_bytes, i.paused_reason_bytes,
	nextval('queue_sync_seq'), now()
FROM lk, (SELECT count(*) FROM old) AS o, inp i
ORDER BY i.queue_key, i.iface_key
` + journalUpsert + `
RETURNING queue_key, iface_key, seq, updated_at
), ` + putSetHistory + `
SELECT queue_key, iface_key, seq, updated_at FROM up`

// settleSetSQL is settleSQL for a batch: every register whose stored
// version is still its own is settled, and its pending history record
// applied (looked up by seq through its index).
const settleSetSQL = `WITH st AS (
	UPDATE attribute_state a SET pending = false, updated_at = now(), acted_at = now()
	FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[])
		AS k(queue_key, iface_key, stamp_wall, stamp_logical, origin)
	WHERE a.class = $1 AND a.queue_key = k.queue_key AND a.iface_key = k.iface_key
	AND a.stamp_wall = k.stamp_wall AND a.stamp_logical = k.stamp_logical
	AND a.origin = k.origin AND a.pending
	RETURNING a.seq)
UPDATE queue_sync_history h SET result = 'applied'
	WHERE h.seq = ANY (ARRAY(SELECT seq FROM st)) AND h.result = 'pending'`

// distinctKeys reports whether no two registers of regs share a key: a
// set statement can write a row only once.
func distinctKeys(regs []state.Register) bool {
	seen := make(map[state.Key]struct{}, len(regs))
	for _, r := range regs {
		k := r.Key()
		if _, dup := seen[k]; dup {
			return false
		}
		seen[k] = struct{}{}
	}
	return true
}

// putSet is putBatch in one statement, for registers of distinct keys.
func (s *Store) putSet(ctx context.Context, regs []state.Register, o PutOptions) ([]PutResult, error) {
	res := make([]PutResult, len(regs))
	at := make(map[state.Key]int, len(regs))
	for i, r := range regs {
		res[i].Current = Entry{Register: r, Pending: o.Pending, Via: o.Via}
		at[r.Key()] = i
	}
	rows, err := s.pool.Query(ctx, putSetSQL, s.putSetArgs(regs, o)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k state.Key
		var e Entry
		if err := rows.Scan(&k.Queue, &k.Interface, &e.Seq, &e.Updated); err != nil {
			return nil, err
		}
		i, ok := at[k]
		if !ok {
			return nil, fmt.Errorf("journal stored %s, which was not written", k)
		}
		res[i].Stored, res[i].Current.Seq, res[i].Current.Updated = true, e.Seq, e.Updated
	}
	return res, rows.Err()
}

// putSetArgs returns the arguments of putSetSQL: putArgs' values, one array
// per column.
func (s *Store) putSetArgs(regs []state.Register, o PutOptions) []any {
	n := len(regs)
	var (
		qk, ik, queue, iface, name, si, reason, membership, origin = mk[string](n), mk[string](n),
			mk[string](n), mk[string](n), mk[string](n), mk[string](n), mk[string](n), mk[string](n), mk[string](n)
		present, paused     = mk[bool](n), mk[bool](n)
		penalty             = mk[int32](n)
		ringinuse           = mk[*bool](n)
		wrapup              = mk[*int32](n)
		wall, logical       = mk[int64](n), mk[int64](n)
		nameB, siB, reasonB = mk[[]byte](n), mk[[]byte](n), mk[[]byte](n)
	)
	for i, r := range regs {
		k := r.Key()
		qk[i], ik[i], queue[i], iface[i] = k.Queue, k.Interface, r.Queue, r.Interface
		present[i], paused[i], penalty[i] = r.Present, r.Paused, int32(r.Penalty)
		name[i], nameB[i] = textAndBytes(r.MemberName)
		si[i], siB[i] = textAndBytes(r.StateInterface)
		reason[i], reasonB[i] = textAndBytes(r.PausedReason)
		ringinuse[i], membership[i] = r.Ringinuse, string(r.Membership)
		wall[i], logical[i], origin[i] = r.Stamp.Wall, int64(r.Stamp.Logical), r.Origin
		if r.Wrapuptime != nil {
			w := int32(*r.Wrapuptime)
			wrapup[i] = &w
		}
	}
	return []any{s.journalScope(), s.class, qk, ik, queue, iface, present,
		name, si, penalty, paused, reason,
		ringinuse, membership, wall, logical,
		origin, o.Pending, o.Via, wrapup, nameB, siB, reasonB, o.Source}
}

func mk[T any](n int) []T { return make([]T, n) }

// settleSet is SettleMany's one statement.
func (s *Store) settleSet(ctx context.Context, regs []state.Register) error {
	n := len(regs)
	qk, ik, origin := mk[string](n), mk[string](n), mk[string](n)
	wall, logical := mk[int64](n), mk[int64](n)
	for i, r := range regs {
		k := r.Key()
		qk[i], ik[i], origin[i] = k.Queue, k.Interface, r.Origin
		wall[i], logical[i] = r.Stamp.Wall, int64(r.Stamp.Logical)
	}
	_, err := s.pool.Exec(ctx, settleSetSQL, s.class, qk, ik, wall, logical, origin)
	return err
}
