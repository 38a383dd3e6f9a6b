package engine

import (
	"context"
	"fmt"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami"
)

// execute runs a member's actions in order and stops at the first failure;
// done is how many succeeded.
func (e *Engine) execute(ctx context.Context, acts []state.Action) (done int, err error) {
	for i, a := range acts {
		if err := e.do(ctx, a); err != nil {
			return i, fmt.Errorf("%s %s %s: %w", a.Kind, a.Queue, a.Interface, err)
		}
	}
	return len(acts), nil
}

func (e *Engine) do(ctx context.Context, a state.Action) error {
	switch a.Kind {
	case state.ActAdd:
		return e.opts.AMI.QueueAdd(ctx, ami.QueueAddRequest{
			Queue: a.Queue, Interface: a.Interface, MemberName: a.MemberName,
			StateInterface: a.StateInterface, Penalty: a.Penalty, Paused: a.Paused, Reason: a.Reason, Wrapuptime: a.Wrapuptime,
		})
	case state.ActRemove:
		return e.opts.AMI.QueueRemove(ctx, a.Queue, a.Interface)
	case state.ActPause:
		return e.opts.AMI.QueuePause(ctx, a.Queue, a.Interface, a.Paused, a.Reason)
	case state.ActPenalty:
		return e.opts.AMI.QueuePenalty(ctx, a.Queue, a.Interface, a.Penalty)
	case state.ActRinginuse:
		return e.opts.AMI.QueueMemberRingInUse(ctx, a.Queue, a.Interface, a.Ringinuse)
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}
