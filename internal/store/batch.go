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

// putSetOld is inp with, for every register, historyOldCTE's values of
// the row the write may replace (NULL when there is none): read and locked
// in key order, one index lookup per register. It holds a row per
// register, so the planner expects as many rows as inp, and putSetHistory
// joins it with up on a hash or merge join: a join with a CTE it expected
// to be tiny became a nested loop comparing every register with every
// replaced row (100 ms for 250 pauses on a 10,000-member journal).
const putSetOld = `old AS MATERIALIZED (
	SELECT i.*, o.*
	FROM (SELECT * FROM inp ORDER BY queue_key, iface_key) i LEFT JOIN LATERAL (
		SELECT a.present AS old_present,
			coalesce(a.member_name_bytes, convert_to(a.member_name, 'UTF8')) AS old_member_name,
			coalesce(a.state_interface_bytes, convert_to(a.state_interface, 'UTF8')) AS old_state_interface,
			a.penalty AS old_penalty, a.paused AS old_paused,
			coalesce(a.paused_reason_bytes, convert_to(a.paused_reason, 'UTF8')) AS old_paused_reason,
			a.ringinuse AS old_ringinuse, a.wrapuptime AS old_wrapuptime, a.membership AS old_membership,
			a.stamp_wall AS old_stamp_wall, a.stamp_logical AS old_stamp_logical, a.origin AS old_origin
		FROM attribute_state a
		WHERE a.class = $2 AND a.queue_key = i.queue_key AND a.iface_key = i.iface_key
		AND $24::text <> ''
		FOR UPDATE OF a
	) o ON true
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
		i.old_present, i.old_member_name, i.old_state_interface, i.old_penalty, i.old_paused,
		i.old_paused_reason, i.old_ringinuse, i.old_wrapuptime, i.old_membership,
		i.old_stamp_wall, i.old_stamp_logical, i.old_origin
	FROM up JOIN old i ON i.queue_key = up.queue_key AND i.iface_key = up.iface_key
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
//
// The pending test is written coalesce(a.pending, false) on purpose.
// Pending rows exist only between a write and its settle, so the
// statistics say almost none are pending; with a plain a.pending the
// planner expected one row from attribute_state and joined it in a
// nested loop with the unnested keys as the inner side, comparing every
// pending row with every key (40 ms instead of 4 for 250 keys on a
// 10,000-member journal). The planner has no statistics for the
// expression, so it keeps the key join on the keys.
const settleSetSQL = `WITH st AS (
	UPDATE attribute_state a SET pending = false, updated_at = now(), acted_at = now()
	FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[])
		AS k(queue_key, iface_key, stamp_wall, stamp_logical, origin)
	WHERE a.class = $1 AND a.queue_key = k.queue_key AND a.iface_key = k.iface_key
	AND a.stamp_wall = k.stamp_wall AND a.stamp_logical = k.stamp_logical
	AND a.origin = k.origin AND coalesce(a.pending, false)
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
	_, err := s.pool.Exec(ctx, settleSetSQL, append([]any{s.class}, settleSetArgs(regs)...)...)
	return err
}

// settleSetArgs returns settleSetSQL's arrays (its arguments after the
// class): each register's key and version.
func settleSetArgs(regs []state.Register) []any {
	n := len(regs)
	qk, ik, origin := mk[string](n), mk[string](n), mk[string](n)
	wall, logical := mk[int64](n), mk[int64](n)
	for i, r := range regs {
		k := r.Key()
		qk[i], ik[i], origin[i] = k.Queue, k.Interface, r.Origin
		wall[i], logical[i] = r.Stamp.Wall, int64(r.Stamp.Logical)
	}
	return []any{qk, ik, wall, logical, origin}
}
