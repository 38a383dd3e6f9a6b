package engine

import "time"

// Timing receives how long one step of a session took (Options.Timing):
// what an operator reads to see where a change's time goes.
type Timing func(step string, d time.Duration)

// The steps Options.Timing is told about.
const (
	StepLockWait     = "lock_wait"        // waiting for another session to end
	StepAsteriskRead = "asterisk_read"    // reading live state (a steady read: members, queues or all)
	StepJournalRead  = "journal_read"     // reading journal entries
	StepJournalWrite = "journal_write"    // writing registers (one statement)
	StepActions      = "asterisk_actions" // one group of AMI actions, sent together
	StepSettle       = "journal_settle"   // clearing the pending flags after the actions
)

// timed tells Options.Timing that step took from start until now, by the
// monotonic clock (not Options.Now, which may be offset).
func (e *Engine) timed(step string, start time.Time) {
	if e.opts.Timing != nil {
		e.opts.Timing(step, time.Since(start))
	}
}
