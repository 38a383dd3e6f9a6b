package store

import (
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/internal/state"
)

// Entry is a journalled register with its journal bookkeeping.
type Entry struct {
	state.Register
	// Seq is the local change sequence number of the last write.
	Seq int64
	// Pending is set by writers (PutOptions.Pending) and cleared by Settle.
	Pending bool
	// Via names the peer this version was received from; "" when local.
	Via string
	// Updated is when the row was last written or settled.
	Updated time.Time
	// Acted is when a queuesync process last acted on Asterisk for this
	// member (settled this version, or restored it); zero when none has
	// since the version was written.
	Acted time.Time
}

// PutOptions describe a write's bookkeeping.
type PutOptions struct {
	// Pending marks the written version as not yet settled (for example,
	// not yet applied to the local Asterisk); Settle clears it.
	Pending bool
	// Via names the peer the register was received from; "" when local.
	// Since never returns a version to the peer it came from.
	Via string
	// Source, when set, records every stored register in the history with
	// this source (SourceAMI, SourceResync, PeerSource(name)), in the same
	// statement as the write. "" records nothing.
	Source string
}

// PutResult is the outcome of one register of a PutMany.
type PutResult struct {
	// Err is why the register could not be journalled at all (it wraps
	// ErrInvalidRegister); the others of the batch are written regardless.
	Err error
	// Stored reports whether the register was newer and written.
	Stored bool
	// Current is the written entry when Stored, else the stored one that
	// won (as Put's cur).
	Current Entry
}

// entryColumns is the select list scanned by scanEntry. Columns that other
// classes may leave NULL are coalesced.
const entryColumns = `queue, interface, coalesce(present, false), coalesce(member_name, ''),
	coalesce(state_interface, ''), coalesce(penalty, 0), coalesce(paused, false),
	coalesce(paused_reason, ''), ringinuse, coalesce(membership, ''),
	coalesce(stamp_wall, 0), coalesce(stamp_logical, 0), coalesce(origin, ''),
	seq, pending, via, updated_at, wrapuptime,
	member_name_bytes, state_interface_bytes, paused_reason_bytes, acted_at`

// scanEntry scans one row of entryColumns.
func scanEntry(row pgx.Row) (Entry, error) {
	var (
		e                      Entry
		membership             string
		logical                int64
		name, stateIface, reas []byte
		acted                  *time.Time
	)
	r := &e.Register
	err := row.Scan(&r.Queue, &r.Interface, &r.Present, &r.MemberName,
		&r.StateInterface, &r.Penalty, &r.Paused,
		&r.PausedReason, &r.Ringinuse, &membership,
		&r.Stamp.Wall, &logical, &r.Origin,
		&e.Seq, &e.Pending, &e.Via, &e.Updated, &r.Wrapuptime,
		&name, &stateIface, &reas, &acted)
	if acted != nil {
		e.Acted = *acted
	}
	r.Membership = state.Membership(membership)
	r.Stamp.Logical = uint32(logical)
	exact(&r.MemberName, name)
	exact(&r.StateInterface, stateIface)
	exact(&r.PausedReason, reas)
	return e, err
}

// exact replaces the text column's value by the exact bytes, when the row
// holds them.
func exact(v *string, b []byte) {
	if b != nil {
		*v = string(b)
	}
}

// textAndBytes returns the column values of a value: itself and NULL when
// it is plain text, else its readable escaped form and its exact bytes.
func textAndBytes(v string) (string, []byte) {
	if state.Plain(v) {
		return v, nil
	}
	return state.Escape(v), []byte(v)
}

// collectEntries scans every row of rows.
func collectEntries(rows pgx.Rows) ([]Entry, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Entry, error) {
		return scanEntry(row)
	})
}

// putArgs returns the arguments of putSQL for register r.
func (s *Store) putArgs(r state.Register, o PutOptions) []any {
	k := r.Key()
	name, nameBytes := textAndBytes(r.MemberName)
	si, siBytes := textAndBytes(r.StateInterface)
	reason, reasonBytes := textAndBytes(r.PausedReason)
	return []any{s.journalScope(), s.class, k.Queue, k.Interface, r.Queue, r.Interface, r.Present,
		name, si, r.Penalty, r.Paused, reason,
		r.Ringinuse, string(r.Membership), r.Stamp.Wall, int64(r.Stamp.Logical),
		r.Origin, o.Pending, o.Via, r.Wrapuptime, nameBytes, siBytes, reasonBytes, o.Source}
}
