package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/internal/state"
)

// benchRegs returns n registers of distinct keys at stamp wall.
func benchRegs(n int, wall int64) []state.Register {
	regs := make([]state.Register, n)
	for i := range regs {
		r := reg(fmt.Sprintf("queue%03d", i%100), fmt.Sprintf("PJSIP/%05d", i), wall, 0, "sop1")
		r.Paused, r.PausedReason, r.Penalty = i%3 == 0, "lunch", i%10
		regs[i] = r
	}
	return regs
}

// BenchmarkPutMany1000 writes 1000 newer registers per iteration (updates
// of existing rows after the first).
func BenchmarkPutMany1000(b *testing.B) {
	s := openStore(b)
	ctx := b.Context()
	wall := int64(1)
	for b.Loop() {
		wall++
		res, err := s.PutMany(ctx, benchRegs(1000, wall), PutOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if !res[999].Stored {
			b.Fatal("not stored")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/register")
}

// BenchmarkJournalAdds1000 is the journal's share of 1,000 corrections
// that add members, as the engine writes them: PutMany of new registers,
// pending, with their history, then SettleMany. "set" is the statement
// over arrays PutMany uses; "each", beside it, one statement per register.
func BenchmarkJournalAdds1000(b *testing.B) {
	for _, way := range []string{"set", "each"} {
		b.Run(way, func(b *testing.B) {
			s := openStore(b)
			ctx := b.Context()
			o := PutOptions{Pending: true, Via: "sop2", Source: PeerSource("sop2")}
			wall := int64(1)
			var settling time.Duration
			for b.Loop() {
				wall++
				regs := benchRegs(1000, wall)
				for i := range regs {
					regs[i].Interface = fmt.Sprintf("PJSIP/%d-%05d", wall, i)
				}
				var err error
				if way == "set" {
					_, err = s.putSet(ctx, regs, o)
				} else {
					_, err = s.putBatch(ctx, regs, o)
				}
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if way == "set" {
					err = s.SettleMany(ctx, regs)
				} else {
					err = s.settleEach(ctx, regs)
				}
				settling += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(settling.Microseconds())/1000/float64(b.N), "settle-ms/op")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/register")
		})
	}
}

// settleEach is SettleMany as one statement per register (a pgx batch).
func (s *Store) settleEach(ctx context.Context, regs []state.Register) error {
	bt := &pgx.Batch{}
	for _, r := range regs {
		k := r.Key()
		bt.Queue(settleSQL, s.class, k.Queue, k.Interface, r.Stamp.Wall, int64(r.Stamp.Logical), r.Origin)
	}
	return s.pool.SendBatch(ctx, bt).Close()
}

// BenchmarkList10000 reads a journal of 10000 entries.
func BenchmarkList10000(b *testing.B) {
	s := openStore(b)
	ctx := b.Context()
	regs := benchRegs(10000, 1)
	for i := 0; i < len(regs); i += 1000 {
		if _, err := s.PutMany(ctx, regs[i:i+1000], PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		es, err := s.List(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(es) != 10000 {
			b.Fatalf("List returned %d entries", len(es))
		}
	}
}

// BenchmarkLastChanges reads the last change of 2,000 members from a
// history of 100,000 records (50 per member): "sort" is the whole history
// sorted (DISTINCT ON), the way it was read before, beside LastChanges.
func BenchmarkLastChanges(b *testing.B) {
	s := openStore(b)
	ctx := b.Context()
	for wall := int64(1); wall <= 50; wall++ {
		if _, err := s.PutMany(ctx, benchRegs(2000, wall), PutOptions{Source: SourceAMI}); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Analyze(ctx); err != nil {
		b.Fatal(err)
	}
	sorted := func(ctx context.Context) ([]HistoryEntry, error) {
		return s.queryHistory(ctx, "last changes", `SELECT DISTINCT ON (queue_key, iface_key) `+historyColumns+`
			FROM queue_sync_history WHERE class = $1 ORDER BY queue_key, iface_key, id DESC`, s.class)
	}
	for _, way := range []struct {
		name string
		read func(context.Context) ([]HistoryEntry, error)
	}{{"sort", sorted}, {"members", s.LastChanges}} {
		b.Run(way.name, func(b *testing.B) {
			for b.Loop() {
				hs, err := way.read(ctx)
				if err != nil || len(hs) != 2000 {
					b.Fatalf("%d last changes, %v", len(hs), err)
				}
			}
		})
	}
}

// BenchmarkPutManyOne is the live path's journal write: one newer
// register of one member, with its history record, on a journal of 10,000
// members. "set" is the statement over arrays, "each" the one-register
// statement (putSQL); "settle" adds the settle a received change is
// written and settled with.
func BenchmarkPutManyOne(b *testing.B) {
	for _, way := range []string{"set", "each", "set+settle", "each+settle"} {
		b.Run(way, func(b *testing.B) {
			s := openStore(b)
			ctx := b.Context()
			if _, err := s.PutMany(ctx, benchRegs(10000, 1), PutOptions{Source: "resync"}); err != nil {
				b.Fatal(err)
			}
			o := PutOptions{Source: "ami"}
			settle := way == "set+settle" || way == "each+settle"
			if settle {
				o = PutOptions{Source: PeerSource("sop2"), Pending: true, Via: "sop2"}
			}
			wall := int64(1)
			for b.Loop() {
				wall++
				r := benchRegs(1, wall)
				r[0].Paused = wall%2 == 0
				var res []PutResult
				var err error
				if way == "set" || way == "set+settle" {
					res, err = s.putSet(ctx, r, o)
				} else {
					res, err = s.putBatch(ctx, r, o)
				}
				if err != nil {
					b.Fatal(err)
				}
				if !res[0].Stored {
					b.Fatal("not stored")
				}
				if way == "set+settle" {
					err = s.settleSet(ctx, r)
				} else if way == "each+settle" {
					err = s.Settle(ctx, r[0].Key(), r[0].Version())
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
