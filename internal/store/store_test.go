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

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://u:p%40ss@h:5432/db", "postgres://u:xxxxx@h:5432/db"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgres://u@h/db?password=zz", "postgres://u@h/db?password=xxxxx"},
		{"host=h password=zz user=u", "host=h password=xxxxx user=u"},
		{"host=h password='z z' user=u", "host=h password=xxxxx user=u"},
		{"postgres://u:zz@h:bad/db", "postgres://u:xxxxx@h:bad/db"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
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
