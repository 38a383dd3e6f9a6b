package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered SQL file of migrations/.
type migration struct {
	Version int
	Name    string
	SQL     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, n := range names {
		base := path.Base(n)
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number: %w", base, err)
		}
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{Version: v, Name: strings.TrimSuffix(base, ".sql"), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// SchemaVersion returns the schema version this binary migrates to.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS queuesync_schema_migrations (
	version    int         PRIMARY KEY,
	name       text        NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

// Migrate applies the embedded migrations the database lacks and returns
// how many it applied. It runs in one transaction under an advisory lock,
// so concurrent migrators are safe (the later one finds nothing to do), and
// it is idempotent.
func (s *Store) Migrate(ctx context.Context) (applied int, err error) {
	ms, err := migrations()
	if err != nil {
		return 0, fmt.Errorf("migrate journal: %w", err)
	}
	// Read committed, whatever the server's default: after waiting for the
	// lock, the version must be read from a fresh snapshot.
	txo := pgx.TxOptions{IsoLevel: pgx.ReadCommitted}
	err = pgx.BeginTxFunc(ctx, s.pool, txo, func(tx pgx.Tx) error {
		applied, err = migrateTx(ctx, tx, ms)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("migrate journal: %w", err)
	}
	return applied, nil
}

func migrateTx(ctx context.Context, tx pgx.Tx, ms []migration) (int, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+lockKey+`, 0)`, "migrate"); err != nil {
		return 0, fmt.Errorf("lock: %w", err)
	}
	if _, err := tx.Exec(ctx, createMigrationsTable); err != nil {
		return 0, fmt.Errorf("create queuesync_schema_migrations: %w", err)
	}
	cur, err := currentVersion(ctx, tx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ms {
		if m.Version <= cur {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return 0, fmt.Errorf("apply %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO queuesync_schema_migrations (version, name) VALUES ($1, $2)`,
			m.Version, m.Name); err != nil {
			return 0, fmt.Errorf("record %s: %w", m.Name, err)
		}
		n++
	}
	return n, nil
}

func currentVersion(ctx context.Context, db DBTX) (int, error) {
	var v int
	err := db.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM queuesync_schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// Check verifies that the journal schema is present and current. It returns
// an error wrapping ErrNotMigrated (telling the operator to run "queuesync
// migrate") when it is missing or old, and ErrSchemaTooNew when a newer
// queuesync migrated it.
func (s *Store) Check(ctx context.Context) error {
	var exists bool
	err := s.db.QueryRow(ctx, `SELECT to_regclass('queuesync_schema_migrations') IS NOT NULL`).Scan(&exists)
	if err != nil {
		return fmt.Errorf("check journal schema: %w", err)
	}
	want := SchemaVersion()
	if !exists {
		return fmt.Errorf("check journal schema: %w (no queuesync_schema_migrations table); run \"queuesync migrate\"", ErrNotMigrated)
	}
	cur, err := currentVersion(ctx, s.db)
	if err != nil {
		return fmt.Errorf("check journal schema: %w", err)
	}
	switch {
	case cur < want:
		return fmt.Errorf("check journal schema: %w (version %d, want %d); run \"queuesync migrate\"", ErrNotMigrated, cur, want)
	case cur > want:
		return fmt.Errorf("check journal schema: %w (version %d, this binary knows %d); upgrade queuesync", ErrSchemaTooNew, cur, want)
	}
	return nil
}
