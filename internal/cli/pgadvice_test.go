package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestPgAdvice: each missing grant is named with the statement that fixes
// it, for the role of the URL.
func TestPgAdvice(t *testing.T) {
	url := "postgres://qsync@127.0.0.1:5432/cdrdb"
	for _, tt := range []struct {
		code, msg, want string
	}{
		{"42501", "permission denied for schema public", "GRANT USAGE, CREATE ON SCHEMA public TO qsync;"},
		{"42501", "must be owner of table attribute_state", "ALTER TABLE attribute_state OWNER TO qsync;"},
		{"42501", "permission denied for table queue_sync_peer", "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE queue_sync_peer TO qsync;"},
		{"42501", "permission denied for sequence queue_sync_seq", "GRANT USAGE, SELECT, UPDATE ON SEQUENCE queue_sync_seq TO qsync;"},
		{"28P01", `password authentication failed for user "qsync"`, "database.password_file"},
		{"28000", `no pg_hba.conf entry for host "10.0.0.1", user "qsync"`, "local cdrdb qsync peer"},
	} {
		err := fmt.Errorf("migrate journal: %w", &pgconn.PgError{Code: tt.code, Message: tt.msg})
		got := pgAdvice(url, err)
		if !strings.Contains(got.Error(), tt.want) {
			t.Errorf("%s: %q lacks %q", tt.msg, got, tt.want)
		}
		var pe *pgconn.PgError
		if !errors.As(got, &pe) {
			t.Errorf("%s: the chain lost the PgError", tt.msg)
		}
	}
	plain := errors.New("connection refused")
	if got := pgAdvice(url, plain); got != plain {
		t.Errorf("advice added to %v: %v", plain, got)
	}
}
