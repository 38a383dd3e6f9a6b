package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/queuesync/queuesync/internal/config"
)

// manDate is the date printed in the man pages, fixed so that they only
// change when the commands do.
var manDate = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

const manSource, manManual = "queuesync", "queuesync manual"

func newGenManCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:    "gen-man",
		Short:  "Write the man pages",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return genMan(cmd.Root(), dir)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "man", "directory to write queuesync*.1 and queuesync.yaml.5 into")
	return cmd
}

// genMan writes a page per command (queuesync-resync.1, ...) with real EXIT
// STATUS, ENVIRONMENT and FILES sections, and queuesync.yaml(5).
func genMan(root *cobra.Command, dir string) error {
	root.DisableAutoGenTag = true
	for _, c := range allCommandsOf(root) {
		if !c.IsAvailableCommand() && c != root {
			continue
		}
		page, err := manPage(c)
		if err != nil {
			return err
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		if err := os.WriteFile(filepath.Join(dir, name), page, 0o644); err != nil {
			return fmt.Errorf("write man page: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "queuesync.yaml.5"), configManPage(), 0o644); err != nil {
		return fmt.Errorf("write man page: %w", err)
	}
	return nil
}

// manPage renders c's page with cobra/doc and adds the sections cobra
// does not know, before SEE ALSO.
func manPage(c *cobra.Command) ([]byte, error) {
	title := strings.ToUpper(strings.ReplaceAll(c.CommandPath(), " ", "-"))
	hdr := &doc.GenManHeader{Title: title, Section: "1", Date: &manDate, Source: manSource, Manual: manManual}
	var buf bytes.Buffer
	if err := doc.GenMan(c, hdr, &buf); err != nil {
		return nil, fmt.Errorf("render man page of %s: %w", c.CommandPath(), err)
	}
	extra := manSections(c)
	page := buf.String()
	if i := strings.Index(page, ".SH SEE ALSO"); i >= 0 {
		return []byte(page[:i] + extra + page[i:]), nil
	}
	return []byte(page + extra), nil
}

func manSections(c *cobra.Command) string {
	var b strings.Builder
	b.WriteString(".SH EXIT STATUS\n")
	for _, e := range exitStatusOf(c) {
		fmt.Fprintf(&b, ".TP\n.B %d\n%s\n", e.code, roff(e.text))
	}
	if env := envOf(c); len(env) > 0 {
		b.WriteString("\n.SH ENVIRONMENT\n")
		for _, e := range env {
			fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", roff(e.name), roff(e.text))
		}
	}
	if files := filesOf(c); len(files) > 0 {
		b.WriteString("\n.SH FILES\n")
		for _, f := range files {
			fmt.Fprintf(&b, ".TP\n.I %s\n%s\n", roff(f.path), roff(f.text))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// roff escapes text for a roff line: backslashes, and a leading dot or
// apostrophe that would start a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// flagOfField names the command-line flag that overrides a config field.
var flagOfField = map[string]string{
	"node": "--node", "ami.address": "--ami-address", "database.url": "--database-url",
	"listen": "--listen", "log_file": "--log-file",
}

// configManPage is queuesync.yaml(5): every field of the config file with
// its default, variable and flag, from config.Fields.
func configManPage() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, ".nh\n.TH \"QUEUESYNC.YAML\" \"5\" \"%s\" \"%s\" \"%s\"\n", manDate.Format("Jan 2006"), manSource, manManual)
	b.WriteString(`.SH NAME
queuesync.yaml \- the configuration file of queuesync
.SH SYNOPSIS
.I /etc/queuesync/queuesync.yaml
.SH DESCRIPTION
One YAML file configures a queuesync node: the daemon and every command read
it (another file with \fB\-\-config\fP or \fBQUEUESYNC_CONFIG\fP). Each
setting is taken from, in this order of precedence: a command\-line flag, a
\fBQUEUESYNC_*\fP environment variable, the file, the default. Peers are set
in the file only. Secrets never go in the file: each lives in a file of its
own, named by a *_file field, readable by the queuesync user only (mode
0600).
.PP
Durations are written with a unit: 2s, 1m, 720h. An unknown field is an
error, so that a misspelt one is not silently ignored.
\fBqueuesync config check\fP validates the file, the variables and the
flags, and names every problem with its field and fix.
.SH FIELDS
`)
	for _, f := range config.Fields() {
		fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", roff(f.Key), roff(f.Doc))
		var facts []string
		if f.Default != "" {
			facts = append(facts, "Default: "+roff(f.Default)+".")
		}
		if f.Env != "" {
			facts = append(facts, "Variable: \\fB"+roff(f.Env)+"\\fP.")
		}
		if fl, ok := flagOfField[f.Key]; ok {
			facts = append(facts, "Flag: \\fB"+roff(fl)+"\\fP.")
		}
		if len(facts) > 0 {
			b.WriteString(".br\n" + strings.Join(facts, " ") + "\n")
		}
	}
	b.WriteString(`.SH ENVIRONMENT
`)
	for _, e := range envDocs {
		if e.name == "QUEUESYNC_CONFIG" || strings.HasPrefix(e.name, "PG") {
			fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", roff(e.name), roff(e.text))
		}
	}
	b.WriteString(`Each field above names its own variable.
.SH FILES
.TP
.I /etc/queuesync/queuesync.yaml
the file; the packages install an annotated example (a conffile)
.TP
.I /etc/queuesync/*.secret
the secret files it names
.SH EXAMPLE
.EX
node: sop1
ami:
  address: 127.0.0.1:5038
  username: queuesync
  secret_file: /etc/queuesync/ami.secret
database:
  url: postgres:///cdrdb?host=/var/run/postgresql
listen: 0.0.0.0:8038
peers:
  \- name: sop2
    url: http://10.0.0.2:8038
    secret_file: /etc/queuesync/peer\-sop2.secret
    queues: all
log_file: /var/log/queue_sync.log
.EE
.SH SEE ALSO
\fBqueuesync\fP(1), \fBqueuesync\-config\-check\fP(1), \fBqueuesync\-daemon\fP(1), \fBqueuesync\-peer\-api\fP(7)
`)
	return []byte(b.String())
}
