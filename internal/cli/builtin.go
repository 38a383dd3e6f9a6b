package cli

import (
	"github.com/spf13/cobra"
)

// setupBuiltinCommands adds cobra's help and completion commands now,
// rather than at Execute, so that they carry queuesync's help texts and get
// man pages like every other command.
func setupBuiltinCommands(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Long = "Help prints the help of any command; 'man queuesync-COMMAND' has the same text.\n\n" + exitStatusHelp
			c.Example = "  queuesync help resync\n  queuesync resync --help"
		case "completion":
			c.Long += `
The deb and rpm packages install the scripts in the standard places
(/usr/share/bash-completion/completions/queuesync,
/usr/share/zsh/vendor-completions/_queuesync,
/usr/share/fish/vendor_completions.d/queuesync.fish), so that completion
works in a new shell without any of the commands below.

` + exitStatusHelp
			c.Example = "  queuesync completion bash > /etc/bash_completion.d/queuesync\n  source <(queuesync completion bash)"
			for _, sh := range c.Commands() {
				sh.Long += "\n" + exitStatusHelp
				sh.Example = "  queuesync completion " + sh.Name() + " > queuesync." + sh.Name()
			}
		}
	}
}
