package cli

import "github.com/spf13/cobra"

// noArgs is cobra.NoArgs as a usage error (exit 2, usage printed).
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return &FlagError{Err: err}
	}
	return nil
}
