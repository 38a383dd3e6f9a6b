package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultClass is the attribute_state class of queuesync's rows. The table
// is shared with other classes on a SOP; every query is scoped to one class.
const DefaultClass = "queue_sync"

// DBTX is the query surface the store needs. *pgxpool.Pool, *pgx.Conn and
// pgx.Tx all satisfy it.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

var (
	_ DBTX = (*pgxpool.Pool)(nil)
	_ DBTX = (pgx.Tx)(nil)
)

// Options tune Open.
type Options struct {
	// Password, when set (read from database.password_file), overrides any
	// password in the URL or the PG* environment.
	Password string
	// Class is the attribute_state class of the journal rows; empty means
	// DefaultClass.
	Class string
	// MaxConns caps the connection pool; 0 keeps pgx's default.
	MaxConns int32
}

// Store is the journal of one node. It is safe for concurrent use.
type Store struct {
	pool  *pgxpool.Pool
	db    DBTX
	class string
	cache *digestCache
}

// Open connects to the database at url (a postgres:// URL or a key=value
// DSN; PG* environment variables fill what it leaves out) and checks that
// the server answers. It does not check the schema: see Check and Migrate.
// Errors name the URL with its password masked.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	pool, err := connect(ctx, url, opts)
	if err != nil {
		secrets := append(urlSecrets(url), opts.Password)
		return nil, redact(fmt.Errorf("open database %s: %w", redactURL(url), err), secrets...)
	}
	class := opts.Class
	if class == "" {
		class = DefaultClass
	}
	return &Store{pool: pool, db: pool, class: class, cache: &digestCache{}}, nil
}

func connect(ctx context.Context, url string, opts Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if opts.Password != "" {
		cfg.ConnConfig.Password = opts.Password
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "queuesync"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// Close closes every connection of the store. Locks taken with TryLock and
// not yet released are released by the server when their session ends.
func (s *Store) Close() { s.pool.Close() }

// Class returns the attribute_state class the store reads and writes.
func (s *Store) Class() string { return s.class }

// DB returns the store's connection pool, for callers that need a
// transaction or a query the store does not offer.
func (s *Store) DB() *pgxpool.Pool { return s.pool }

// lockKey is the SQL expression of the first half of an advisory lock key:
// it depends on the schema and the class, so journals in different schemas
// of one database do not contend. Parameter $1 is the lock's scope.
const lockKey = `hashtext('queuesync:' || coalesce(current_schema(), '') || ':' || $1::text)`

// journalScope is the lock scope writers share and Since takes exclusively.
func (s *Store) journalScope() string { return "journal:" + s.class }

// timeOrZero converts a nullable timestamp.
func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
