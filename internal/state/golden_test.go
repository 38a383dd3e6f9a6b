package state

import (
	"testing"

	"github.com/queuesync/queuesync/internal/testkit"
)

// golden compares got with testdata/name, or writes it there with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, name, got)
}
