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

// Link returns a self-healing session (ami.Link) that dials the server as
// Dial does, again whenever the fake has dropped the connection or
// restarted. The caller closes it.
func (s *Server) Link(user, events string) *ami.Link {
	return ami.NewLink(func(ctx context.Context) (*ami.Client, error) { return s.Dial(ctx, user, events) })
}
