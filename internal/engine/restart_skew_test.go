package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/pkg/ami"
)

// Regression (chaos seeds 7 and 8): registers stamped ahead of the local
// clock (a peer's clock ran ahead; the hybrid clock carries its time to every
// node) must not turn an Asterisk restart's losses into local changes. The
// restart came after the registers were written, but before their stamps:
// the daemon journalled tombstones for the erased members and the stale
// astdb state of the others, and the peer applied them, so members were
// lost on both nodes.
func TestRestartWithStampsAheadOfClock(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 250e6, time.UTC)
	startup := now.Add(-5 * time.Second).Truncate(time.Second) // Asterisk restarted 5 s ago
	ahead := state.Stamp{Wall: now.Add(-8 * time.Second).Add(14 * time.Second).UnixMilli()}
	sec := startup.Unix()
	reg := func(iface string, present, paused bool, reason string, penalty int, logical uint32) state.Register {
		r := state.Register{Queue: "support", Interface: iface, Present: present, Membership: state.Dynamic,
			Stamp: state.Stamp{Wall: ahead.Wall, Logical: logical}, Origin: "sop2"}
		if present {
			r.MemberName, r.StateInterface, r.Paused, r.PausedReason, r.Penalty = iface, iface, paused, reason, penalty
		}
		return r
	}
	j := &skewJournal{entries: map[state.Key]store.Entry{}, startup: startup.Add(-time.Hour)}
	for _, r := range []state.Register{
		reg("Local/1@a", true, true, "lunch", 2, 1), // erased by the restart (no persistence)
		reg("Local/2@a", true, false, "", 3, 2),     // astdb gave back an older pause
		reg("Local/3@a", false, false, "", 0, 3),    // removed; astdb gave it back
		reg("Local/4@a", true, false, "", 1, 4),     // paused after the restart: a real change
	} {
		j.entries[r.Key()] = store.Entry{Register: r}
	}
	live := func(iface string, paused bool, reason string, penalty int, login, lastPause int64) ami.QueueMember {
		return ami.QueueMember{Queue: "support", Interface: iface, Name: iface, StateInterface: iface, Membership: "dynamic",
			Paused: paused, PausedReason: reason, Penalty: penalty, LoginTime: login, LastPause: lastPause}
	}
	a := &skewAMI{startup: startup, members: []ami.QueueMember{
		live("Local/2@a", true, "stale", 3, sec, sec),
		live("Local/3@a", false, "", 0, sec, 0),
		live("Local/4@a", true, "meeting", 1, sec, sec+4),
		live("Local/5@a", false, "", 0, sec+3, 0), // added after the restart, no register: a real change
	}}
	e := engine.New(engine.Options{Node: "sop1", AMI: a, Journal: j,
		Clock: state.NewClock(func() time.Time { return now }, time.Minute), Now: func() time.Time { return now }})
	ctx := context.Background()
	sess, err := e.Begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := sess.Reconcile(ctx)
	sess.End()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]engine.Result{}
	for _, o := range outs {
		got[o.Interface] = o.Result
	}
	want := map[string]engine.Result{"Local/1@a": engine.Restored, "Local/2@a": engine.Restored, "Local/3@a": engine.Restored,
		"Local/4@a": engine.Journalled, "Local/5@a": engine.Journalled}
	for iface, w := range want {
		if got[iface] != w {
			t.Errorf("%s: %q, want %q (all: %v)", iface, got[iface], w, got)
		}
	}
	calls := strings.Join(a.calls, "\n")
	for _, c := range []string{"add support Local/1@a paused=true reason=lunch penalty=2", "pause support Local/2@a false", "remove support Local/3@a"} {
		if !strings.Contains(calls, c) {
			t.Errorf("no %q among the actions:\n%s", c, calls)
		}
	}
	if r := j.entries[state.NewKey("support", "Local/1@a")].Register; !r.Present || r.Origin != "sop2" {
		t.Errorf("the restart's loss of Local/1@a was journalled: %+v", r)
	}
}

// skewAMI is a minimal Asterisk for TestRestartWithStampsAheadOfClock.
type skewAMI struct {
	mu      sync.Mutex
	startup time.Time
	members []ami.QueueMember
	calls   []string
}

func (a *skewAMI) QueueStatus(_ context.Context, queue, member string) (ami.QueueStatus, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	qs := ami.QueueStatus{Params: []ami.QueueParams{{Queue: "support"}}}
	for _, m := range a.members {
		if (queue == "" || strings.EqualFold(queue, m.Queue)) && (member == "" || strings.EqualFold(member, m.Interface)) {
			qs.Members = append(qs.Members, m)
		}
	}
	return qs, nil
}

func (a *skewAMI) CoreStatus(context.Context) (ami.CoreStatus, error) {
	return ami.CoreStatus{Startup: a.startup}, nil
}

func (a *skewAMI) record(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (a *skewAMI) QueueAdd(_ context.Context, r ami.QueueAddRequest) error {
	a.record("add %s %s paused=%t reason=%s penalty=%d", r.Queue, r.Interface, r.Paused, r.Reason, r.Penalty)
	return nil
}

func (a *skewAMI) QueueRemove(_ context.Context, queue, iface string) error {
	a.record("remove %s %s", queue, iface)
	return nil
}

func (a *skewAMI) QueuePause(_ context.Context, queue, iface string, paused bool, reason string) error {
	a.record("pause %s %s %t %s", queue, iface, paused, reason)
	return nil
}

func (a *skewAMI) QueuePenalty(_ context.Context, queue, iface string, penalty int) error {
	a.record("penalty %s %s %d", queue, iface, penalty)
	return nil
}

func (a *skewAMI) QueueMemberRingInUse(_ context.Context, queue, iface string, v bool) error {
	a.record("ringinuse %s %s %t", queue, iface, v)
	return nil
}

// skewJournal is an in-memory journal with the conditional upsert of the
// real one.
type skewJournal struct {
	mu      sync.Mutex
	entries map[state.Key]store.Entry
	startup time.Time
	seq     int64
}

func (j *skewJournal) List(context.Context, []string) ([]store.Entry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []store.Entry
	for _, e := range j.entries {
		out = append(out, e)
	}
	return out, nil
}

func (j *skewJournal) Get(_ context.Context, k state.Key) (store.Entry, bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.entries[k]
	return e, ok, nil
}

func (j *skewJournal) GetMany(_ context.Context, keys []state.Key) (map[state.Key]store.Entry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := map[state.Key]store.Entry{}
	for _, k := range keys {
		if e, ok := j.entries[k]; ok {
			out[k] = e
		}
	}
	return out, nil
}

func (j *skewJournal) PutMany(_ context.Context, regs []state.Register, o store.PutOptions) ([]store.PutResult, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	res := make([]store.PutResult, len(regs))
	for i, r := range regs {
		cur, ok := j.entries[r.Key()]
		if ok && !r.Newer(cur.Register) {
			res[i] = store.PutResult{Current: cur}
			continue
		}
		j.seq++
		e := store.Entry{Register: r, Seq: j.seq, Pending: o.Pending, Via: o.Via}
		j.entries[r.Key()] = e
		res[i] = store.PutResult{Stored: true, Current: e}
	}
	return res, nil
}

func (j *skewJournal) Settle(_ context.Context, k state.Key, v state.Version) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if e, ok := j.entries[k]; ok && e.Version() == v {
		e.Pending = false
		j.entries[k] = e
	}
	return nil
}

func (j *skewJournal) SettleMany(ctx context.Context, regs []state.Register) error {
	for _, r := range regs {
		if err := j.Settle(ctx, r.Key(), r.Version()); err != nil {
			return err
		}
	}
	return nil
}

func (j *skewJournal) Startup(context.Context) (time.Time, error) { return j.startup, nil }

func (j *skewJournal) SetStartup(_ context.Context, t time.Time) error { j.startup = t; return nil }
