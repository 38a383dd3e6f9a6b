package engine

import (
	"slices"
	"testing"
)

// The chunks of a pipelined commit cover every step once, in order; the
// first and the last are short so that the pipeline fills and drains fast.
func TestCommitChunks(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []int
	}{
		{1, []int{1}},
		{50, []int{50}},
		{80, []int{50, 80}},
		{300, []int{50, 250, 300}},
		{351, []int{50, 300, 301, 351}},
		{1000, []int{50, 300, 550, 800, 950, 1000}},
	} {
		if got := commitChunks(tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("commitChunks(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
	for n := 1; n < 3000; n++ {
		ends := commitChunks(n)
		prev := 0
		for i, e := range ends {
			if e <= prev || e-prev > commitChunk || (i == 0 || i == len(ends)-1) && e-prev > commitEdge && n > commitEdge {
				t.Fatalf("commitChunks(%d) = %v: chunk %d is %d steps", n, ends, i, e-prev)
			}
			prev = e
		}
		if prev != n {
			t.Fatalf("commitChunks(%d) ends at %d", n, prev)
		}
	}
}
