// Package storetest gives tests of other packages a real, migrated journal
// (internal/store) on a PostgreSQL schema of its own (pgtest). It skips the
// test when QUEUESYNC_TEST_DATABASE is unset. It must not be imported by
// production code.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/store"
	"github.com/queuesync/queuesync/internal/store/storetest/pgtest"
)

// New opens a migrated store on a fresh schema; it is closed and dropped
// when the test ends.
func New(t testing.TB) *store.Store {
	t.Helper()
	return Open(t, pgtest.Schema(t))
}

// Open opens and migrates a store at schemaURL (from pgtest.Schema), closed
// when the test ends. Opening the same URL twice gives two stores over one
// journal, as a node restarted over its database.
func Open(t testing.TB, schemaURL string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, schemaURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}
