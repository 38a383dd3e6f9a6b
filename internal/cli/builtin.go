package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// setupBuiltinCommands adds cobra's help and completion commands now,
// rather than at Execute, so that they carry queuesync's help texts, get
// man pages like every other command, and treat an unknown topic or shell
// as a usage error (exit 2) instead of printing help and exiting 0.
func setupBuiltinCommands(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Long = "Help prints the help of any command; 'man queuesync-COMMAND' has the same text."
			c.Example = "  queuesync help resync\n  queuesync resync --help"
			run := c.Run
			c.Run = nil
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if target, rest, err := cmd.Root().Find(args); err != nil || target == nil || len(rest) > 0 {
					return unknownCommand(cmd.Root(), strings.Join(args, " "))
				}
				run(cmd, args)
				return nil
			}
		case "completion":
			c.Long += `
The deb and rpm packages install the scripts in the standard places
(/usr/share/bash-completion/completions/queuesync,
/usr/share/zsh/vendor-completions/_queuesync,
/usr/share/fish/vendor_completions.d/queuesync.fish), so that completion
works in a new shell without any of the commands below. The scripts ask
queuesync itself for the names of peers (from the config file) and queues
(from the sync log), and offer the values of flags like --log-level.`
			c.Example = "  queuesync completion bash > /etc/bash_completion.d/queuesync\n  source <(queuesync completion bash)"
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(cmd *cobra.Command, args []string) error {
				if len(args) > 0 {
					return &FlagError{Err: fmt.Errorf("unknown shell %q for %q: want bash, zsh, fish or powershell", args[0], cmd.CommandPath())}
				}
				return cmd.Help()
			}
			for _, sh := range c.Commands() {
				sh.Example = "  queuesync completion " + sh.Name() + " > queuesync." + sh.Name()
			}
		}
	}
}

// unknownCommand is the usage error for an argument that names no command,
// with cobra's suggestions.
func unknownCommand(root *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, root.CommandPath())
	if s := root.SuggestionsFor(name); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return &FlagError{Err: fmt.Errorf("%s (queuesync help lists the commands)", msg)}
}
