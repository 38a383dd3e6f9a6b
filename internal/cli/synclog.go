package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/queuesync/queuesync/internal/engine"
)

// syncLog appends one line per change applied, pushed, stale or failed, and
// one per run summary, to the sync log (log_file).
type syncLog struct {
	mu   sync.Mutex
	f    *os.File
	node string
	now  func() time.Time
}

func openSyncLog(path, node string, now func() time.Time) (*syncLog, error) {
	if path == "" || path == "-" {
		return &syncLog{node: node, now: now}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open sync log (log_file) %s: create %s or set log_file elsewhere: %w", path, filepath.Dir(path), err)
	}
	return &syncLog{f: f, node: node, now: now}, nil
}

func (l *syncLog) Close() {
	if l.f != nil {
		_ = l.f.Close()
	}
}

// Line appends one line to the sync log.
func (l *syncLog) Line(format string, args ...any) {
	if l == nil || l.f == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.f, "%s %s %s\n", l.now().UTC().Format(time.RFC3339), l.node, fmt.Sprintf(format, args...))
}

// Outcomes logs every outcome that changed something, failed or carries a report.
func (l *syncLog) Outcomes(op string, outs []engine.Outcome) {
	for _, o := range outs {
		l.Outcome(op, o)
	}
}

// Outcome logs o if it changed something, failed or carries a report.
func (l *syncLog) Outcome(op string, o engine.Outcome) {
	if !o.Notable() {
		return
	}
	{
		msg := fmt.Sprintf("%s %s queue=%s interface=%s", op, o.Result, o.Queue, o.Interface)
		if o.Peer != "" {
			msg += " peer=" + o.Peer
		}
		if len(o.Actions) > 0 {
			msg += " actions=" + actionNames(o.Actions)
		}
		if o.Err != nil {
			msg += " error=" + strings.ReplaceAll(o.Err.Error(), "\n", " ")
		}
		l.Line("%s", msg)
	}
}
