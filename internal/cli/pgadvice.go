package cli

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQL error codes pgAdvice explains.
const (
	pgInsufficientPrivilege = "42501"
	pgInvalidPassword       = "28P01"
	pgInvalidAuthorization  = "28000"
)

var (
	pgSchemaDenied = regexp.MustCompile(`permission denied for schema (\S+)`)
	pgNotOwner     = regexp.MustCompile(`must be owner of (?:table|sequence|relation|index) (\S+)`)
	pgObjDenied    = regexp.MustCompile(`permission denied for (table|sequence) (\S+)`)
	pgDBDenied     = regexp.MustCompile(`permission denied for database (\S+)`)
)

// pgAdvice says which grant or pg_hba.conf line a journal database error
// calls for, naming the role as the URL and PG* variables resolve it; it
// returns err unchanged when it has nothing to add. The statements are run
// by a superuser: sudo -u postgres psql DBNAME.
func pgAdvice(url string, err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	role := "queuesync"
	if c, cerr := pgconn.ParseConfig(url); cerr == nil && c.User != "" {
		role = c.User
	}
	var hint string
	switch pe.Code {
	case pgInsufficientPrivilege:
		hint = grantHint(pe.Message, role)
	case pgInvalidPassword:
		hint = fmt.Sprintf("the password of role %s is wrong: put the right one in database.password_file (mode 0600), or connect over the Unix socket with peer authentication (database.url: postgres:///cdrdb?host=/var/run/postgresql)", role)
	case pgInvalidAuthorization:
		hint = fmt.Sprintf("pg_hba.conf lets role %s not in this way: add a line for it (local cdrdb %s peer, for the Unix socket) and reload PostgreSQL; see the README, \"The journal database\"", role, role)
	}
	if hint == "" {
		return err
	}
	return fmt.Errorf("%w\n%s", err, hint)
}

func grantHint(msg, role string) string {
	if m := pgSchemaDenied.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("role %s may not create tables in schema %s (PostgreSQL 15 and later no longer let every role create in public); as a superuser in this database run:\n  GRANT USAGE, CREATE ON SCHEMA %s TO %s;", role, m[1], m[1], role)
	}
	if m := pgNotOwner.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s exists and belongs to another role; the migration alters it, which only its owner may do; as a superuser in this database run:\n  ALTER TABLE %s OWNER TO %s;", m[1], m[1], role)
	}
	if m := pgObjDenied.FindStringSubmatch(msg); m != nil {
		what := "SELECT, INSERT, UPDATE, DELETE ON TABLE"
		if m[1] == "sequence" {
			what = "USAGE, SELECT, UPDATE ON SEQUENCE"
		}
		return fmt.Sprintf("role %s lacks a grant on %s %s; as a superuser in this database run:\n  GRANT %s %s TO %s;", role, m[1], m[2], what, m[2], role)
	}
	if m := pgDBDenied.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("role %s may not connect to database %s; as a superuser run:\n  GRANT CONNECT ON DATABASE %s TO %s;", role, m[1], m[1], role)
	}
	return ""
}
