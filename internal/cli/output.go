package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// tableWidth is the width a terminal table aims to fit in.
const tableWidth = 80

// printTable writes rows under header: plain tab-separated values when
// piped (for scripts); on a terminal, a table with box borders where the
// terminal draws them (UTF-8, not TERM=dumb), else aligned columns. A
// terminal table's last column is shortened to fit 80 characters.
func printTable(io IOStreams, header []string, rows [][]string) error {
	if !io.IsTTY {
		return printTSV(io.Out, header, rows)
	}
	rows = fitLastColumn(header, rows, io.Borders)
	if !io.Borders {
		return printAligned(io.Out, header, rows)
	}
	t := tablewriter.NewTable(io.Out,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	t.Header(toAny(header)...)
	for _, r := range rows {
		if err := t.Append(toAny(r)...); err != nil {
			return fmt.Errorf("format table: %w", err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("render table: %w", err)
	}
	return nil
}

// fitLastColumn shortens the cells of the last column so that the table
// fits tableWidth, keeping at least 12 characters of them.
func fitLastColumn(header []string, rows [][]string, borders bool) [][]string {
	n := len(header)
	widths := make([]int, n)
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	pad := 2 // between aligned columns
	if borders {
		pad = 3 // "│ " and " "
	}
	used := 1
	for _, w := range widths[:n-1] {
		used += w + pad
	}
	room := max(tableWidth-used-pad, 12)
	if widths[n-1] <= room {
		return rows
	}
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = append([]string(nil), r...)
		out[i][n-1] = shorten(r[n-1], room)
	}
	return out
}

// printAligned writes a table without borders, columns aligned by spaces.
func printAligned(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range append([][]string{header}, rows...) {
		if _, err := fmt.Fprintln(tw, strings.Join(r, "\t")); err != nil {
			return err
		}
	}
	return tw.Flush()
}

func printTSV(w io.Writer, header []string, rows [][]string) error {
	if _, err := fmt.Fprintln(w, strings.Join(header, "\t")); err != nil {
		return err
	}
	for _, r := range rows {
		clean := make([]string, len(r))
		for i, c := range r {
			clean[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
		}
		if _, err := fmt.Fprintln(w, strings.Join(clean, "\t")); err != nil {
			return err
		}
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// formatWhen formats t for a table: "never" when nil; on a terminal the age
// relative to now ("3m ago"), otherwise RFC3339 in UTC, for scripts.
func formatWhen(io IOStreams, now time.Time, t *time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	if !io.IsTTY {
		return t.UTC().Format(time.RFC3339)
	}
	return ago(now.Sub(*t))
}

// ago renders an age as a terminal user reads it: "just now", "42s ago",
// "5m ago", "3h ago", "2d ago"; a negative age (clocks apart) as "in 5s".
func ago(d time.Duration) string {
	if d <= -time.Second {
		return "in " + strings.TrimSuffix(ago(-d), " ago")
	}
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

// shorten cuts s to at most max runes, marking the cut with "…".
func shorten(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}

// printJSONLine writes v as one line of JSON (JSON Lines), for streams.
func printJSONLine(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// drawsBorders reports whether the terminal described by the environment
// shows box-drawing characters: not TERM=dumb, and a UTF-8 locale.
func drawsBorders(getenv func(string) string) bool {
	if t := getenv("TERM"); t == "" || t == "dumb" {
		return false
	}
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := getenv(k); v != "" {
			v = strings.ToUpper(v)
			return strings.Contains(v, "UTF-8") || strings.Contains(v, "UTF8")
		}
	}
	return false
}
