package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/queuesync/queuesync/internal/build"
)

func newVersionCmd(d *Deps) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Long: `Version prints queuesync's version, the commit it was built from, the build
date and the Go version it was built with. It reads no config file.`,
		Example: `  queuesync version
  queuesync version --json`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			in := build.Read()
			if asJSON {
				enc := json.NewEncoder(d.IO.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(in)
			}
			_, err := fmt.Fprintln(d.IO.Out, versionLine(in))
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

// versionLine is what version and --version print.
func versionLine(in build.Info) string {
	return fmt.Sprintf("queuesync %s (commit %s, built %s, %s)", in.Version, orUnknown(in.Commit), orUnknown(in.Date), in.GoVersion)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
