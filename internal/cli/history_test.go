package cli

import (
	"context"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

var _ HistoryReader = (*store.Store)(nil)

// fakeHistory serves fixed entries and keeps the last query.
type fakeHistory struct {
	entries []store.HistoryEntry
	query   store.HistoryQuery
}

func (f *fakeHistory) History(_ context.Context, q store.HistoryQuery) ([]store.HistoryEntry, error) {
	f.query = q
	return f.entries, nil
}

// historyFixture: Alice paused on sop1 (seen here in an AMI event), unpaused
// on sop2 (applied here), then put back after a restart; a Latin-1 name.
func historyFixture() []store.HistoryEntry {
	at := func(sec int) state.Stamp {
		return state.Stamp{Wall: testNow.Add(time.Duration(sec) * time.Second).UnixMilli()}
	}
	alice := state.Register{Queue: "sales", Interface: "PJSIP/1001", Present: true, MemberName: "Alice",
		Membership: state.Dynamic, Stamp: at(-600), Origin: "sop1"}
	paused := alice
	paused.Paused, paused.PausedReason, paused.Stamp = true, "lunch", at(-300)
	unpaused := alice
	unpaused.Stamp, unpaused.Origin = at(-60), "sop2"
	jose := state.Register{Queue: "support", Interface: "Local/1002@agents", Present: true, MemberName: "Jos\xe9",
		Membership: state.Dynamic, Stamp: at(-30), Origin: "sop2"}
	rec := func(sec int) time.Time { return testNow.Add(time.Duration(sec) * time.Second) }
	return []store.HistoryEntry{
		{ID: 1, Recorded: rec(-300), Source: store.SourceAMI, Result: store.ResultJournalled, Old: &alice, New: paused},
		{ID: 2, Recorded: rec(-59), Source: store.PeerSource("sop2"), Result: store.ResultApplied, Old: &paused, New: unpaused},
		{ID: 3, Recorded: rec(-10), Source: store.SourceRestore, Result: store.ResultApplied, Old: &state.Register{Queue: "sales", Interface: "PJSIP/1001"}, New: unpaused},
		{ID: 4, Recorded: rec(-29), Source: store.PeerSource("sop2"), Result: store.ResultApplied, New: jose},
	}
}

func TestHistory(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts historyOptions
		ext  string
	}{
		{"all", historyOptions{}, ".golden"},
		{"json", historyOptions{JSON: true}, ".json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, out, _ := testDeps(nil)
			f := &fakeHistory{entries: historyFixture()}
			if err := runHistory(t.Context(), d, &tt.opts, f); err != nil {
				t.Fatal(err)
			}
			golden(t, "history/"+tt.name+tt.ext, out.String())
		})
	}
}

func TestHistoryQuery(t *testing.T) {
	d, _, _ := testDeps(nil)
	f := &fakeHistory{}
	o := historyOptions{Queue: "sales", Member: "PJSIP/1001", Since: time.Hour, Lines: 5}
	if err := runHistory(t.Context(), d, &o, f); err != nil {
		t.Fatal(err)
	}
	want := store.HistoryQuery{Queue: "sales", Interface: "PJSIP/1001", Since: testNow.Add(-time.Hour), Limit: 5}
	if f.query != want {
		t.Errorf("query = %+v, want %+v", f.query, want)
	}
}
