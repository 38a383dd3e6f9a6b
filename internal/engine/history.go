package engine

import (
	"context"
	"fmt"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// restoreRecorder is the part of a journal that keeps the history of
// restores (store.Store). A journal without it records none.
type restoreRecorder interface {
	RecordRestores(ctx context.Context, rs []store.Restore) error
}

// liveRegister is what Asterisk holds of a member before a restore to reg,
// as a register (a tombstone when the member is missing), for the history.
func liveRegister(reg state.Register, live *state.Live) *state.Register {
	if live == nil {
		return &state.Register{Queue: reg.Queue, Interface: reg.Interface}
	}
	r := state.Observed(reg.Queue, reg.Interface, live, state.Stamp{}, "")
	return &r
}

// recordRestores records in the history every register a restore put back
// into Asterisk: a restore writes no journal row, so this is its only trace.
// A failure is logged: the restore itself succeeded.
func (s *Session) recordRestores(ctx context.Context, steps []*step) {
	rec, ok := s.e.opts.Journal.(restoreRecorder)
	if !ok || s.e.opts.DryRun {
		return
	}
	var rs []store.Restore
	for _, st := range steps {
		if st.restored == nil || st.out.Result != Restored {
			continue
		}
		r := store.Restore{Register: st.target}
		if st.restored.Present {
			r.Live = st.restored
		}
		rs = append(rs, r)
	}
	if err := rec.RecordRestores(ctx, rs); err != nil {
		s.e.opts.Log.Warn("history of restores not recorded", "err", fmt.Errorf("history: %w", err))
	}
}
