package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestOpenErrorHidesPassword(t *testing.T) {
	t.Parallel()
	const pw = "s3cr3tPW"
	tests := []struct {
		name, url, mention string
	}{
		{"refused", "postgres://qs:" + pw + "@127.0.0.1:1/cdrdb?sslmode=disable&connect_timeout=2", "127.0.0.1:1"},
		{"bad port", "postgres://qs:" + pw + "@127.0.0.1:notaport/cdrdb", "127.0.0.1"},
		{"query password", "postgres://qs@127.0.0.1:1/cdrdb?sslmode=disable&password=" + pw, "127.0.0.1:1"},
		{"dsn", "host=127.0.0.1 port=1 user=qs password=" + pw + " sslmode=disable connect_timeout=2", "host=127.0.0.1"},
		{"dsn quoted", "host=127.0.0.1 port=1 password='" + pw + " x' sslmode=disable connect_timeout=2", "host=127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := Open(ctx, tt.url, Options{Password: "filePW123"})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, pw) || strings.Contains(msg, "filePW123") {
				t.Fatalf("error leaks the password: %s", msg)
			}
			if !strings.Contains(msg, tt.mention) || !strings.HasPrefix(msg, "open database ") {
				t.Fatalf("error %q does not name the database (%s)", msg, tt.mention)
			}
		})
	}
}

// redactURL is config.RedactURL (tested there, every form) but for an
// empty URL, which means libpq reads the PG* environment.
func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                              "(from PG* environment)",
		"postgres://u:p%40ss@h:5432/db": "postgres://u:xxxxx@h:5432/db",
		"host=h password='z z' user=u":  "host=h password=xxxxx user=u",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenDefaultClass(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	if s.Class() != DefaultClass {
		t.Fatalf("Class = %q, want %q", s.Class(), DefaultClass)
	}
}
