package state

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// PlanResult is what Plan found: the AMI actions to run, in order, and the
// differences that AMI cannot fix (static and realtime membership), which are
// reported instead.
type PlanResult struct {
	Actions []Action
	Reports []string
	// Deferred are differences that can be fixed only later: a wrap-up
	// time, fixed by remove+add, while the member is on a call. The
	// register stays to be applied, and the next pass tries again.
	Deferred []string
}

// Empty reports whether the plan has neither actions nor reports, that is
// whether live state already holds the target.
func (p PlanResult) Empty() bool { return len(p.Actions) == 0 && len(p.Reports) == 0 }

// Said returns what the plan tells an operator instead of doing now: its
// Reports, then its Deferred differences.
func (p PlanResult) Said() []string {
	return append(slices.Clip(p.Reports), p.Deferred...)
}

// Plan returns the minimal AMI actions that move a member's live state have
// (nil: not in the queue) to the register want (architecture.md §2 rule 2, 6, 7):
//
//   - nothing when the target already holds (see Live.Matches);
//   - a dynamic member is added with a single QueueAdd that carries its
//     pause, reason, penalty, name and state interface, and removed with
//     QueueRemove;
//   - a changed member name or state interface is fixed by remove+add, which
//     the actions' Why says; a pause or a penalty never is;
//   - a pause is fixed with QueuePause (Queue always set), a penalty with
//     QueuePenalty, ringinuse with QueueMemberRingInUse when both sides know it;
//   - a wrap-up time (known on both sides) is set only by QueueAdd: a
//     difference is fixed by remove+add while the member is not on a call,
//     and Deferred while it is;
//   - static and realtime members are never added, removed or renamed: the
//     difference goes to Reports.
//
// A new member's ringinuse is the queue's setting (usually yes), which no
// QueueStatus reports: after a QueueAdd, Plan emits QueueMemberRingInUse only
// when the target is known to be false. A queue whose default is no is
// corrected by the next plan, from the QueueMemberAdded event that reports it.
//
// An empty MemberName or StateInterface means the interface itself, as
// Asterisk fills them in on QueueAdd.
func Plan(want Register, have *Live) PlanResult {
	p := &planner{want: want, have: have}
	switch {
	case !want.Present && have == nil:
	case !want.Present:
		p.remove()
	case have == nil:
		p.add()
	default:
		p.update()
	}
	return p.out
}

type planner struct {
	want Register
	have *Live
	out  PlanResult
}

func (p *planner) remove() {
	if !canAddRemove(p.have.Membership) {
		p.report("%s member %s of queue %s cannot be removed over AMI; remove it in %s",
			p.have.Membership, p.iface(), p.queue(), configPlace(p.have.Membership))
		return
	}
	p.act(Action{Kind: ActRemove}, "present: yes → no")
}

func (p *planner) add() {
	if !canAddRemove(p.want.Membership) {
		p.report("%s member %s is missing from queue %s and cannot be added over AMI; add it in %s",
			p.want.Membership, p.iface(), p.queue(), configPlace(p.want.Membership))
		return
	}
	p.act(p.addAction(), "present: no → yes")
	if r := p.want.Ringinuse; r != nil && !*r {
		p.act(Action{Kind: ActRinginuse, Ringinuse: false}, "ringinuse: queue default → no")
	}
}

// addAction returns the QueueAdd that creates the member in its target state.
func (p *planner) addAction() Action {
	a := Action{
		Kind:           ActAdd,
		MemberName:     p.want.MemberName,
		StateInterface: p.want.StateInterface,
		Penalty:        p.want.Penalty,
		Paused:         p.want.Paused,
		Wrapuptime:     p.want.Wrapuptime,
	}
	if p.want.Paused {
		a.Reason = p.want.PausedReason
	}
	return a
}

func (p *planner) update() {
	what, detail := p.identityChange()
	if what != "" && canAddRemove(p.have.Membership) {
		p.readd(what, what+" changed: remove+add ("+detail+")")
		return
	}
	if what != "" {
		p.report("%s member %s of queue %s: %s (%s) cannot be changed over AMI; change it in %s",
			p.have.Membership, p.iface(), p.queue(), what, detail, configPlace(p.have.Membership))
	}
	if p.wrapuptime() {
		return
	}
	pause, pausing := p.pauseAction()
	if pausing {
		p.append(pause)
	}
	p.penalty()
	p.ringinuse()
	if pause != nil && !pausing {
		p.append(pause)
	}
}

// identityChange says which of the fields fixed at QueueAdd differ, and how
// ("" when none does). State interfaces are device names, compared without
// case as Asterisk does; member names are compared exactly.
func (p *planner) identityChange() (what, detail string) {
	var whats, details []string
	wn, hn := effective(p.want.MemberName, p.iface()), effective(p.have.MemberName, p.have.Interface)
	if wn != hn {
		whats, details = append(whats, "member name"), append(details, hn+" → "+wn)
	}
	ws, hs := effective(p.want.StateInterface, p.iface()), effective(p.have.StateInterface, p.have.Interface)
	if !strings.EqualFold(ws, hs) {
		whats, details = append(whats, "state interface"), append(details, hs+" → "+ws)
	}
	return strings.Join(whats, " and "), strings.Join(details, "; ")
}

// wrapuptime handles a wrap-up time difference; it reports whether the
// member is re-added, which sets everything else too.
func (p *planner) wrapuptime() bool {
	w, h := p.want.Wrapuptime, p.have.Wrapuptime
	if w == nil || h == nil || *w == *h {
		return false
	}
	detail := strconv.Itoa(*h) + "s → " + strconv.Itoa(*w) + "s"
	switch {
	case !canAddRemove(p.have.Membership):
		p.report("%s member %s of queue %s: wrap-up time (%s) cannot be changed over AMI; change it in %s",
			p.have.Membership, p.iface(), p.queue(), detail, configPlace(p.have.Membership))
	case p.have.InCall:
		p.out.Deferred = append(p.out.Deferred, fmt.Sprintf(
			"wrap-up time of %s in queue %s (%s): on a call, fixed by remove+add on a later pass", p.iface(), p.queue(), detail))
	default:
		p.readd("wrap-up time", "wrap-up time changed: remove+add ("+detail+")")
		return true
	}
	return false
}

// readd replaces a dynamic member by remove+add, keeping its ringinuse;
// what names what the remove+add changes.
func (p *planner) readd(what, why string) {
	p.act(Action{Kind: ActRemove, Readd: what}, why)
	add := p.addAction()
	add.Readd = what
	p.act(add, why)
	r := p.want.Ringinuse
	if r == nil {
		r = p.have.Ringinuse
	}
	if r != nil && !*r {
		p.act(Action{Kind: ActRinginuse, Ringinuse: false}, "ringinuse: queue default → no")
	}
}

// pauseAction returns the QueuePause to run (nil: none) and whether it
// pauses; a pause runs first (the agent stops ringing at once), an unpause
// last (the agent rings only once the rest is set).
func (p *planner) pauseAction() (*Action, bool) {
	w, h := p.want, p.have
	switch {
	case w.Paused && !h.Paused:
		return p.pause("paused: no → yes" + reasonSuffix(w.PausedReason)), true
	case !w.Paused && h.Paused:
		return p.pause("paused: yes → no"), false
	case w.Paused && w.PausedReason != h.PausedReason:
		return p.pause("paused reason: " + human(h.PausedReason) + " → " + human(w.PausedReason)), true
	}
	return nil, false
}

func (p *planner) pause(why string) *Action {
	a := p.fill(Action{Kind: ActPause, Paused: p.want.Paused}, why)
	if p.want.Paused {
		a.Reason = p.want.PausedReason
	}
	return &a
}

func (p *planner) penalty() {
	if p.want.Penalty != p.have.Penalty {
		p.act(Action{Kind: ActPenalty, Penalty: p.want.Penalty},
			"penalty: "+strconv.Itoa(p.have.Penalty)+" → "+strconv.Itoa(p.want.Penalty))
	}
}

func (p *planner) ringinuse() {
	w, h := p.want.Ringinuse, p.have.Ringinuse
	if w != nil && h != nil && *w != *h {
		p.act(Action{Kind: ActRinginuse, Ringinuse: *w}, "ringinuse: "+yesNo(*h)+" → "+yesNo(*w))
	}
}

func (p *planner) act(a Action, why string) { p.append(ptr(p.fill(a, why))) }

func (p *planner) append(a *Action) { p.out.Actions = append(p.out.Actions, *a) }

func (p *planner) fill(a Action, why string) Action {
	a.Queue, a.Interface, a.Why = p.queue(), p.iface(), why
	return a
}

func (p *planner) report(format string, args ...any) {
	p.out.Reports = append(p.out.Reports, fmt.Sprintf(format, args...))
}

// queue and iface return the names to use in actions: the register's
// spelling, else the live one.
func (p *planner) queue() string {
	if p.want.Queue == "" && p.have != nil {
		return p.have.Queue
	}
	return p.want.Queue
}

func (p *planner) iface() string {
	if p.want.Interface == "" && p.have != nil {
		return p.have.Interface
	}
	return p.want.Interface
}

// canAddRemove reports whether AMI can add or remove a member of membership
// m; an unknown (empty) membership is taken as dynamic, the only kind AMI
// creates.
func canAddRemove(m Membership) bool { return m == Dynamic || m == "" }

// configPlace says where a static or realtime member is configured.
func configPlace(m Membership) string {
	if m == Realtime {
		return "the realtime queue_members table"
	}
	return "queues.conf"
}

// effective returns v, or iface when v is empty (Asterisk's default for a
// member name or state interface).
func effective(v, iface string) string {
	if v == "" {
		return iface
	}
	return v
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

// human renders a free-text value for Why and reports: "-" when empty.
func human(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func ptr[T any](v T) *T { return &v }
