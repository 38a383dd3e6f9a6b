//go:build e2e || chaos || bench

package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DB runs f on the harness's own connection to n's journal. When f fails,
// it runs it again on a fresh connection (a PostgreSQL restart closes the
// old one), for up to 50 tries.
func (n *Node) DB(f func(context.Context, *pgx.Conn) error) error {
	n.pgMu.Lock()
	defer n.pgMu.Unlock()
	var err error
	for range 50 {
		if err = n.tryDB(f); err == nil {
			return nil
		}
		if n.pg != nil {
			_ = n.pg.Close(context.Background())
			n.pg = nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("journal of %s: %w", n.Name, err)
}

func (n *Node) tryDB(f func(context.Context, *pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n.pg == nil || n.pg.IsClosed() {
		pg, err := pgx.Connect(ctx, n.DBURL)
		if err != nil {
			return err
		}
		n.pg = pg
	}
	return f(ctx, n.pg)
}

// Exec runs one statement on n's journal.
func (n *Node) Exec(sql string, args ...any) error {
	return n.DB(func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, sql, args...)
		return err
	})
}

func (n *Node) closeDB() {
	n.pgMu.Lock()
	defer n.pgMu.Unlock()
	if n.pg != nil {
		_ = n.pg.Close(context.Background())
		n.pg = nil
	}
}
