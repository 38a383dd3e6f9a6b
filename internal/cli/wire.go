package cli

import (
	"context"

	"github.com/queuesync/queuesync/internal/node"
)

// openNode assembles this node's parts through d.Node, with the command's
// clock and logger.
func (d *Deps) openNode(ctx context.Context, o node.Options) (*node.Node, error) {
	o.Now, o.Log = d.Now, d.Log
	return d.Node(ctx, o)
}

// openNodeFromConfig is the production Deps.Node: node.Open on d.Config.
func (d *Deps) openNodeFromConfig(ctx context.Context, o node.Options) (*node.Node, error) {
	return node.Open(ctx, d.Config, o)
}
