package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manDate is the date printed in the man pages, fixed so that they only
// change when the commands do.
var manDate = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

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
	cmd.Flags().StringVar(&dir, "dir", "man", "directory to write queuesync*.1 into")
	return cmd
}

func genMan(root *cobra.Command, dir string) error {
	root.DisableAutoGenTag = true
	hdr := &doc.GenManHeader{Title: "QUEUESYNC", Section: "1", Date: &manDate, Source: "queuesync", Manual: "queuesync manual"}
	if err := doc.GenManTree(root, hdr, dir); err != nil {
		return fmt.Errorf("write man pages to %s: %w", dir, err)
	}
	return nil
}
