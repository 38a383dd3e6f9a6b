//go:build bench

package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami"
)

// correctionSet returns 1,000 members, 200 in each of five queues from
// first, in range base: the engine's in q001..q005, the raw baseline's in
// q006..q010. Both sets of queues hold 200 of the 10,000 members too, so
// both sides work on queues of the same size; and the raw side's changes
// stay out of the engine's session (which reads whole queues).
func correctionSet(base, first int) []member {
	out := make([]member, 0, 1000)
	for q := first; q < first+5; q++ {
		for i := range 200 {
			out = append(out, member{Queue: benchQueue(q), Interface: iface(base, q, i)})
		}
	}
	return out
}

// registers returns the registers a peer (sop1) would send to make ms hold
// paused/reason (present), or to add them.
func registers(ms []member, present, paused bool, reason string, clock *state.Clock) []state.Register {
	regs := make([]state.Register, len(ms))
	for i, m := range ms {
		regs[i] = state.Register{Queue: m.Queue, Interface: m.Interface, Present: present,
			MemberName: m.Interface, StateInterface: m.Interface, Membership: state.Dynamic,
			Paused: paused, PausedReason: reason, Stamp: clock.Now(), Origin: "sop1"}
		if !paused {
			regs[i].PausedReason = ""
		}
	}
	return regs
}

// BenchmarkCorrections1000: node B must apply 1,000 corrections that node A
// sent (a batch of registers, as POST /queue/v1/changes or a pull delivers
// them), on a node that also holds the 10,000 members of the other
// benchmarks. Each iteration measures, side by side in alternating order:
//
//   - raw: the same 1,000 AMI actions (QueuePause or QueueAdd with the same
//     headers) sent at once, pipelined on one pkg/ami client, on 1,000 other
//     members of five other queues of the same size;
//   - apply: Session.Apply of the 1,000 registers (journal write, planning,
//     the AMI actions through the engine's worker pool, settle), on a
//     session already begun;
//   - session: what the daemon does for such a batch: BeginMembers (the
//     live state of the members' queues and their journal entries), Apply,
//     End.
//
// The engine runs in process on its own journal database; both daemons are
// stopped so that nothing else acts on B.
func BenchmarkCorrections1000(b *testing.B) {
	b.Run("pause", func(b *testing.B) { benchCorrections(b, false) })
	b.Run("add", func(b *testing.B) { benchCorrections(b, true) })
}

func benchCorrections(b *testing.B, add bool) {
	main := members10k()
	prepare(b, main)
	stopDaemons()
	B := bed.Nodes[1]
	E, R := correctionSet(baseE, 1), correctionSet(baseR, 6)
	start := append(append([]member(nil), main...), E...)
	start = append(start, R...)
	if add {
		start = main
	}
	ensure(b, B, start)
	defer ensure(b, B, main)
	dbURL := scratchDB(b, "qs_bench_apply")
	le := newLocalEngine(b, B, dbURL)
	ctx := context.Background()
	raw := dialAMI(b, B, "off")
	defer raw.Close()
	peerClock := state.NewClock(time.Now, time.Minute)
	// Journal what B holds, once, outside the measurement.
	sess, err := le.eng.Begin(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := sess.Reconcile(ctx); err != nil {
		b.Fatal(err)
	}
	sess.End()
	waitIdle(b)
	le.journal.reset()

	var rawS, applyS, sessS samples
	rawCPU, sessCPU := cpuTimes{}, cpuTimes{}
	var allocB, allocN uint64
	iter := 0
	runEngine := func(paused bool) {
		reason := ""
		if paused {
			reason = "corr"
		}
		regs := registers(E, true, paused, reason, peerClock)
		var outs []engine.Outcome
		var dApply, dSess time.Duration
		cpuOf(sessCPU, func() {
			dSess = timed(func() {
				bs, n := allocs(func() {
					s, err := le.eng.BeginMembers(ctx, engine.Members(regs))
					if err != nil {
						b.Fatal(err)
					}
					dApply = timed(func() { outs, err = s.Apply(ctx, "sop1", regs) })
					s.End()
					if err != nil {
						b.Fatal(err)
					}
				})
				allocB, allocN = allocB+bs, allocN+n
			})
		})
		for _, o := range outs {
			if o.Result != engine.Applied || len(o.Actions) != 1 {
				b.Fatalf("apply %s/%s: %s with %d actions (%v)", o.Queue, o.Interface, o.Result, len(o.Actions), o.Err)
			}
		}
		applyS, sessS = append(applyS, dApply), append(sessS, dSess)
	}
	runRaw := func(paused bool) {
		reason := ""
		if paused {
			reason = "corr"
		}
		var d time.Duration
		cpuOf(rawCPU, func() {
			d = timed(func() {
				err := parallel(len(R), len(R), func(i int) error {
					if add {
						return raw.QueueAdd(ctx, ami.QueueAddRequest{Queue: R[i].Queue, Interface: R[i].Interface,
							MemberName: R[i].Interface, StateInterface: R[i].Interface, Paused: false})
					}
					return raw.QueuePause(ctx, R[i].Queue, R[i].Interface, paused, reason)
				})
				if err != nil {
					b.Fatal(err)
				}
			})
		})
		rawS = append(rawS, d)
	}
	reset := func() {
		if !add {
			return
		}
		// Remove what both sides added, and forget E in the journal, so that
		// the next iteration adds 1,000 members again.
		ensure(b, B, main)
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			b.Fatal(err)
		}
		_, err = conn.Exec(ctx, `DELETE FROM attribute_state WHERE class = 'queue_sync' AND iface_key LIKE $1`,
			fmt.Sprintf("local/%d%%", baseE/1000000))
		conn.Close(ctx)
		if err != nil {
			b.Fatal(err)
		}
		waitIdle(b)
	}
	for b.Loop() {
		// Pauses alternate: each iteration flips the 1,000 members, so every
		// register needs exactly one QueuePause and the journal and live
		// state agree after it (no reset needed).
		paused := iter%2 == 0 && !add
		if iter%2 == 0 {
			runRaw(paused)
			runEngine(paused)
		} else {
			runEngine(paused)
			runRaw(paused)
		}
		iter++
		b.StopTimer()
		reset()
		if !add {
			waitIdle(b)
		}
		b.StartTimer()
	}
	reportBase(b, "raw", rawS)
	reportRatio(b, "apply", applyS, rawS)
	reportRatio(b, "session", sessS, rawS)
	b.ReportMetric(msf(le.journal.total())/float64(len(sessS)), "journal-ms")
	say(b, "journal time over %d batches: %s", len(sessS), le.journal)
	say(b, "raw, per batch: %s", rawCPU.perRun(len(rawS)))
	say(b, "session, per batch: %s", sessCPU.perRun(len(sessS)))
	b.ReportMetric(float64(allocB)/float64(len(sessS)), "engine-B/batch")
	b.ReportMetric(float64(allocN)/float64(len(sessS)), "engine-allocs/batch")
}
