package ami

import (
	"context"
	"strconv"
	"strings"
)

// IsMemberEvent reports whether an event name (case-insensitive) is one that
// adds, removes or reconfigures a queue member: QueueMemberAdded,
// QueueMemberRemoved, QueueMemberPause (QueueMemberPaused in Asterisk 1.8 to
// 11), QueueMemberPenalty or QueueMemberRinginuse. QueueMemberStatus (device
// state) is not one.
func IsMemberEvent(name string) bool {
	switch strings.ToLower(name) {
	case "queuememberadded", "queuememberremoved", "queuememberpause",
		"queuememberpaused", "queuememberpenalty", "queuememberringinuse":
		return true
	}
	return false
}

// HasMemberState reports whether a member event carries the member's whole
// state, as every QueueMember* event does since Asterisk 12 (Membership,
// Penalty, Paused, PausedReason, LoginTime, ...): decoded with
// DecodeQueueMember it then reads like a QueueStatus item. The events of
// Asterisk 11 and before (QueueMemberPaused with Queue, Location, MemberName,
// Paused and Reason) do not: the member must be asked for.
func HasMemberState(m Message) bool {
	for _, h := range []string{"Queue", "Interface", "Membership", "Penalty", "Paused", "PausedReason", "LoginTime"} {
		if _, ok := m.Lookup(h); !ok {
			return false
		}
	}
	return true
}

// QueueStatus is the decoded result of the QueueStatus action.
type QueueStatus struct {
	Params  []QueueParams
	Members []QueueMember
}

// NoMember is a QueueStatus member filter that no member matches: the
// answer then holds every queue's parameters and no member, the cheapest
// way to learn which queues Asterisk defines.
const NoMember = "queuesync:none"

// QueueStatus runs the QueueStatus action. queue and member filter the
// result when non-empty. An unknown queue gives an empty result, not an
// error. With a member filter, Asterisk still reports the parameters of
// every queue. Waiting callers (QueueEntry) are ignored.
func (c *Client) QueueStatus(ctx context.Context, queue, member string) (QueueStatus, error) {
	a := Action{Name: "QueueStatus"}
	if queue != "" {
		a.Headers = append(a.Headers, Header{Key: "Queue", Value: queue})
	}
	if member != "" {
		a.Headers = append(a.Headers, Header{Key: "Member", Value: member})
	}
	// Each item is decoded as it arrives and its values copied out of it:
	// the raw messages of a large node (about 320 bytes a member on the
	// wire) are never held all at once, nor kept alive by the members
	// decoded from them.
	var st QueueStatus
	names := map[string]string{}
	_, err := c.DoListEach(ctx, a, func(it Message) {
		switch ev := it.Event(); {
		case strings.EqualFold(ev, "QueueMember"):
			st.Members = append(st.Members, detach(DecodeQueueMember(it), names))
		case strings.EqualFold(ev, "QueueParams"):
			st.Params = append(st.Params, DecodeQueueParams(it))
		}
	})
	if err != nil {
		return QueueStatus{}, err
	}
	return st, nil
}

// detach returns m with its strings copied out of the message they all
// share; queue names and memberships, repeated in every item, are shared
// through names.
func detach(m QueueMember, names map[string]string) QueueMember {
	intern := func(s string) string {
		if v, ok := names[s]; ok {
			return v
		}
		v := strings.Clone(s)
		names[v] = v
		return v
	}
	iface := strings.Clone(m.Interface)
	same := func(s string) string {
		if s == m.Interface {
			return iface
		}
		return strings.Clone(s)
	}
	m.Queue, m.Membership = intern(m.Queue), intern(m.Membership)
	m.Name, m.StateInterface = same(m.Name), same(m.StateInterface)
	m.PausedReason = strings.Clone(m.PausedReason)
	m.Interface = iface
	return m
}

// QueueAddRequest describes a dynamic member to add.
type QueueAddRequest struct {
	Queue, Interface string
	MemberName       string // omitted when empty: Asterisk then uses Interface
	StateInterface   string // omitted when empty: Asterisk then uses Interface
	Penalty          int
	Paused           bool
	Reason           string // pause reason; omitted when empty
	Wrapuptime       *int   // the member's own wrap-up time in seconds; omitted when nil (the queue's)
}

// QueueAdd adds a dynamic member. It always sends Penalty and Paused
// (true/false). Known errors: ErrAlreadyThere, ErrNoSuchQueue.
func (c *Client) QueueAdd(ctx context.Context, r QueueAddRequest) error {
	h := []Header{{Key: "Queue", Value: r.Queue}, {Key: "Interface", Value: r.Interface}}
	if r.MemberName != "" {
		h = append(h, Header{Key: "MemberName", Value: r.MemberName})
	}
	if r.StateInterface != "" {
		h = append(h, Header{Key: "StateInterface", Value: r.StateInterface})
	}
	h = append(h, Header{Key: "Penalty", Value: strconv.Itoa(r.Penalty)},
		Header{Key: "Paused", Value: strconv.FormatBool(r.Paused)})
	if r.Reason != "" {
		h = append(h, Header{Key: "Reason", Value: r.Reason})
	}
	if r.Wrapuptime != nil {
		h = append(h, Header{Key: "Wrapuptime", Value: strconv.Itoa(*r.Wrapuptime)})
	}
	_, err := c.Do(ctx, Action{Name: "QueueAdd", Headers: h})
	return err
}

// QueueRemove removes a dynamic member. Known errors: ErrNotThere,
// ErrNoSuchQueue, ErrNotDynamic.
func (c *Client) QueueRemove(ctx context.Context, queue, iface string) error {
	_, err := c.Do(ctx, Action{Name: "QueueRemove", Headers: []Header{
		{Key: "Queue", Value: queue}, {Key: "Interface", Value: iface},
	}})
	return err
}

// QueuePause pauses or unpauses a member (static members too). An empty
// queue applies it to every queue the interface is in. The member's
// PausedReason becomes reason, even when unpausing, and an empty reason
// clears it. Asterisk emits QueueMemberPause even when nothing changed.
// Known error: ErrInterfaceNotFound (also for an unknown queue).
func (c *Client) QueuePause(ctx context.Context, queue, iface string, paused bool, reason string) error {
	h := []Header{{Key: "Interface", Value: iface}}
	if queue != "" {
		h = append(h, Header{Key: "Queue", Value: queue})
	}
	h = append(h, Header{Key: "Paused", Value: strconv.FormatBool(paused)})
	if reason != "" {
		h = append(h, Header{Key: "Reason", Value: reason})
	}
	_, err := c.Do(ctx, Action{Name: "QueuePause", Headers: h})
	return err
}

// QueuePenalty sets a member's penalty; an empty queue applies it to every
// queue the interface is in. Known error: ErrInvalid (unknown interface or
// queue, or a negative penalty).
func (c *Client) QueuePenalty(ctx context.Context, queue, iface string, penalty int) error {
	return c.memberSetting(ctx, "QueuePenalty", queue, iface, Header{Key: "Penalty", Value: strconv.Itoa(penalty)})
}

// QueueMemberRingInUse sets whether a member may be rung while in use; an
// empty queue applies it to every queue the interface is in. Asterisk emits
// QueueMemberRinginuse. Known error: ErrInvalid.
func (c *Client) QueueMemberRingInUse(ctx context.Context, queue, iface string, ringinuse bool) error {
	return c.memberSetting(ctx, "QueueMemberRingInUse", queue, iface, Header{Key: "RingInUse", Value: strconv.FormatBool(ringinuse)})
}

// memberSetting sends action, which sets one setting of a member, in
// queue or (queue empty) in every queue the interface is in.
func (c *Client) memberSetting(ctx context.Context, action, queue, iface string, setting Header) error {
	h := []Header{{Key: "Interface", Value: iface}, setting}
	if queue != "" {
		h = append(h, Header{Key: "Queue", Value: queue})
	}
	_, err := c.Do(ctx, Action{Name: action, Headers: h})
	return err
}
