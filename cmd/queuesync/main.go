// Command queuesync keeps Asterisk call-queue member state identical on
// active-active nodes. See queuesync(1).
package main

import (
	"context"
	"os"

	"github.com/queuesync/queuesync/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.StdIO()))
}
