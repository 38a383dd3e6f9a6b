package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/queuesync/queuesync/internal/node"
	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/internal/store"
)

// historyOptions are the flags and arguments of history.
type historyOptions struct {
	Queue  string
	Member string
	Since  time.Duration
	Lines  int
	JSON   bool
}

func (o *historyOptions) addFlags(f *pflag.FlagSet) {
	f.StringVarP(&o.Member, "member", "m", "", "only this member interface, like PJSIP/1001 (case-insensitive)")
	f.Var(sinceValue{&o.Since}, "since", "only changes recorded within this duration, like 30m, 1h, 7d or 2w")
	f.IntVarP(&o.Lines, "lines", "n", 0, "only the last N changes; 0 prints every one")
	f.BoolVar(&o.JSON, "json", false, "print one JSON object per changed field and line")
}

// HistoryReader is what history needs from the journal (internal/store).
type HistoryReader interface {
	History(ctx context.Context, q store.HistoryQuery) ([]store.HistoryEntry, error)
}

func newHistoryCmd(d *Deps, runF func(context.Context, *historyOptions) error) *cobra.Command {
	var opts historyOptions
	cmd := &cobra.Command{
		Use:   "history [flags] [queue]",
		Short: "Show each member's recorded changes: what, when, on which node, from where",
		Long: `History prints the changes this node recorded, oldest first: one line per
field that changed (present, name, state-interface, membership, penalty,
paused, reason, ringinuse, wrap-up), with its old and new value.

TIME is when the change was made, on whichever node made it (its stamp; for
a pause, the true start of the pause), ORIGIN that node; for a restore, TIME
is when it was put back and ORIGIN the node of the value put back. SOURCE says how it
reached this node: ami (an AMI event here), peer:NAME (sent by that peer),
resync (found by a reconcile of this node's Asterisk, or pulled from a peer
by a resync) or restore (put back into Asterisk after it lost it, for
example at a restart without persistent members). RESULT is applied (made
here with AMI actions), journalled (recorded; Asterisk already held it),
pending (AMI actions under way, or failed and to be retried) or superseded
(was pending when a later change of the member replaced it: nothing under way).

Values are Asterisk's bytes; in the table a byte that is not UTF-8 text is
shown as \xHH. The history keeps history_retention (default 90 days) and at
most history_max_rows changes.

Piped, history prints tab-separated values with RFC 3339 times (UTC); on a
terminal, a table. With --json it prints one JSON object per line. It exits
1 when the journal cannot be read.`,
		Example: `  # why is this agent paused, since when, and on which node was it decided?
  queuesync history support --member PJSIP/1001

  # everything of the last hour, as JSON
  queuesync history --since 1h --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Queue = args[0]
			}
			if opts.Lines < 0 {
				return &FlagError{Err: fmt.Errorf("--lines %d: want 0 (every change) or more", opts.Lines)}
			}
			if opts.Since < 0 {
				return &FlagError{Err: fmt.Errorf("--since %s: want a positive duration, like 1h", opts.Since)}
			}
			if runF != nil {
				return runF(cmd.Context(), &opts)
			}
			st, err := node.OpenJournal(cmd.Context(), d.Config.Database)
			if err != nil {
				return pgAdvice(d.Config.Database.URL, err)
			}
			defer st.Close()
			return runHistory(cmd.Context(), d, &opts, st)
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

// HistoryLine is one changed field of a recorded change, as history --json
// prints it, one JSON object a line.
type HistoryLine struct {
	Time       time.Time `json:"time"`
	Recorded   time.Time `json:"recorded"`
	Queue      string    `json:"queue"`
	Interface  string    `json:"interface"`
	MemberName string    `json:"member_name"`
	Field      string    `json:"field"`
	Old        string    `json:"old"`
	New        string    `json:"new"`
	Origin     string    `json:"origin"`
	Source     string    `json:"source"`
	Result     string    `json:"result"`
	Stamp      string    `json:"stamp"`
}

// historyLines expands recorded changes into one line per changed field.
// Values that are not plain text are escaped (\xHH), as everywhere queuesync
// prints them.
func historyLines(hs []store.HistoryEntry) []HistoryLine {
	var out []HistoryLine
	for _, h := range hs {
		name := h.New.MemberName
		if name == "" && h.Old != nil {
			name = h.Old.MemberName
		}
		when := time.UnixMilli(h.New.Stamp.Wall).UTC()
		if h.Source == store.SourceRestore {
			when = h.Recorded.UTC() // a restore is made here, when recorded
		}
		for _, f := range h.Fields() {
			out = append(out, HistoryLine{
				Time: when, Recorded: h.Recorded.UTC(),
				Queue: h.New.Queue, Interface: h.New.Interface, MemberName: printable(name),
				Field: f.Field, Old: printable(f.Local), New: printable(f.Peer),
				Origin: h.New.Origin, Source: h.Source, Result: h.Result, Stamp: h.New.Stamp.String(),
			})
		}
	}
	return out
}

func printable(v string) string {
	if state.Plain(v) {
		return v
	}
	return state.Escape(v)
}

func runHistory(ctx context.Context, d *Deps, o *historyOptions, r HistoryReader) error {
	q := store.HistoryQuery{Queue: o.Queue, Interface: o.Member, Limit: o.Lines}
	if o.Since > 0 {
		q.Since = d.Now().Add(-o.Since)
	}
	hs, err := r.History(ctx, q)
	if err != nil {
		return err
	}
	lines := historyLines(hs)
	if o.JSON {
		for _, l := range lines {
			if err := printJSONLine(d.IO.Out, l); err != nil {
				return err
			}
		}
		return nil
	}
	header := []string{"TIME", "QUEUE", "MEMBER", "NAME", "FIELD", "OLD", "NEW", "ORIGIN", "SOURCE", "RESULT"}
	rows := make([][]string, len(lines))
	for i, l := range lines {
		when := l.Time.Format(time.RFC3339)
		if d.IO.IsTTY {
			when = l.Time.Local().Format("2006-01-02 15:04:05")
		}
		rows[i] = []string{when, l.Queue, l.Interface, l.MemberName, l.Field, l.Old, l.New, l.Origin, l.Source, l.Result}
	}
	return printTable(d.IO, header, rows)
}
