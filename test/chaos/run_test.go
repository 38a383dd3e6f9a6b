//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

// execOp is one change as executed.
type execOp struct {
	idx     int // step index
	op      op
	at      time.Time
	before  member
	result  member // the oracle's state of the key after this change
	after   member // read back right after (a difference is only noted)
	skipped string

	settled bool
	stamp   state.Stamp // its register's stamp, once settled
	origin  string
}

// runner plays one seed's schedule against the cluster.
type runner struct {
	c      *cluster
	steps  []step
	minOff []time.Duration
	logf   *os.File
	start  time.Time

	ops       []*execOp
	last      map[key]*execOp
	blindRest []bool // Asterisk restarted while its daemon could not see it
	restMark  []int  // the daemon's reconciles before that restart
	// startMark is, while a daemon starts, its reconciles before the start
	// (-1: not starting): until its first reconcile has read its Asterisk,
	// a daemon that runs sees no more than one that does not.
	startMark []int
	paused    []bool         // the daemon is SIGSTOPped
	reloads   [][]int64      // per node, the Unix seconds of its app_queue reloads
	blindKeys []map[key]bool // per node, the keys changed while its daemon was blind
	restarts  []*astRestart
	pgDown    bool // PostgreSQL killed and not started again
	// startLater holds the clock offsets of daemons that exited at start
	// because their journal was down: they start again once PostgreSQL is
	// back, as systemd restarts them (Restart=on-failure).
	startLater map[int]time.Duration
	notes      []string
	faults     int
	kinds      map[string]int
	skipped    []string
	resyncs    map[int]int // exit codes of the cron resyncs
}

// cleanup undoes what a seed that ended early (on an error) leaves behind
// for the next one: PostgreSQL down, an Asterisk restart under way.
func (r *runner) cleanup() {
	if r.pgDown {
		if _, err := r.c.Env.Testbed("pg-start"); err != nil {
			r.logLine("cleanup: %v", err)
		}
		r.pgDown = false
	}
	for n, ar := range r.restarts {
		if ar != nil {
			<-ar.done
			r.restarts[n] = nil
		}
	}
}

// astRestart is an asynchronous Asterisk restart under way.
type astRestart struct {
	done   chan error
	before int // the daemon's reconciles before it
}

func newRunner(c *cluster, steps []step, logf *os.File) *runner {
	n := len(c.nodes)
	r := &runner{c: c, steps: steps, minOff: minOffsets(steps, n), logf: logf, start: time.Now(), last: map[key]*execOp{},
		blindRest: make([]bool, n), restMark: make([]int, n), startMark: make([]int, n), reloads: make([][]int64, n), blindKeys: make([]map[key]bool, n), paused: make([]bool, n), restarts: make([]*astRestart, n), startLater: map[int]time.Duration{}, kinds: map[string]int{}, resyncs: map[int]int{}}
	for i := range r.blindKeys {
		r.blindKeys[i] = map[key]bool{}
		r.startMark[i] = -1 // the cluster waited for every daemon's first reconcile
	}
	return r
}

func (r *runner) logLine(format string, args ...any) {
	fmt.Fprintf(r.logf, "%8.3f ", time.Since(r.start).Seconds())
	fmt.Fprintf(r.logf, format+"\n", args...)
}

func (r *runner) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.notes = append(r.notes, s)
	r.logLine("NOTE %s", s)
}

// deliverable reports whether a change journalled on a can reach b now:
// a's daemon runs, and there is a chain of peers from a to b whose daemons
// see their Asterisk (to apply the change, and forward it), each peer API
// open to the one before.
func (r *runner) deliverable(a, b int) bool {
	if !r.c.nodes[a].Running() || r.paused[a] || r.pgDown {
		return false
	}
	return r.c.topo.reaches(a, b, func(_, y int) bool { return !r.blind(y) && r.c.nodes[y].PeerGate.IsOpen() })
}

// blind reports whether node n's daemon cannot see its Asterisk now, or
// cannot journal what it sees.
func (r *runner) blind(n int) bool {
	nd := r.c.nodes[n]
	return !nd.Running() || !nd.AMIGate.IsOpen() || r.paused[n] || r.restarts[n] != nil || r.pgDown || r.starting(n)
}

// starting reports whether n's daemon has not yet logged its first
// reconcile since it started: a change made meanwhile and one made while
// it was down add up, for the daemon, to what its first read shows (a
// pause then an unpause: nothing, rule 3), as for two changes while down.
func (r *runner) starting(n int) bool {
	if r.startMark[n] < 0 {
		return false
	}
	if r.c.nodes[n].reconciles() > r.startMark[n] {
		r.startMark[n] = -1
		return false
	}
	return true
}

// play runs every step up to the final heal and returns the time the final
// heal began.
func (r *runner) play() (time.Time, error) {
	heal := time.Time{}
	for i, s := range r.steps {
		if s.Kind == stHealBegin {
			heal = time.Now()
		}
		if s.Kind != stOp && s.Kind != stSleep {
			r.logLine("step %d: %s", i, s)
		}
		if err := r.do(i, s); err != nil {
			return time.Time{}, fmt.Errorf("step %d (%s): %w", i, s, err)
		}
		if s.Kind == stFinal {
			break
		}
	}
	if heal.IsZero() {
		heal = time.Now()
	}
	return heal, nil
}

func (r *runner) do(i int, s step) error {
	c := r.c
	if s.Fault != "" {
		r.faults++
		r.kinds[s.Fault]++
	}
	switch s.Kind {
	case stSleep:
		time.Sleep(s.Sleep)
	case stOp:
		return r.doOp(i, *s.Op)
	case stPartition:
		for n, closed := range s.Closed {
			if closed {
				c.nodes[n].PeerGate.Cut()
			}
		}
	case stHealPartition:
		c.Heal()
	case stKill:
		c.stopDaemon(c.nodes[s.Node], true)
		r.paused[s.Node] = false
	case stStop:
		c.stopDaemon(c.nodes[s.Node], false)
		r.paused[s.Node] = false
	case stStart:
		return r.startDaemon(s.Node, s.Offset)
	case stRestartDaemon:
		c.stopDaemon(c.nodes[s.Node], false)
		r.paused[s.Node] = false
		return r.startDaemon(s.Node, s.Offset)
	case stPause:
		if d := c.nodes[s.Node].Daemon(); d != nil {
			if err := d.Pause(); err != nil {
				return err
			}
			r.paused[s.Node] = true
		}
	case stResume:
		n := c.nodes[s.Node]
		if d := n.Daemon(); d != nil && r.paused[s.Node] {
			if err := d.Resume(); err != nil {
				return err
			}
			r.paused[s.Node] = false
			r.afterBlindRestart(s.Node)
		}
	case stAstRestart:
		return r.restartAsterisk(i, s)
	case stAstWait:
		return r.waitAsterisk(s.Node)
	case stReload:
		return r.reload(i, s)
	case stAMICut:
		c.nodes[s.Node].AMIGate.Cut()
	case stAMIRestore:
		c.nodes[s.Node].AMIGate.Heal()
		r.afterBlindRestart(s.Node)
	case stPGRestart:
		if _, err := c.Env.Testbed("pg-restart"); err != nil {
			return err
		}
	case stPGKill:
		r.pgDown = true
		if _, err := c.Env.Testbed("pg-kill"); err != nil {
			return err
		}
	case stPGStart:
		if _, err := c.Env.Testbed("pg-start"); err != nil {
			return err
		}
		r.pgDown = false
		for _, n := range slices.Sorted(maps.Keys(r.startLater)) {
			if c.nodes[n].Running() {
				continue
			}
			r.logLine("sop%d: daemon started again now that PostgreSQL is back", n+1)
			if err := r.startDaemon(n, r.startLater[n]); err != nil {
				return err
			}
		}
		clear(r.startLater)
	case stLink:
		return r.setLink(s.Node, true)
	case stLinkHeal:
		return r.setLink(s.Node, false)
	case stResync:
		r.cronResync(s.Node)
	case stHealBegin, stFinal:
	}
	return nil
}

// setLink makes the link to node n's peer API slow and lossy (on) or
// plain again: 150-170 ms of latency each way in its gate, and 5% of the
// packets dropped by the kernel on its namespace's veth; without network
// namespaces, the gate holds back 5% of the chunks for a retransmission
// timeout and cuts 0.5% of the connections instead.
func (r *runner) setLink(n int, on bool) error {
	nd := r.c.nodes[n]
	l, loss := harness.Link{}, 0
	if on {
		l, loss = harness.Link{Delay: 150 * time.Millisecond, Jitter: 20 * time.Millisecond}, 5
		if nd.Netns == "" {
			l.Loss, l.Drop = 0.05, 0.005
		}
	}
	nd.PeerGate.SetLink(l)
	if nd.Netns != "" {
		return nd.SetLoss(loss)
	}
	return nil
}

func (r *runner) startDaemon(n int, off time.Duration) error {
	nd := r.c.nodes[n]
	// A new daemon's reconciles all come after the restart.
	r.restMark[n] = nd.reconciles()
	r.startMark[n] = r.restMark[n]
	if err := r.c.startDaemon(nd, off); err != nil {
		if r.pgDown && !nd.Running() {
			// It cannot open its journal; systemd would start it again.
			r.logLine("sop%d: daemon exited at start, PostgreSQL down: %v", n+1, err)
			r.startLater[n] = off
			return nil
		}
		return err
	}
	r.afterBlindRestart(n)
	return nil
}

// afterBlindRestart waits, when n's Asterisk restarted while its daemon
// could not see it and the daemon now can, for the daemon's reconcile with
// the new Asterisk: any reconcile since the restart began (a stopped daemon
// may have made it before SIGSTOP took hold).
func (r *runner) afterBlindRestart(n int) {
	if r.blindRest[n] && !r.blind(n) {
		r.waitReconcile(n, r.restMark[n])
	}
}

// reload reloads app_queue on node s.Node. A reload that rereads
// queues.conf (`queue reload members` always, `module reload app_queue.so`
// when the file changed) makes the static member anew: penalty as
// configured, pause kept but not its reason. queuesync puts the reason back
// after a module reload (it sees Event: Reload) but can do nothing about a
// penalty, nor about `queue reload members` (no event at all). So the
// harness reloads only while the static member holds, on that node, what
// the oracle says and a reload keeps: penalty 0, and for `queue reload
// members` not paused; it waits for a change of it still on its way there,
// and skips the reload otherwise.
func (r *runner) reload(i int, s step) error {
	want := r.oracle()[staticKey]
	nd := r.c.nodes[s.Node]
	skip := func(why string) {
		msg := fmt.Sprintf("step %d skipped: %s", i, why)
		r.skipped = append(r.skipped, msg)
		r.logLine("%s", msg)
		r.faults--
		r.kinds[s.Fault]--
	}
	if !s.Members && r.blind(s.Node) {
		// Its daemon would not see Event: Reload; the reason would come
		// back only at its next reconcile, racing the changes made before.
		skip(fmt.Sprintf("sop%d's daemon cannot see the reload", s.Node+1))
		return nil
	}
	if want.Penalty != 0 || (s.Members && want.Paused) {
		skip(fmt.Sprintf("the static member is %s: a reload would reset it", want))
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		live, err := nd.member(staticKey)
		if err != nil {
			return err
		}
		if live == want {
			break
		}
		l := r.last[staticKey]
		if l == nil || !r.deliverable(l.op.Node, s.Node) || time.Now().After(deadline) {
			skip(fmt.Sprintf("the static member on sop%d is %s, not yet %s", s.Node+1, live, want))
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.reloads[s.Node] = append(r.reloads[s.Node], time.Now().Unix())
	before := nd.reconciles()
	out, err := nd.Testbed("rx", s.reloadCommand())
	if err != nil {
		return err
	}
	r.logLine("sop%d: %s", s.Node+1, strings.TrimSpace(out))
	if !s.Members {
		// As after a restart: no change on the node until the daemon has
		// reconciled with the reload (it may put a reason back).
		r.waitReconcile(s.Node, before)
	}
	return nil
}

// cronResync runs `queuesync resync` on node n as cron would: with the
// daemon's paths (through the gates) and its clock offset. Whatever it
// answers (3 when the peer is unreachable, 1 when Asterisk or the journal is
// down) is logged, not judged: the final verdict judges what it did.
func (r *runner) cronResync(n int) {
	nd := r.c.nodes[n]
	res := r.c.CLI(nd.Node, harness.CLIOptions{DaemonConfig: true, Offset: nd.offset, Timeout: time.Minute}, "resync", "-v")
	r.resyncs[res.Code()]++
	r.logLine("cron resync on sop%d: exit %d\n%s", n+1, res.Code(), strings.TrimSpace(res.Output()))
}

// waitReconcile waits until n's daemon has logged a full reconcile after
// the count before: its restore after an Asterisk restart it did not see is
// done, and a change made now cannot be mistaken for the restart's loss.
func (r *runner) waitReconcile(n, before int) {
	nd := r.c.nodes[n]
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if nd.reconciles() > before {
			r.blindRest[n] = false
			r.logLine("sop%d reconciled", n+1)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.note("sop%d's daemon logged no reconcile within 20 s of regaining its Asterisk", n+1)
	r.blindRest[n] = false
}

// restartAsterisk restarts node s.Node's Asterisk with persistentmembers as
// the step says. A change on that node that its daemon has not journalled
// would be erased by the restart and, by architecture.md §2 rule 5, not restored: the
// harness waits for such changes to be journalled, and skips the restart when
// it cannot (the daemon is down or cut off). An asynchronous restart
// returns once it has begun; stAstWait waits for its end.
func (r *runner) restartAsterisk(i int, s step) error {
	nd := r.c.nodes[s.Node]
	for _, e := range r.ops {
		if e.op.Node != s.Node || e.skipped != "" || r.last[e.op.Key] != e || e.settled {
			continue
		}
		if r.blind(s.Node) {
			if !r.settledNow(e) {
				msg := fmt.Sprintf("step %d skipped: change at step %d not journalled by sop%d's daemon (down or cut off)", i, e.idx, s.Node+1)
				r.skipped = append(r.skipped, msg)
				r.logLine("%s", msg)
				return nil
			}
			continue
		}
		if !r.waitSettled(e, 12*time.Second) {
			r.note("change at step %d (%s) was not journalled by sop%d within 12 s", e.idx, e.op, s.Node+1)
		}
	}
	p := "no"
	if s.Persist {
		p = "yes"
	}
	if _, err := nd.Testbed("persist", p); err != nil {
		return err
	}
	before := nd.reconciles()
	r.restMark[s.Node] = before
	nd.persist = s.Persist
	if s.Async {
		ar := &astRestart{done: make(chan error, 1), before: before}
		r.restarts[s.Node] = ar
		go func() {
			_, err := nd.Testbed("restart")
			ar.done <- err
		}()
		return nil
	}
	blind := r.blind(s.Node)
	if _, err := nd.Testbed("restart"); err != nil {
		return err
	}
	nd.CloseAMI()
	r.blindRest[s.Node] = true
	if !blind {
		r.waitReconcile(s.Node, before)
	}
	return nil
}

// waitAsterisk waits for the end of node n's asynchronous Asterisk restart
// and, when its daemon can see it, for the daemon's reconcile with it.
func (r *runner) waitAsterisk(n int) error {
	ar := r.restarts[n]
	if ar == nil {
		return nil // skipped
	}
	err := <-ar.done
	r.restarts[n] = nil
	if err != nil {
		return err
	}
	nd := r.c.nodes[n]
	nd.CloseAMI()
	r.blindRest[n] = true
	if !r.blind(n) {
		r.waitReconcile(n, ar.before)
	}
	return nil
}

// doOp makes one change, after waiting, when the previous change of the key
// was made on the other node, until last writer wins by stamp agrees with
// last writer wins by real time (README.md, "The oracle").
func (r *runner) doOp(i int, o op) error {
	e := &execOp{idx: i, op: o}
	r.ops = append(r.ops, e)
	n := r.c.nodes[o.Node]
	blind := r.blind(o.Node)
	if !blind {
		clear(r.blindKeys[o.Node])
	} else if r.blindKeys[o.Node][o.Key] {
		// A daemon that could not see two changes of a member sees only
		// their sum, which may be nothing at all (a pause and an unpause):
		// by last writer wins they would beat a change made meanwhile on
		// another node, but nothing on this node can tell they happened.
		e.skipped = fmt.Sprintf("a second change of %s while sop%d's daemon cannot see it", o.Key, o.Node+1)
		r.skipped = append(r.skipped, fmt.Sprintf("step %d skipped: %s", i, e.skipped))
		r.logLine("op %d SKIP %s: %s", i, o, e.skipped)
		return nil
	}
	if l := r.last[o.Key]; l != nil && l.op.Node != o.Node {
		if reason := r.waitOrdered(l, o); reason != "" {
			e.skipped = reason
			r.skipped = append(r.skipped, fmt.Sprintf("step %d skipped: %s", i, reason))
			r.logLine("op %d SKIP %s: %s", i, o, reason)
			return nil
		}
	}
	before, err := n.member(o.Key)
	if err != nil {
		return err
	}
	e.before = before
	res, ok := o.apply(before)
	if !ok {
		e.skipped = "invalid or no change on the live state " + before.String()
		r.logLine("op %d SKIP %s: %s", i, o, e.skipped)
		return nil
	}
	e.at = time.Now()
	if err := r.perform(n, o); err != nil {
		e.skipped = "Asterisk refused: " + err.Error()
		r.logLine("op %d SKIP %s: %s", i, o, e.skipped)
		return nil
	}
	e.result = res
	r.last[o.Key] = e
	if blind {
		r.blindKeys[o.Node][o.Key] = true
	}
	after, err := n.member(o.Key)
	if err == nil {
		e.after = after
		if after != res {
			r.note("op %d %s: read back %s, expected %s (before %s)", i, o, after, res, before)
		}
	}
	r.logLine("op %d %s: %s -> %s", i, o, before, res)
	return nil
}

// waitOrdered waits until a change o, made after l on the other node, will
// carry a later stamp than l: l must be journalled on its node, and either
// o's node already holds l's version (its clock has then merged l's stamp)
// or o's earliest possible stamp is past l's. It returns a reason when o
// must be skipped instead.
func (r *runner) waitOrdered(l *execOp, o op) string {
	if !r.settledNow(l) {
		if r.blind(l.op.Node) {
			return fmt.Sprintf("the last change of %s (step %d on sop%d) is not journalled and its daemon cannot see it", o.Key, l.idx, l.op.Node+1)
		}
		if !r.waitSettled(l, 12*time.Second) {
			r.note("change at step %d (%s) was not journalled by sop%d within 12 s", l.idx, l.op, l.op.Node+1)
			return ""
		}
	}
	n := r.c.nodes[o.Node]
	holds := func() bool {
		row, ok, err := n.journalRow(o.Key)
		return err == nil && ok && row.Stamp.Compare(l.stamp) >= 0
	}
	// While l can reach o's node it may be applied there at any moment:
	// wait for it rather than race it (a change racing queuesync's own
	// action on the same member would make that action redundant).
	if r.deliverable(l.op.Node, o.Node) && !l.stamp.IsZero() && !holds() {
		deadline := time.Now().Add(10 * time.Second)
		for !holds() && time.Now().Before(deadline) && r.deliverable(l.op.Node, o.Node) {
			time.Sleep(20 * time.Millisecond)
		}
		if !holds() {
			r.note("step %d (%s) did not reach sop%d within 10 s although the path was open", l.idx, l.op, o.Node+1)
		}
	}
	deadline := time.Now().Add(45 * time.Second)
	waited := false
	for {
		if holds() {
			break
		}
		// A change is dated at the second Asterisk reports (LoginTime,
		// LastPause) or by the daemon's clock, whichever is earlier.
		now := time.Now()
		earliest := min(now.Truncate(time.Second).UnixMilli(), now.Add(r.minOff[o.Node]).UnixMilli())
		if earliest > l.stamp.Wall {
			break
		}
		if now.After(deadline) {
			r.note("op %s: waited 45 s for a stamp past %s (step %d)", o, l.stamp, l.idx)
			break
		}
		waited = true
		time.Sleep(50 * time.Millisecond)
	}
	if waited {
		r.logLine("waited for stamps to order %s after step %d", o.Key, l.idx)
	}
	return ""
}

// settledNow reports whether e's result is journalled on e's node, and
// records its version. A removal of a member that was never journalled
// leaves no register: that is settled too.
func (r *runner) settledNow(e *execOp) bool {
	if e.settled || r.pgDown {
		return e.settled
	}
	row, ok, err := r.c.nodes[e.op.Node].journalRow(e.op.Key)
	switch {
	case err != nil:
		return false
	case !ok && !e.result.Present:
		e.settled = true
	case ok && row.member == e.result:
		e.settled, e.stamp, e.origin = true, row.Stamp, row.Origin
	}
	return e.settled
}

func (r *runner) waitSettled(e *execOp, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if r.settledNow(e) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// perform makes the change through AMI or the Asterisk CLI.
func (r *runner) perform(n *node, o op) error {
	if o.CLI {
		out, err := n.Testbed("rx", o.cliCommand())
		if err != nil {
			return err
		}
		if cliFailed.MatchString(out) {
			return fmt.Errorf("%s", strings.TrimSpace(out))
		}
		return nil
	}
	q, iface := o.Key.spelled()
	return n.do(func(ctx context.Context, cl *ami.Client) error {
		switch o.Kind {
		case opAdd:
			return cl.QueueAdd(ctx, ami.QueueAddRequest{Queue: q, Interface: iface, MemberName: o.Name,
				Penalty: o.Penalty, Paused: o.Paused, Reason: o.Reason})
		case opRemove:
			return cl.QueueRemove(ctx, q, iface)
		case opPause:
			return cl.QueuePause(ctx, q, iface, true, o.Reason)
		case opUnpause:
			return cl.QueuePause(ctx, q, iface, false, "")
		case opPenalty:
			return cl.QueuePenalty(ctx, q, iface, o.Penalty)
		}
		return nil
	})
}

// oracle returns the expected state of every key: the state after the last
// change made to it (README.md, "The oracle").
func (r *runner) oracle() map[key]member {
	want := map[key]member{}
	for _, k := range universe() {
		want[k] = initial(k)
		if e := r.last[k]; e != nil {
			want[k] = e.result
		}
	}
	return want
}

// reset brings the nodes to a known state: daemons stopped, gates open,
// persistentmembers on, no test member but the static one (unpaused,
// penalty 0), empty journals; then the daemons started afresh.
func (c *cluster) reset(dir string) error {
	for _, n := range c.nodes {
		c.stopDaemon(n, false)
		n.PeerGate.Heal()
		n.AMIGate.Heal()
	}
	for _, n := range c.nodes {
		if !n.persist {
			if _, err := n.Testbed("persist", "yes"); err != nil {
				return err
			}
			if _, err := n.Testbed("restart"); err != nil {
				return err
			}
			n.CloseAMI()
			n.persist = true
		}
		live, err := n.members()
		if err != nil {
			return err
		}
		for k, m := range live {
			q, iface := k.spelled()
			err := n.do(func(ctx context.Context, cl *ami.Client) error {
				switch {
				case !k.static():
					return cl.QueueRemove(ctx, q, iface)
				case m.Paused:
					if err := cl.QueuePause(ctx, q, iface, false, ""); err != nil {
						return err
					}
				}
				if k.static() && m.Penalty != 0 {
					return cl.QueuePenalty(ctx, q, iface, 0)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("reset %s %s: %w", n.Name, k, err)
			}
		}
		if _, err := n.Testbed("persist", "yes"); err != nil {
			return err
		}
		if _, err := n.Testbed("rx", "database deltree Queue/PersistentMembers"); err != nil {
			return err
		}
		for _, sql := range []string{"DELETE FROM attribute_state WHERE class = 'queue_sync'", "DELETE FROM queue_sync_peer", "DELETE FROM queue_sync_meta"} {
			if err := n.Exec(sql); err != nil {
				return err
			}
		}
	}
	c.SetLogDir(dir)
	for _, n := range c.nodes {
		if err := c.startDaemon(n, 0); err != nil {
			return err
		}
	}
	// Wait for every daemon's first reconcile, then a fresh second for
	// LoginTime/LastPause-dated changes.
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range c.nodes {
		for time.Now().Before(deadline) && n.reconciles() == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(1100 * time.Millisecond)
	return nil
}

func seedDir(out string, seed uint64) string { return filepath.Join(out, fmt.Sprintf("seed-%d", seed)) }
