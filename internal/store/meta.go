package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// metaStartup names the Asterisk start time in queue_sync_meta.
const metaStartup = "asterisk_startup"

// Startup returns the Asterisk start time the journal was last reconciled
// against, as recorded by SetStartup; zero when never recorded.
func (s *Store) Startup(ctx context.Context) (time.Time, error) {
	var v string
	err := s.db.QueryRow(ctx, `SELECT value FROM queue_sync_meta WHERE class = $1 AND name = $2`,
		s.class, metaStartup).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read asterisk startup: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("read asterisk startup %q: %w", v, err)
	}
	return t, nil
}

// SetStartup records t as the Asterisk start time the journal is
// reconciled against.
func (s *Store) SetStartup(ctx context.Context, t time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO queue_sync_meta (class, name, value) VALUES ($1, $2, $3)
		ON CONFLICT (class, name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
		s.class, metaStartup, t.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("record asterisk startup: %w", err)
	}
	return nil
}

// ClockOffset returns how far the database server's clock runs ahead of
// this host's (negative: behind), measured over one round trip. The
// journal dates its writes by the server's clock (updated_at, acted_at)
// and the daemon compares them with times of its own (when an AMI event
// arrived).
func (s *Store) ClockOffset(ctx context.Context) (time.Duration, error) {
	before := time.Now()
	var server time.Time
	if err := s.db.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&server); err != nil {
		return 0, fmt.Errorf("read the database server's clock: %w", err)
	}
	after := time.Now()
	return server.Sub(before.Add(after.Sub(before) / 2)), nil
}
