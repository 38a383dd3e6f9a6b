package store

import (
	"errors"
	"strings"

	"github.com/queuesync/queuesync/internal/config"
)

// Sentinel errors returned (wrapped) by the store.
var (
	// ErrNotMigrated means the journal schema is missing or older than this
	// binary expects; the fix is to run "queuesync migrate".
	ErrNotMigrated = errors.New("journal schema not migrated")
	// ErrSchemaTooNew means the database was migrated by a newer queuesync.
	ErrSchemaTooNew = errors.New("journal schema is newer than this queuesync")
	// ErrNotFound means no register is stored under the key.
	ErrNotFound = errors.New("register not found")
	// ErrLocked means another session holds the named advisory lock.
	// TryLock itself reports that as ok=false; callers that need an error
	// (the CLI's "another resync is running") wrap this one.
	ErrLocked = errors.New("lock held by another session")
	// ErrInvalidRegister means a register lacks its queue or interface.
	ErrInvalidRegister = errors.New("invalid register")
)

// redactedError hides secrets that a wrapped error's text might contain,
// while keeping the chain for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with every occurrence of each secret masked in its text.
func redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg, changed := err.Error(), false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg, changed = strings.ReplaceAll(msg, s, "xxxxx"), true
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactURL returns a database URL or key=value DSN with its password masked.
func redactURL(s string) string {
	if s == "" {
		return "(from PG* environment)"
	}
	return config.RedactURL(s)
}

// urlSecrets returns the passwords written in a database URL or DSN, in
// every spelling an error message might repeat them.
func urlSecrets(s string) []string { return config.DatabaseSecrets(s) }
