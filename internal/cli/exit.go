package cli

import (
	"context"
	"errors"
	"fmt"
)

// Exit codes, documented in every command's help and in queuesync(1).
const (
	ExitOK          = 0   // in sync, or corrected
	ExitFailure     = 1   // an error stopped the command
	ExitUsage       = 2   // bad flags, arguments or config
	ExitPartial     = 3   // a peer was unreachable or an action failed; the rest applied
	ExitLocked      = 4   // another resync holds the lock
	ExitInterrupted = 130 // interrupted by a signal
)

// FlagError is a usage error: the command prints its usage and exits 2.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// ExitError carries an explicit exit code with an error message. A nil Err
// means the command already reported everything it had to say.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	var ee *ExitError
	var fe *FlagError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &fe):
		return ExitUsage
	}
	return ExitFailure
}
