// Package storetest gives tests of other packages a real, migrated journal
// (internal/store) on a PostgreSQL schema of its own (pgtest). It skips the
// test when QUEUESYNC_TEST_DATABASE is unset. It must not be imported by
// production code.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/queuesync/queuesync/internal/state"
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
	ctx := bounded(t)
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

// Get returns the entry of queue/iface in s, failing the test on an error.
func Get(t testing.TB, s *store.Store, queue, iface string) (store.Entry, bool) {
	t.Helper()
	en, ok, err := s.Get(bounded(t), state.NewKey(queue, iface))
	if err != nil {
		t.Fatalf("get %s/%s: %v", queue, iface, err)
	}
	return en, ok
}

// List returns every entry of s, failing the test on an error.
func List(t testing.TB, s *store.Store) []store.Entry {
	t.Helper()
	es, err := s.List(bounded(t), nil)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	return es
}

// MaxSeq returns the highest sequence number s has given, failing the test
// on an error.
func MaxSeq(t testing.TB, s *store.Store) int64 {
	t.Helper()
	seq, err := s.MaxSeq(bounded(t))
	if err != nil {
		t.Fatalf("max seq: %v", err)
	}
	return seq
}

// bounded returns a context that ends after 30 s or with the test.
func bounded(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
