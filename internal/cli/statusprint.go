package cli

import (
	"fmt"
	"strconv"
	"strings"
)

var (
	statusPeerHeader  = []string{"PEER", "URL", "REACHABLE", "LATENCY", "LAST SYNC", "BACKLOG", "LAST DELIVERY ERROR"}
	statusQueueHeader = []string{"QUEUE", "PEERS", "STATUS"}
)

// printStatus prints the peers table, the queues table, with -v the
// differences, then the problems (on stderr) and a summary line.
func printStatus(d *Deps, r *statusReport, o *statusOptions) error {
	if o.JSON {
		return printJSON(d.IO.Out, r.forJSON())
	}
	if err := printTable(d.IO, peerHeader(d), peerRows(d, r)); err != nil {
		return err
	}
	if r.Queues != nil {
		if _, err := fmt.Fprintln(d.IO.Out); err != nil {
			return err
		}
		if err := printTable(d.IO, statusQueueHeader, queueRows(r)); err != nil {
			return err
		}
	}
	if o.Verbose > 0 && len(r.diffs) > 0 {
		fmt.Fprintln(d.IO.Out)
		if err := printTables(d, &syncReport{Node: r.Node, DryRun: true, Outcomes: r.diffs}, false); err != nil {
			return err
		}
	}
	for _, p := range r.Peers {
		switch {
		case p.Error == "":
		case strings.Contains(p.Error, "peer "+p.Name):
			fmt.Fprintf(d.IO.ErrOut, "queuesync: %s\n", p.Error) // it names the peer already
		default:
			fmt.Fprintf(d.IO.ErrOut, "queuesync: peer %s: %s\n", p.Name, p.Error)
		}
	}
	_, err := fmt.Fprintln(summaryWriter(d, o.Verbose), r.summary())
	return err
}

// forJSON returns r with empty lists where nothing was found, never null,
// so that scripts can iterate without a check.
func (r *statusReport) forJSON() *statusReport {
	c := *r
	if c.Peers == nil {
		c.Peers = []peerReport{}
	}
	c.Queues = make([]queueReport, 0, len(r.Queues))
	for _, q := range r.Queues {
		if q.Peers == nil {
			q.Peers = []string{}
		}
		c.Queues = append(c.Queues, q)
	}
	return &c
}

func peerRows(d *Deps, r *statusReport) [][]string {
	rows := make([][]string, 0, len(r.Peers))
	for _, p := range r.Peers {
		reach, lat := "no", "-"
		switch {
		case p.Reachable && p.Error != "":
			reach, lat = "yes, compare failed", formatLatency(p)
		case p.Reachable:
			reach, lat = "yes", formatLatency(p)
		}
		backlog := "-"
		if p.Backlog != nil {
			backlog = strconv.FormatInt(*p.Backlog, 10)
		}
		lastErr := p.LastError
		if lastErr == "" {
			lastErr = "-"
		}
		row := []string{p.Name, p.URL, reach, lat, formatWhen(d.IO, r.Time, p.LastSync), backlog, lastErr}
		if d.IO.IsTTY {
			row = append(row[:1], row[2:]...) // the URL is in the config
		}
		rows = append(rows, row)
	}
	return rows
}

// peerHeader is the peers table's header: on a terminal without URL, to
// fit 80 columns.
func peerHeader(d *Deps) []string {
	if d.IO.IsTTY {
		return append([]string{statusPeerHeader[0]}, statusPeerHeader[2:]...)
	}
	return statusPeerHeader
}

func formatLatency(p peerReport) string {
	if p.LatencyMS == nil {
		return "-"
	}
	return strconv.FormatFloat(*p.LatencyMS, 'f', 1, 64) + "ms"
}

func queueRows(r *statusReport) [][]string {
	rows := make([][]string, 0, len(r.Queues))
	for _, q := range r.Queues {
		rows = append(rows, []string{q.Queue, strings.Join(q.Peers, ","), q.Status + journalsNote(q)})
	}
	return rows
}

// summary is the last line: the verdict and the counts behind it.
func (r *statusReport) summary() string {
	reachable, inSync, diffs := 0, 0, 0
	for _, p := range r.Peers {
		if p.Reachable {
			reachable++
		}
	}
	for _, q := range r.Queues {
		if q.Checked && q.Differences == 0 {
			inSync++
		}
		diffs += q.Differences
	}
	parts := []string{fmt.Sprintf("%d of %d peers reachable", reachable, len(r.Peers))}
	if len(r.Peers) == 0 {
		parts = []string{"no peers configured (add them under peers: in the config)"}
	}
	if r.Queues != nil {
		parts = append(parts, fmt.Sprintf("%d of %d queues in sync", inSync, len(r.Queues)))
	}
	var verdicts []string
	if len(r.localErrs) > 0 {
		verdicts = append(verdicts, "status incomplete")
	}
	if down := len(r.Peers) - reachable; down > 0 {
		verdicts = append(verdicts, plural(down, "peer", "peers")+" unreachable")
	}
	for _, p := range r.Peers {
		if p.Reachable && p.Error != "" {
			verdicts = append(verdicts, "comparison with "+p.Name+" failed")
		}
	}
	if diffs > 0 {
		verdicts = append(verdicts, plural(diffs, "difference", "differences"))
		parts = append(parts, "run 'queuesync resync -v' to correct them")
	}
	verdict := "all in sync"
	if len(verdicts) > 0 {
		verdict = strings.Join(verdicts, ", ")
	}
	return fmt.Sprintf("%s: %s (%s)", r.Node, verdict, strings.Join(parts, ", "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
