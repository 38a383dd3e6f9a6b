package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/queuesync/queuesync/internal/config"
)

// The sections of the help texts and man pages beyond what cobra writes:
// EXIT STATUS, ENVIRONMENT and FILES, each from one table below, printed
// by --help (exit status only) and as real sections of the man pages.

// exitLine is one row of a command's EXIT STATUS.
type exitLine struct {
	code int
	text string
}

var (
	exitUsageLine = exitLine{ExitUsage, "usage error: unknown command, flag or argument"}
	exitConfLine  = exitLine{ExitUsage, "usage or configuration error ('queuesync config check' lists every problem)"}
	exitIntLine   = exitLine{ExitInterrupted, "interrupted (SIGINT or SIGTERM)"}
	syncExits     = []exitLine{
		{ExitOK, "in sync, or every difference corrected"},
		{ExitFailure, "an error stopped the run (AMI, journal database or peer)"},
		exitConfLine,
		{ExitPartial, "partial: a peer unreachable or an action failed; the rest applied"},
		{ExitLocked, "another resync, pull or push on this node holds the lock; nothing was done"},
		exitIntLine,
	}
	simpleExits = []exitLine{{ExitOK, "success"}, exitUsageLine}
)

// exitStatus lists the exit codes cmd can return.
var exitStatus = map[string][]exitLine{
	"queuesync": {
		{ExitOK, "success: in sync, or every difference corrected"},
		{ExitFailure, "an error stopped the command (AMI, journal database, peer, file)"},
		{ExitUsage, "usage or configuration error"},
		{ExitPartial, "partial: a peer unreachable or an action failed (for status: or a queue out of sync)"},
		{ExitLocked, "another resync, pull or push on this node holds the lock (resync, pull, push)"},
		exitIntLine,
	},
	"queuesync resync": syncExits,
	"queuesync pull":   syncExits,
	"queuesync push":   syncExits,
	"queuesync status": {
		{ExitOK, "every peer answered and every queue is in sync"},
		{ExitFailure, "the local Asterisk or the journal database could not be read"},
		exitConfLine,
		{ExitPartial, "a peer is unreachable, or a queue has differences"},
		exitIntLine,
	},
	"queuesync log": {
		{ExitOK, "the lines were printed"},
		{ExitFailure, "the sync log cannot be read"},
		{ExitUsage, "usage error, or log_file is not set"},
		{ExitInterrupted, "interrupted; log -f always ends this way"},
	},
	"queuesync migrate": {
		{ExitOK, "the journal schema is up to date"},
		{ExitFailure, "the database could not be reached, or a grant is missing (the message names it)"},
		exitConfLine,
		exitIntLine,
	},
	"queuesync daemon": {
		{ExitOK, "stopped by SIGINT or SIGTERM after draining"},
		{ExitFailure, "an error stopped it: journal database, Asterisk login, listen address; systemd restarts it"},
		{ExitUsage, "usage or configuration error; systemd does not restart it (RestartPreventExitStatus=2)"},
		{ExitInterrupted, "a second signal stopped it without draining"},
	},
	"queuesync reload": {
		{ExitOK, "the daemon took the new config"},
		{ExitFailure, "the daemon refused the new config (it runs on with the previous one) or did not answer"},
		exitUsageLine,
	},
	"queuesync config check": {
		{ExitOK, "the configuration is valid"},
		{ExitUsage, "it is not (every problem is printed), or a usage error"},
	},
}

func exitStatusOf(cmd *cobra.Command) []exitLine {
	if e, ok := exitStatus[cmd.CommandPath()]; ok {
		return e
	}
	return simpleExits
}

// envDoc is one variable of the ENVIRONMENT section; scope says which
// commands read it: "log" (every command that logs), "config" (the
// commands that read the config), or a command path.
type envDoc struct {
	name, text string
	scope      []string
}

var envDocs = []envDoc{
	{"QUEUESYNC_CONFIG", "the config file, like --config (default " + defaultConfigPath + ")", []string{"config", "queuesync log"}},
	{"QUEUESYNC_LOG_LEVEL", "the log level on stderr, like --log-level: debug, info, warn or error; the flag wins", []string{"log"}},
	{"QUEUESYNC_LOG_FORMAT", "the log format on stderr, like --log-format: text or json; the flag wins", []string{"log"}},
	{"QUEUESYNC_LOG_FILE", "the sync log, like --log-file (log_file)", []string{"queuesync log"}},
	{"PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGSSLMODE", "libpq's variables fill in what database.url leaves out", []string{"config"}},
	{"NOTIFY_SOCKET", "set by systemd for Type=notify: the daemon reports READY=1, RELOADING=1, STOPPING=1 and STATUS= there", []string{"queuesync daemon"}},
	{"RUNTIME_DIRECTORY", "set by systemd (RuntimeDirectory=queuesync): where the daemon records each reload's outcome for 'queuesync reload' (default /run/queuesync)", []string{"queuesync daemon", "queuesync reload"}},
	{"MAINPID", "set by systemd for ExecReload: the daemon's process id", []string{"queuesync reload"}},
}

// configVars lists the QUEUESYNC_* variables of the config fields.
func configVars() []envDoc {
	var out []envDoc
	for _, f := range config.Fields() {
		if f.Env != "" {
			out = append(out, envDoc{name: f.Env, text: "overrides " + f.Key + "; see queuesync.yaml(5)"})
		}
	}
	return out
}

// envOf lists the variables cmd reads. The root's page lists them all.
func envOf(cmd *cobra.Command) []envDoc {
	path := cmd.CommandPath()
	root := !cmd.HasParent()
	logs := cmd.Flags().Lookup("log-level") != nil
	reads := cmd.Flags().Lookup("database-url") != nil
	var out []envDoc
	for _, e := range envDocs {
		for _, s := range e.scope {
			if root || s == path || (s == "log" && logs) || (s == "config" && reads) {
				out = append(out, e)
				break
			}
		}
	}
	if root {
		return append(out, configVars()...)
	}
	if reads {
		out = append(out, envDoc{name: "QUEUESYNC_*", text: "each field of the config file has a variable, like QUEUESYNC_NODE for node " +
			"and QUEUESYNC_AMI_ADDRESS for ami.address; queuesync.yaml(5) lists them all. A flag overrides a variable, which overrides the file"})
	}
	return out
}

// fileDoc is one entry of the FILES section, for the commands named.
type fileDoc struct {
	path, text string
	cmds       []string
}

var fileDocs = []fileDoc{
	{defaultConfigPath, "the configuration; see queuesync.yaml(5)", []string{"config"}},
	{"/etc/queuesync/*.secret", "the secrets (AMI, peers, database password), one per file, mode 0600, owned by queuesync", []string{"config"}},
	{"/var/log/queue_sync.log", "the sync log (log_file), rotated by /etc/logrotate.d/queuesync", []string{"queuesync log", "queuesync daemon", "queuesync resync", "queuesync pull", "queuesync push"}},
	{"/usr/lib/systemd/system/queuesync.service", "the daemon's unit (Type=notify)", []string{"queuesync daemon", "queuesync reload"}},
	{"/run/queuesync/reload", "the outcome of the daemon's last reload, read by 'queuesync reload'", []string{"queuesync daemon", "queuesync reload"}},
	{"/etc/cron.d/queuesync", "runs /usr/lib/queuesync/cron-resync every 5 minutes where the daemon is enabled; it mails root only on exit 1 or 2, once per failure", []string{"queuesync resync"}},
	{"/var/lib/queuesync/cron-failure", "the failure the cron job last mailed", []string{"queuesync resync"}},
}

func filesOf(cmd *cobra.Command) []fileDoc {
	path := cmd.CommandPath()
	reads := cmd.Flags().Lookup("config") != nil
	var out []fileDoc
	for _, f := range fileDocs {
		for _, c := range f.cmds {
			if !cmd.HasParent() || c == path || (c == "config" && reads) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// setupHelp makes --help print the command's EXIT STATUS after its
// description (the man pages carry it as a section of its own).
func setupHelp(root *cobra.Command) {
	root.SetHelpFunc(func(c *cobra.Command, _ []string) {
		w := c.OutOrStdout()
		desc := c.Long
		if desc == "" {
			desc = c.Short
		}
		fmt.Fprintf(w, "%s\n\n", strings.TrimRight(desc, " \n"))
		if !c.Hidden {
			writeExitStatus(w, c)
			fmt.Fprintln(w)
		}
		if c.Runnable() || c.HasSubCommands() {
			fmt.Fprint(w, c.UsageString())
		}
	})
}

func writeExitStatus(w io.Writer, c *cobra.Command) {
	fmt.Fprintln(w, "EXIT STATUS")
	for _, e := range exitStatusOf(c) {
		fmt.Fprintf(w, "  %-4d %s\n", e.code, e.text)
	}
}
