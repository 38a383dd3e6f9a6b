package store

import (
	"fmt"
	"testing"

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
