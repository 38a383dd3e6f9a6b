// Package pgtest gives a test a PostgreSQL schema of its own in the
// database named by QUEUESYNC_TEST_DATABASE, and skips the test when that
// variable is unset. It knows nothing of the journal, so that the store's
// own tests can use it as well as storetest. It must not be imported by
// production code.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the database the tests use.
const EnvVar = "QUEUESYNC_TEST_DATABASE"

// URL returns QUEUESYNC_TEST_DATABASE or skips the test.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvVar)
	if u == "" {
		t.Skip(EnvVar + " not set; skipping PostgreSQL test")
	}
	return u
}

// Schema creates a uniquely named schema, dropped with everything in it
// when the test ends, and returns a URL of the test database whose
// search_path is that schema.
func Schema(t testing.TB) string {
	t.Helper()
	dbURL := URL(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "qs_test_" + hex.EncodeToString(b)
	exec(t, dbURL, "CREATE SCHEMA "+name)
	t.Cleanup(func() { exec(t, dbURL, "DROP SCHEMA "+name+" CASCADE") })
	return withSearchPath(t, dbURL, name)
}

// exec runs one statement on a connection of its own.
func exec(t testing.TB, dbURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvVar, err)
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
		t.Fatalf("parse %s: %v", EnvVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
