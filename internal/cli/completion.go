package cli

import (
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/queuesync/queuesync/internal/config"
)

// setupCompletion makes shell completion offer what the operator would
// type: peer names for --peer (from the config file), queue names for the
// arguments of resync, pull, push and status (the config's queue lists and
// the queues in the sync log; no connection is made), and the values of
// enumerated flags.
func setupCompletion(d *Deps, root *cobra.Command) {
	for _, c := range allCommandsOf(root) {
		if c.Flags().Lookup("log-level") != nil {
			_ = c.RegisterFlagCompletionFunc("log-level", fixedValues(logLevels))
			_ = c.RegisterFlagCompletionFunc("log-format", fixedValues(logFormats))
		}
		if c.Flags().Lookup("peer") != nil {
			_ = c.RegisterFlagCompletionFunc("peer", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return d.completionPeers(), cobra.ShellCompDirectiveNoFileComp
			})
		}
		switch c.Name() {
		case "resync", "pull", "push", "status":
			c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
				return without(d.completionQueues(), args), cobra.ShellCompDirectiveNoFileComp
			}
		case "history":
			c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return d.completionQueues(), cobra.ShellCompDirectiveNoFileComp
			}
		}
	}
}

func fixedValues(vs []string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return vs, cobra.ShellCompDirectiveNoFileComp
	}
}

// completionConfig reads the config as the command would, or nothing.
func (d *Deps) completionConfig() (config.Config, bool) {
	cfg, _, err := d.resolveConfig()
	return cfg, err == nil
}

func (d *Deps) completionPeers() []string {
	cfg, ok := d.completionConfig()
	if !ok {
		return nil
	}
	var out []string
	for _, p := range cfg.Peers {
		out = append(out, p.Name)
	}
	return out
}

// logQueue finds the queue of a sync log line.
var logQueue = regexp.MustCompile(`\bqueue=(\S+)`)

// completionQueues gathers queue names from the peers' queue lists and
// from the last 64 KiB of the sync log.
func (d *Deps) completionQueues() []string {
	cfg, ok := d.completionConfig()
	if !ok {
		return nil
	}
	seen := map[string]string{}
	add := func(q string) {
		if k := strings.ToLower(q); seen[k] == "" {
			seen[k] = q
		}
	}
	for _, p := range cfg.Peers {
		for _, q := range p.Queues.Names {
			add(q)
		}
	}
	if f, err := os.Open(cfg.LogFile); err == nil {
		defer f.Close()
		const tailSize = 64 << 10
		if fi, err := f.Stat(); err == nil && fi.Size() > tailSize {
			_, _ = f.Seek(fi.Size()-tailSize, 0)
		}
		buf := make([]byte, tailSize)
		n, _ := f.Read(buf)
		for _, m := range logQueue.FindAllStringSubmatch(string(buf[:n]), -1) {
			add(m[1])
		}
	}
	out := make([]string, 0, len(seen))
	for _, q := range seen {
		out = append(out, q)
	}
	sort.Strings(out)
	return out
}

// without drops the values already given.
func without(vs, given []string) []string {
	var out []string
	for _, v := range vs {
		dup := false
		for _, g := range given {
			dup = dup || strings.EqualFold(v, g)
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}
