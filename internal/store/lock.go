package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// unlockTimeout bounds the release of a lock; past it the session is closed,
// which releases the lock too.
const unlockTimeout = 5 * time.Second

// TryLock takes the session advisory lock called name (scoped to the
// store's schema and class) on a connection dedicated to it until release
// is called. When another session holds the lock, ok is false and release
// is nil. Release is idempotent; if the unlock fails, the connection is
// closed, which releases the lock.
func (s *Store) TryLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	const try = `SELECT pg_try_advisory_lock(` + lockKey + `, hashtext($2::text))`
	if err := conn.QueryRow(ctx, try, s.lockScope(), name).Scan(&ok); err != nil || !ok {
		conn.Release()
		if err != nil {
			return nil, false, fmt.Errorf("lock %s: %w", name, err)
		}
		return nil, false, nil
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
			defer cancel()
			const unlock = `SELECT pg_advisory_unlock(` + lockKey + `, hashtext($2::text))`
			var released bool
			if err := conn.QueryRow(ctx, unlock, s.lockScope(), name).Scan(&released); err != nil || !released {
				_ = conn.Conn().Close(ctx) // a closed session holds no lock
			}
			conn.Release()
		})
	}
	return release, true, nil
}

// lockScope is the scope of the locks taken by TryLock.
func (s *Store) lockScope() string { return "lock:" + s.class }
