package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/queuesync/queuesync/internal/engine"
	"github.com/queuesync/queuesync/internal/state"
)

// printReport prints a sync run: a summary line, and with -v a table per
// queue of every difference with the action taken; --json prints outcomes.
func printReport(d *Deps, r *syncReport, o *syncOptions) error {
	if o.JSON {
		return printJSON(d.IO.Out, jsonReport(r))
	}
	if o.Verbose > 0 {
		if err := printTables(d, r, o.Verbose > 1); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(r.PeerError) {
		fmt.Fprintf(d.IO.ErrOut, "queuesync: peer %s: %s\n", name, r.PeerError[name])
	}
	_, err := fmt.Fprintln(summaryWriter(d, o.Verbose), summary(r))
	return err
}

// summaryWriter is where the summary line goes: stdout, except after a -v
// table on a pipe, where stdout holds the table alone for scripts.
func summaryWriter(d *Deps, verbose int) io.Writer {
	if verbose > 0 && !d.IO.IsTTY {
		return d.IO.ErrOut
	}
	return d.IO.Out
}

func summary(r *syncReport) string {
	counts := map[engine.Result]int{}
	for _, o := range r.Outcomes {
		counts[o.Result]++
	}
	var parts []string
	for _, res := range []engine.Result{engine.Journalled, engine.Restored, engine.Applied, engine.Pushed, engine.Stale, engine.Overtaken, engine.Reported, engine.Failed, engine.Skipped} {
		if n := counts[res]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, res))
		}
	}
	verdict := "in sync"
	switch {
	case r.partial():
		verdict = "partial"
	case len(parts) > 0 && r.DryRun:
		verdict = "differences found (dry run: nothing changed)"
	case len(parts) > 0:
		verdict = "corrected"
	}
	if len(parts) == 0 {
		parts = []string{"no differences"}
	}
	return fmt.Sprintf("%s: %s (%s)", r.Node, verdict, strings.Join(parts, ", "))
}

var tableHeader = []string{"QUEUE", "MEMBER", "FIELD", "LOCAL", "PEER", "WINNER", "ACTION", "RESULT"}

// printTables prints one table of every difference, ordered by queue (the
// QUEUE column tells them apart), so that a script reads one header.
func printTables(d *Deps, r *syncReport, all bool) error {
	var outs []engine.Outcome
	for _, o := range r.Outcomes {
		if o.Notable() || all {
			outs = append(outs, o)
		}
	}
	sort.SliceStable(outs, func(i, j int) bool { return strings.ToLower(outs[i].Queue) < strings.ToLower(outs[j].Queue) })
	var rows [][]string
	for _, o := range outs {
		rows = append(rows, outcomeRows(o, r.DryRun)...)
	}
	if len(rows) == 0 {
		return nil
	}
	return printTable(d.IO, tableHeader, rows)
}

// dryResults is what a dry run would have done, in the RESULT column.
var dryResults = map[engine.Result]string{
	engine.Journalled: "would journal", engine.Restored: "would restore",
	engine.Applied: "would apply", engine.Pushed: "would push",
}

// outcomeRows renders one outcome as one row per differing field.
func outcomeRows(o engine.Outcome, dry bool) [][]string {
	action := actionText(o.Actions)
	result := string(o.Result)
	if w, ok := dryResults[o.Result]; ok && dry {
		result = w
	}
	if o.Peer != "" {
		result += " (" + o.Peer + ")"
	}
	if o.Err != nil {
		result += ": " + o.Err.Error()
	}
	for _, rep := range o.Reports {
		result += "; " + rep
	}
	local, remote := o.Local, o.Remote
	if o.Result == engine.Journalled {
		// The change is live here: show it as local, against the journal.
		local, remote = o.Winner, o.Local
	}
	diffs := state.DiffFields(local, remote, o.Winner)
	if presenceDiffers(local, remote, o.Winner) {
		diffs = []state.FieldDiff{{Field: "member", Local: describe(local), Peer: describe(remote), Winner: describe(o.Winner)}}
	}
	if len(diffs) == 0 {
		diffs = []state.FieldDiff{{Field: "-", Local: "-", Peer: "-", Winner: "-"}}
	}
	rows := make([][]string, 0, len(diffs))
	for _, f := range diffs {
		rows = append(rows, []string{o.Queue, o.Interface, f.Field, f.Local, f.Peer, f.Winner, action, result})
	}
	return rows
}

// presenceDiffers reports whether the member exists on one side only: then
// one row describing it says more than a row per field.
func presenceDiffers(rs ...*state.Register) bool {
	seen := map[bool]bool{}
	for _, r := range rs {
		if r != nil {
			seen[r.Present] = true
		}
	}
	return len(seen) > 1 || (seen[true] && (rs[0] == nil || rs[1] == nil))
}

// describe renders a register in one cell: "-" when unknown, "removed" for
// a tombstone, else the member's synced state.
func describe(r *state.Register) string {
	switch {
	case r == nil:
		return "-"
	case !r.Present:
		return "removed"
	}
	s := fmt.Sprintf("%s, penalty %d", r.MemberName, r.Penalty)
	if r.Paused {
		s += ", paused: " + r.PausedReason
	}
	return s
}

func actionNames(acts []state.Action) string {
	if len(acts) == 0 {
		return "-"
	}
	names := make([]string, len(acts))
	for i, a := range acts {
		names[i] = string(a.Kind)
	}
	return strings.Join(names, "+")
}

// actionText is the ACTION cell: the actions' names, with a remove+add
// said as such and what it changes ("remove+add (wrap-up time)").
func actionText(acts []state.Action) string {
	if len(acts) == 0 {
		return "-"
	}
	var names []string
	for i := 0; i < len(acts); i++ {
		a := acts[i]
		if a.Kind == state.ActRemove && a.Readd != "" && i+1 < len(acts) && acts[i+1].Kind == state.ActAdd {
			names = append(names, "remove+add ("+a.Readd+")")
			i++
			continue
		}
		names = append(names, string(a.Kind))
	}
	return strings.Join(names, "+")
}

type jsonOutcome struct {
	Queue     string            `json:"queue"`
	Interface string            `json:"interface"`
	Peer      string            `json:"peer,omitempty"`
	Result    engine.Result     `json:"result"`
	Actions   []string          `json:"actions,omitempty"`
	Fields    []state.FieldDiff `json:"fields,omitempty"`
	Reports   []string          `json:"reports,omitempty"`
	Error     string            `json:"error,omitempty"`
}

func jsonReport(r *syncReport) any {
	outs := []jsonOutcome{}
	for _, o := range r.Outcomes {
		if !o.Notable() {
			continue
		}
		j := jsonOutcome{Queue: o.Queue, Interface: o.Interface, Peer: o.Peer, Result: o.Result, Reports: o.Reports}
		for _, a := range o.Actions {
			j.Actions = append(j.Actions, string(a.Kind))
		}
		j.Fields = state.DiffFields(o.Local, o.Remote, o.Winner)
		if o.Err != nil {
			j.Error = o.Err.Error()
		}
		outs = append(outs, j)
	}
	peerErrs := map[string]string{}
	for n, err := range r.PeerError {
		peerErrs[n] = err.Error()
	}
	return map[string]any{"node": r.Node, "dry_run": r.DryRun, "partial": r.partial(), "outcomes": outs, "peer_errors": peerErrs, "summary": summary(r)}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
