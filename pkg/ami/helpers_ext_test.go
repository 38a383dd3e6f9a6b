package ami_test

import "context"

// contextDone returns an already cancelled context, to poll NextEvent.
func contextDone() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx, cancel
}
