package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/internal/state"
)

// Sources of a history record: how the change reached this node.
const (
	// SourceAMI is a local change the daemon saw in an AMI event.
	SourceAMI = "ami"
	// SourceResync is a change found by a reconcile (a local change no
	// daemon saw) or pulled from a peer by a resync.
	SourceResync = "resync"
	// SourceRestore is the journal's register put back into Asterisk after
	// Asterisk lost it (a restart), with no journal write.
	SourceRestore = "restore"
)

// PeerSource is the source of a change a peer sent: "peer:<name>".
func PeerSource(name string) string { return "peer:" + name }

// Results of a history record.
const (
	// ResultJournalled: the change was recorded; Asterisk here already
	// held it, or nothing had to be done here.
	ResultJournalled = "journalled"
	// ResultPending: recorded, AMI actions to apply it here under way or
	// failed (they are retried).
	ResultPending = "pending"
	// ResultApplied: applied to the local Asterisk with AMI actions.
	ResultApplied = "applied"
	// ResultSuperseded: recorded pending, and a later journal write of the
	// member replaced it before its actions completed (an agent changed
	// the member meanwhile, or a newer change came): nothing is under way.
	// Never stored: History reads a pending record so.
	ResultSuperseded = "superseded"
)

// historyOldCTE reads, and locks, the journal row a write may replace, so
// that the history shows the exact value it replaced. It reads nothing
// when the write records no history ($24 empty).
const historyOldCTE = `old AS MATERIALIZED (
	SELECT present, coalesce(member_name_bytes, convert_to(member_name, 'UTF8')) AS member_name,
		coalesce(state_interface_bytes, convert_to(state_interface, 'UTF8')) AS state_interface,
		penalty, paused, coalesce(paused_reason_bytes, convert_to(paused_reason, 'UTF8')) AS paused_reason,
		ringinuse, wrapuptime, membership, stamp_wall, stamp_logical, origin
	FROM attribute_state
	WHERE class = $2 AND queue_key = $3 AND iface_key = $4 AND $24::text <> ''
	FOR UPDATE
)`

// historyCTE inserts the history record of a stored write (up returned
// its row) that has a source.
const historyCTE = `h AS (
	` + historyInsert + `
SELECT $2::text, up.updated_at, $5::text, $6::text, $3::text, $4::text,
		$24::text, CASE WHEN $18::bool THEN 'pending' ELSE 'journalled' END, up.seq,
		$17::text, $15::bigint, $16::bigint,
		$7::bool, coalesce($21::bytea, convert_to($8::text, 'UTF8')),
		coalesce($22::bytea, convert_to($9::text, 'UTF8')), $10::int, $11::bool,
		coalesce($23::bytea, convert_to($12::text, 'UTF8')), $13::bool, $20::int, $14::text,
		old.present, old.member_name, old.state_interface, old.penalty, old.paused,
		old.paused_reason, old.ringinuse, old.wrapuptime, old.membership,
		old.stamp_wall, old.stamp_logical, old.origin
	FROM up LEFT JOIN old ON true
	WHERE $24::text <> ''
)`

// historyInsert is the column list of a history record's insert.
const historyInsert = `INSERT INTO queue_sync_history (class, recorded_at, queue, interface, queue_key, iface_key,
		source, result, seq, origin, stamp_wall, stamp_logical,
		new_present, new_member_name, new_state_interface, new_penalty, new_paused,
		new_paused_reason, new_ringinuse, new_wrapuptime, new_membership,
		old_present, old_member_name, old_state_interface, old_penalty, old_paused,
		old_paused_reason, old_ringinuse, old_wrapuptime, old_membership,
		old_stamp_wall, old_stamp_logical, old_origin)`

// historySettled completes settleSQL: the history record of the settled
// write is now applied. st holds one row at most; compared with a scalar
// subquery, the seq is the index condition (a join with st made PostgreSQL
// walk every pending record per settle).
const historySettled = `UPDATE queue_sync_history h SET result = 'applied'
	WHERE h.seq = (SELECT seq FROM st) AND h.result = 'pending'`

// HistoryEntry is one recorded change of a member: the register before
// (Old, nil when the journal had none) and after (New, whose Stamp and
// Origin say when and on which node the change was made).
type HistoryEntry struct {
	ID       int64
	Recorded time.Time // when this node recorded it
	Source   string    // SourceAMI, SourceResync, SourceRestore or PeerSource(name)
	Result   string    // ResultJournalled, ResultPending, ResultApplied or ResultSuperseded
	Old      *state.Register
	New      state.Register
}

// Fields returns the fields the change altered, old value as Local and new
// value as Peer and Winner (state.DiffFields' rendering).
func (h HistoryEntry) Fields() []state.FieldDiff {
	return state.DiffFields(h.Old, &h.New, &h.New)
}

// Restore is one register put back into Asterisk: Live is what Asterisk
// held before (nil: the member was missing), Register what it holds now.
type Restore struct {
	Live     *state.Register
	Register state.Register
}

// HistoryQuery selects history entries. Zero fields do not filter.
type HistoryQuery struct {
	Queue     string    // compared case-insensitively
	Interface string    // compared case-insensitively
	Since     time.Time // recorded at or after
	Limit     int       // the most recent Limit entries; 0: all
}

const historyColumns = `id, recorded_at, source, result, queue, interface, origin, stamp_wall, stamp_logical,
	new_present, new_member_name, new_state_interface, new_penalty, new_paused,
	new_paused_reason, new_ringinuse, new_wrapuptime, new_membership,
	old_present, old_member_name, old_state_interface, old_penalty, old_paused,
	old_paused_reason, old_ringinuse, old_wrapuptime, old_membership,
	old_stamp_wall, old_stamp_logical, old_origin`

// History returns the entries q selects, oldest first.
func (s *Store) History(ctx context.Context, q HistoryQuery) ([]HistoryEntry, error) {
	k := state.NewKey(q.Queue, q.Interface)
	var since *time.Time
	if !q.Since.IsZero() {
		since = &q.Since
	}
	var limit *int
	if q.Limit > 0 {
		limit = &q.Limit
	}
	return s.queryHistory(ctx, "history", `SELECT * FROM (SELECT `+supersededColumns+` FROM queue_sync_history h
		WHERE class = $1 AND ($2 = '' OR queue_key = $2) AND ($3 = '' OR iface_key = $3)
		AND ($4::timestamptz IS NULL OR recorded_at >= $4)
		ORDER BY id DESC LIMIT $5) AS h ORDER BY id`, s.class, k.Queue, k.Interface, since, limit)
}

// supersededColumns are historyColumns with a pending record that a later
// journal write of its member replaced read as superseded (the later write
// changed the member's version, so the pending one can never be settled).
// Only pending records look further, through the member index.
var supersededColumns = strings.Replace(historyColumns, "result,", `CASE WHEN h.result = 'pending' AND EXISTS (
		SELECT 1 FROM queue_sync_history l WHERE l.class = h.class AND l.queue_key = h.queue_key
		AND l.iface_key = h.iface_key AND l.id > h.id AND l.seq IS NOT NULL)
		THEN 'superseded' ELSE h.result END AS result,`, 1)

// queryHistory runs a query that selects historyColumns and scans its
// rows; what names the read in an error.
func (s *Store) queryHistory(ctx context.Context, what, sql string, args ...any) ([]HistoryEntry, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	hs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (HistoryEntry, error) { return scanHistory(row) })
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return hs, nil
}

func scanHistory(row pgx.Row) (HistoryEntry, error) {
	var (
		h                   HistoryEntry
		newLogical          int64
		name, si, reason    []byte
		membership          string
		oPresent, oPaused   *bool
		oName, oSI, oReason []byte
		oPenalty, oWrap     *int
		oRing               *bool
		oMembership, oOrig  *string
		oWall, oLogical     *int64
	)
	n := &h.New
	err := row.Scan(&h.ID, &h.Recorded, &h.Source, &h.Result, &n.Queue, &n.Interface, &n.Origin,
		&n.Stamp.Wall, &newLogical, &n.Present, &name, &si, &n.Penalty, &n.Paused, &reason,
		&n.Ringinuse, &n.Wrapuptime, &membership,
		&oPresent, &oName, &oSI, &oPenalty, &oPaused, &oReason, &oRing, &oWrap, &oMembership,
		&oWall, &oLogical, &oOrig)
	if err != nil {
		return h, err
	}
	n.Stamp.Logical = uint32(newLogical)
	n.MemberName, n.StateInterface, n.PausedReason = string(name), string(si), string(reason)
	n.Membership = state.Membership(membership)
	if oPresent != nil {
		o := &state.Register{Queue: n.Queue, Interface: n.Interface, Present: *oPresent,
			MemberName: string(oName), StateInterface: string(oSI), PausedReason: string(oReason),
			Ringinuse: oRing, Wrapuptime: oWrap}
		o.Penalty, o.Paused = deref(oPenalty), deref(oPaused)
		o.Membership, o.Origin = state.Membership(deref(oMembership)), deref(oOrig)
		o.Stamp = state.Stamp{Wall: deref(oWall), Logical: uint32(deref(oLogical))}
		h.Old = o
	}
	return h, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

const restoreSQL = `INSERT INTO queue_sync_history (class, queue, interface, queue_key, iface_key,
	source, result, origin, stamp_wall, stamp_logical,
	new_present, new_member_name, new_state_interface, new_penalty, new_paused,
	new_paused_reason, new_ringinuse, new_wrapuptime, new_membership,
	old_present, old_member_name, old_state_interface, old_penalty, old_paused,
	old_paused_reason, old_ringinuse, old_wrapuptime, old_membership)
VALUES ($1, $2, $3, $4, $5, 'restore', 'applied', $6, $7, $8,
	$9, $10, $11, $12, $13, $14, $15, $16, $17,
	$18, $19, $20, $21, $22, $23, $24, $25, $26)`

// actedSQL notes that a queuesync process acted on Asterisk for a member
// (see Entry.Acted).
const actedSQL = `UPDATE attribute_state SET acted_at = now()
	WHERE class = $1 AND queue_key = $2 AND iface_key = $3`

// RecordRestores records registers put back into Asterisk (SourceRestore,
// ResultApplied) in one round trip, and notes that their members were acted
// on (Entry.Acted). A restore changes no journalled register: the history
// is its only trace.
func (s *Store) RecordRestores(ctx context.Context, rs []Restore) error {
	if len(rs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, r := range rs {
		n, k := r.Register, r.Register.Key()
		args := []any{s.class, n.Queue, n.Interface, k.Queue, k.Interface, n.Origin, n.Stamp.Wall, int64(n.Stamp.Logical),
			n.Present, []byte(n.MemberName), []byte(n.StateInterface), n.Penalty, n.Paused,
			[]byte(n.PausedReason), n.Ringinuse, n.Wrapuptime, string(n.Membership)}
		if o := r.Live; o != nil {
			args = append(args, o.Present, []byte(o.MemberName), []byte(o.StateInterface), o.Penalty, o.Paused,
				[]byte(o.PausedReason), o.Ringinuse, o.Wrapuptime, string(o.Membership))
		} else {
			args = append(args, false, nil, nil, nil, nil, nil, nil, nil, nil)
		}
		b.Queue(restoreSQL, args...)
		b.Queue(actedSQL, s.class, k.Queue, k.Interface)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record %d restores: %w", len(rs), err)
	}
	return nil
}

// CollectHistory deletes the history recorded before olderThan and, beyond
// the newest maxRows entries (0: no cap), the oldest; it returns how many
// it deleted.
func (s *Store) CollectHistory(ctx context.Context, olderThan time.Time, maxRows int) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM queue_sync_history WHERE class = $1 AND recorded_at < $2`, s.class, olderThan)
	if err != nil {
		return 0, fmt.Errorf("collect history older than %s: %w", olderThan.Format(time.RFC3339), err)
	}
	n := tag.RowsAffected()
	if maxRows <= 0 {
		return n, nil
	}
	tag, err = s.db.Exec(ctx, `DELETE FROM queue_sync_history WHERE class = $1 AND id <= (
		SELECT id FROM queue_sync_history WHERE class = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)`, s.class, maxRows)
	if err != nil {
		return n, fmt.Errorf("collect history beyond %d rows: %w", maxRows, err)
	}
	return n + tag.RowsAffected(), nil
}

// LastChanges returns the last recorded change of every member that has
// one, ordered by queue key and interface key.
//
// It looks the record up member by member, through the member index,
// from the journal's rows: its cost follows the members, not the history
// (a sort of the whole history, months of it, on every page build).
func (s *Store) LastChanges(ctx context.Context) ([]HistoryEntry, error) {
	return s.queryHistory(ctx, "last changes", `SELECT l.* FROM attribute_state a
		CROSS JOIN LATERAL (SELECT `+historyColumns+` FROM queue_sync_history
			WHERE class = a.class AND queue_key = a.queue_key AND iface_key = a.iface_key
			ORDER BY id DESC LIMIT 1) l
		WHERE a.class = $1 ORDER BY a.queue_key, a.iface_key`, s.class)
}
