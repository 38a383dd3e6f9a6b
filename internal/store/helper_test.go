package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/internal/state"
)

// testURL returns QUEUESYNC_TEST_DATABASE or skips the test.
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("QUEUESYNC_TEST_DATABASE")
	if u == "" {
		t.Skip("QUEUESYNC_TEST_DATABASE not set; skipping PostgreSQL test")
	}
	return u
}

// newSchema creates a uniquely named schema, dropped when the test ends,
// and returns its name.
func newSchema(t testing.TB, dbURL string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "qs_test_" + hex.EncodeToString(b)
	admin(t, dbURL, "CREATE SCHEMA "+name)
	t.Cleanup(func() { admin(t, dbURL, "DROP SCHEMA "+name+" CASCADE") })
	return name
}

// admin runs one statement on a connection of its own.
func admin(t testing.TB, dbURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// withSearchPath returns dbURL with search_path set to schema.
func withSearchPath(t testing.TB, dbURL, schema string) string {
	t.Helper()
	if !strings.Contains(dbURL, "://") {
		return dbURL + " search_path=" + schema
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("parse QUEUESYNC_TEST_DATABASE: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openUnmigrated opens a store on a fresh schema without migrating it.
func openUnmigrated(t testing.TB) (*Store, string) {
	t.Helper()
	dbURL := testURL(t)
	schemaURL := withSearchPath(t, dbURL, newSchema(t, dbURL))
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
