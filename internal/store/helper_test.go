package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store/storetest/pgtest"
)

// openUnmigrated opens a store on a fresh schema without migrating it.
func openUnmigrated(t testing.TB) (*Store, string) {
	t.Helper()
	schemaURL := pgtest.Schema(t)
	s, err := Open(context.Background(), schemaURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, schemaURL
}

// openStore opens a migrated store on a fresh schema.
func openStore(t testing.TB) *Store {
	t.Helper()
	s, _ := openUnmigrated(t)
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// reg returns a present dynamic register of queue/iface at version
// (wall, logical, origin). Its member name records the version, so a test
// can tell which write a row holds.
func reg(queue, iface string, wall int64, logical uint32, origin string) state.Register {
	return state.Register{
		Queue: queue, Interface: iface, Present: true,
		MemberName:     fmt.Sprintf("%d.%d@%s", wall, logical, origin),
		StateInterface: iface, Membership: state.Dynamic,
		Stamp: state.Stamp{Wall: wall, Logical: logical}, Origin: origin,
	}
}

// mustPut puts r and fails the test on error.
func mustPut(t testing.TB, s *Store, r state.Register, o PutOptions) (bool, Entry) {
	t.Helper()
	ok, e, err := s.Put(context.Background(), r, o)
	if err != nil {
		t.Fatal(err)
	}
	return ok, e
}

// parallelStore marks t parallel and opens a migrated store on its own
// fresh schema, with the context the test's calls use.
func parallelStore(t *testing.T) (*Store, context.Context) {
	t.Helper()
	t.Parallel()
	return openStore(t), t.Context()
}
