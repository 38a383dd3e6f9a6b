package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/queuesync/queuesync/internal/node"
)

func newMigrateCmd(d *Deps) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the journal schema in PostgreSQL",
		Long: `Migrate applies the journal schema (table attribute_state, class queue_sync,
and queuesync's own tables) embedded in this binary to database.url. It is
safe to run any number of times and from several nodes at once. The daemon
runs it at start.

The role of database.url needs to connect to the database, to create tables
in its schema (on PostgreSQL 15 and later an ordinary role may not create
in public without GRANT CREATE ON SCHEMA public) and, where attribute_state
already exists, to own it (the migration adds columns to it). When a grant
is missing, migrate names it and prints the statement that adds it; the
README's "The journal database" sets up a dedicated role.`,
		Example: `  queuesync migrate --database-url postgres://queuesync@127.0.0.1/cdrdb`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := node.OpenJournal(cmd.Context(), d.Config.Database)
			if err != nil {
				return pgAdvice(d.Config.Database.URL, err)
			}
			defer st.Close()
			n, err := st.Migrate(cmd.Context())
			if err != nil {
				return pgAdvice(d.Config.Database.URL, err)
			}
			_, err = fmt.Fprintf(d.IO.Out, "journal schema up to date (%d migrations applied)\n", n)
			return err
		},
	}
}
