package amitest

import "time"

// ServerOptions configures a Server. The zero value gives the testbed's
// configuration: users "queuesync" and "queuesync-min" (secret
// "queuesync"), DefaultQueues, no SystemName header.
type ServerOptions struct {
	// Username and Secret are the account with read and write "all"
	// (default "queuesync" and "queuesync").
	Username, Secret string
	// Users are further accounts (default DefaultUsers: "queuesync-min").
	Users []User
	// Queues and their static members (default DefaultQueues). QueueStatus
	// reports queues in this order.
	Queues []Queue
	// SystemName, when set, adds a SystemName header to unsolicited events,
	// as Asterisk does when asterisk.conf sets systemname.
	SystemName string
	// PersistentMembers is what a "core restart now" Command keeps (see
	// Server.Restart).
	PersistentMembers bool
	// AuthFailDelay delays the answer to a failed Login; real Asterisk waits
	// one second. Default 0.
	AuthFailDelay time.Duration
	// Asterisk11 switches to the (approximate, unverified) Asterisk 11
	// spellings: QueueMemberPaused events with Location and Reason, no
	// PausedReason, Ringinuse, LoginTime or Wrapuptime, lists without
	// EventList headers ending in a bare QueueStatusComplete, and no
	// QueueMemberRingInUse action.
	Asterisk11 bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// User is an AMI account. Read and Write are class lists as in
// manager.conf: "all", or for example "system,agent".
type User struct {
	Name, Secret string
	Read, Write  string
}

// Queue is a configured queue.
type Queue struct {
	Name     string
	Strategy string // default "ringall"
	Members  []StaticMember
}

// StaticMember is a member configured in queues.conf ("member => ...").
type StaticMember struct {
	Interface      string
	Name           string // default Interface
	StateInterface string // default Interface
	Penalty        int
}

// DefaultUsers returns the testbed's least-privilege user: "queuesync-min"
// with secret "queuesync", read and write "agent". It can run the whole
// queue workflow but not Command or CoreStatus.
func DefaultUsers() []User {
	return []User{{Name: "queuesync-min", Secret: Secret, Read: "agent", Write: "agent"}}
}

// DefaultQueues returns the testbed's queues: billing (leastrecent), support
// (ringall, static member Local/2000@agents "Static Agent" with state
// interface Custom:2000) and sales (rrmemory), in the order the real server
// lists them.
func DefaultQueues() []Queue {
	return []Queue{
		{Name: "billing", Strategy: "leastrecent"},
		{Name: "support", Strategy: "ringall", Members: []StaticMember{{
			Interface: "Local/2000@agents", Name: "Static Agent", StateInterface: "Custom:2000",
		}}},
		{Name: "sales", Strategy: "rrmemory"},
	}
}

// withDefaults fills zero fields.
func (o ServerOptions) withDefaults() ServerOptions {
	if o.Username == "" {
		o.Username = "queuesync"
	}
	if o.Secret == "" {
		o.Secret = Secret
	}
	if o.Users == nil {
		o.Users = DefaultUsers()
	}
	all := User{Name: o.Username, Secret: o.Secret, Read: "all", Write: "all"}
	o.Users = append([]User{all}, o.Users...)
	if o.Queues == nil {
		o.Queues = DefaultQueues()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
