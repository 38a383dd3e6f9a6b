package amitest

import (
	"context"

	"github.com/queuesync/queuesync/pkg/ami"
)

// Secret is the default secret: that of the default account and of
// DefaultUsers.
const Secret = "queuesync"

// Dial connects to the server over TCP and logs in as user, with the
// default Secret and the given event mask. The caller closes the client.
func (s *Server) Dial(ctx context.Context, user, events string) (*ami.Client, error) {
	cl, err := ami.Dial(ctx, s.Addr(), ami.Options{})
	if err != nil {
		return nil, err
	}
	if err := cl.Login(ctx, user, Secret, events); err != nil {
		_ = cl.Close()
		return nil, err
	}
	return cl, nil
}
