//go:build chaos

package chaos

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

type stepKind string

const (
	stOp            stepKind = "op"
	stSleep         stepKind = "sleep"
	stPartition     stepKind = "partition"      // close peer-API gates
	stHealPartition stepKind = "heal-partition" // open them all
	stKill          stepKind = "kill-daemon"    // SIGKILL
	stStart         stepKind = "start-daemon"
	stRestartDaemon stepKind = "restart-daemon" // clean stop, start with Offset (clock skew)
	stAstRestart    stepKind = "restart-asterisk"
	stAMICut        stepKind = "cut-ami"
	stAMIRestore    stepKind = "restore-ami"
	stPGRestart     stepKind = "restart-postgres"
	stResync        stepKind = "cron-resync" // queuesync resync on a node, as cron runs it
	stHealBegin     stepKind = "heal-begin"  // the final heal starts: convergence is timed from here
	stFinal         stepKind = "final-heal"  // every fault healed
)

// step is one thing the harness does. A schedule is a list of steps fixed by
// the seed alone, so that a seed replays exactly.
type step struct {
	Kind    stepKind
	Node    int
	Op      *op
	Closed  [2]bool // stPartition: gate i closed = node i's peer API unreachable from the other
	Persist bool    // stAstRestart
	Offset  time.Duration
	Sleep   time.Duration
}

func (s step) String() string {
	switch s.Kind {
	case stOp:
		return "op " + s.Op.String()
	case stSleep:
		return fmt.Sprintf("sleep %s", s.Sleep)
	case stPartition:
		switch {
		case s.Closed[0] && s.Closed[1]:
			return "partition sop1<-/->sop2 (both ways)"
		case s.Closed[1]:
			return "partition sop1-/->sop2 (sop1 cannot reach sop2)"
		default:
			return "partition sop2-/->sop1 (sop2 cannot reach sop1)"
		}
	case stKill, stStart, stAMICut, stAMIRestore, stResync:
		s := fmt.Sprintf("%s sop%d", s.Kind, s.Node+1)
		return s
	case stRestartDaemon:
		return fmt.Sprintf("%s sop%d clock-offset=%s", s.Kind, s.Node+1, s.Offset)
	case stAstRestart:
		p := "no"
		if s.Persist {
			p = "yes"
		}
		return fmt.Sprintf("%s sop%d persistentmembers=%s", s.Kind, s.Node+1, p)
	}
	return string(s.Kind)
}

func formatSchedule(steps []step) string {
	var b strings.Builder
	for i, s := range steps {
		fmt.Fprintf(&b, "%4d %s\n", i, s)
	}
	return b.String()
}

// gen builds a schedule. It keeps a rough model of both nodes (estimated
// time, daemons, gates, each node's view of the members) so that its changes
// are mostly valid where they are made, and it keeps out the combinations
// whose outcome last-writer-wins by real time cannot predict (README.md,
// "What the schedule avoids").
type gen struct {
	rng   *rand.Rand
	cron  *rand.Rand // its own stream: the other steps do not depend on it
	t     float64    // estimated seconds since the start
	steps []step
	ops   int

	up      [2]bool
	off     [2]time.Duration
	amiCut  [2]bool
	blocked [2][2]bool // blocked[a][b]: a cannot reach b's peer API
	maxOff  time.Duration

	view   [2]map[key]member
	win    map[key]member
	last   map[key]lastGen
	dirty  [2]map[key]bool // changed while the node's daemon could not see it
	unrec  [2]bool         // Asterisk restarted while its daemon could not see it
	recent [2][]recentOp
	busy   [2]bool // a pending start/restart of the daemon is scheduled

	partitioned bool
	pending     []pendingStep
	keys        []key
}

type lastGen struct {
	node  int
	t     float64
	blind bool
}

type recentOp struct {
	k key
	t float64
}

type pendingStep struct {
	at float64
	st step
}

// generate returns the schedule of seed with nOps member changes.
func generate(seed uint64, nOps int) []step {
	g := &gen{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), cron: rand.New(rand.NewPCG(seed, 0xc407)), up: [2]bool{true, true},
		win: map[key]member{}, last: map[key]lastGen{}, keys: universe()}
	for i := range g.view {
		g.view[i] = map[key]member{}
		g.dirty[i] = map[key]bool{}
		for _, k := range g.keys {
			g.view[i][k] = initial(k)
		}
	}
	for _, k := range g.keys {
		g.win[k] = initial(k)
	}
	// Every key is hot in some seeds: a few keys take most changes, so
	// that changes conflict.
	g.rng.Shuffle(len(g.keys), func(i, j int) { g.keys[i], g.keys[j] = g.keys[j], g.keys[i] })
	for g.ops < nOps {
		g.flush(false)
		if g.ops > 0 && g.rng.Float64() < 0.22 {
			g.fault()
		}
		g.op()
		if g.cron.Float64() < 0.05 {
			// The cron job (or an engineer) runs a resync in the middle of
			// it all, through the same paths as the daemon.
			g.steps = append(g.steps, step{Kind: stResync, Node: g.cron.IntN(2)})
		}
		g.pause()
	}
	g.final()
	return g.steps
}

// emit appends s, advances the estimated clock and applies s to the model.
func (g *gen) emit(s step) {
	g.steps = append(g.steps, s)
	switch s.Kind {
	case stSleep:
		g.t += s.Sleep.Seconds()
	case stOp:
		g.t += 0.06
	case stStart:
		g.t += 1.0
		g.up[s.Node], g.off[s.Node], g.busy[s.Node] = true, s.Offset, false
		g.unblind(s.Node)
	case stRestartDaemon:
		g.t += 1.5
		g.markRecent(s.Node)
		g.off[s.Node], g.busy[s.Node] = s.Offset, false
		g.unblind(s.Node)
	case stKill:
		g.t += 0.05
		g.up[s.Node] = false
		g.markRecent(s.Node)
	case stAstRestart:
		g.t += 1.5
		if g.blind(s.Node) {
			g.unrec[s.Node] = true
		}
	case stAMICut:
		g.amiCut[s.Node] = true
		g.markRecent(s.Node)
	case stAMIRestore:
		g.amiCut[s.Node] = false
		g.unblind(s.Node)
	case stPGRestart:
		g.t += 1.5
		g.markRecent(0)
		g.markRecent(1)
	case stPartition:
		g.partitioned = true
		for i, c := range s.Closed {
			if c {
				g.blocked[1-i][i] = true
			}
		}
	case stHealPartition:
		g.partitioned = false
		g.blocked = [2][2]bool{}
		g.syncViews()
	}
	if a := s.Offset.Abs(); a > g.maxOff {
		g.maxOff = a
	}
}

func (g *gen) blind(n int) bool { return !g.up[n] || g.amiCut[n] }

func (g *gen) reach(a, b int) bool {
	return !g.blind(a) && !g.blind(b) && !g.blocked[a][b]
}

// markRecent marks the changes made on n in the last moments as possibly
// unseen by its daemon (it may die or lose AMI before their events).
func (g *gen) markRecent(n int) {
	for _, r := range g.recent[n] {
		if g.t-r.t < 0.6 {
			g.dirty[n][r.k] = true
		}
	}
}

func (g *gen) unblind(n int) {
	if g.blind(n) {
		return
	}
	clear(g.dirty[n])
	g.unrec[n] = false
	g.syncViews()
}

// syncViews makes both views the winners once the pair is whole again.
func (g *gen) syncViews() {
	if !g.reach(0, 1) || !g.reach(1, 0) {
		return
	}
	for _, k := range g.keys {
		g.view[0][k], g.view[1][k] = g.win[k], g.win[k]
	}
}

// flush emits the pending heals that are due (all of them when all).
func (g *gen) flush(all bool) {
	sort.SliceStable(g.pending, func(i, j int) bool { return g.pending[i].at < g.pending[j].at })
	for len(g.pending) > 0 && (all || g.pending[0].at <= g.t) {
		p := g.pending[0]
		g.pending = g.pending[1:]
		g.emit(p.st)
	}
}

func (g *gen) later(min, max float64, s step) {
	g.pending = append(g.pending, pendingStep{at: g.t + min + g.rng.Float64()*(max-min), st: s})
}

func (g *gen) pause() {
	var d float64
	switch r := g.rng.Float64(); {
	case r < 0.7:
		d = g.rng.Float64() * 0.15
	case r < 0.95:
		d = 0.15 + g.rng.Float64()*0.65
	default:
		d = 1 + g.rng.Float64()*1.5
	}
	g.emit(step{Kind: stSleep, Sleep: time.Duration(d * float64(time.Second)).Round(time.Millisecond)})
}

// pickKey takes a hot key most of the time.
func (g *gen) pickKey() key {
	if g.rng.Float64() < 0.6 {
		return g.keys[g.rng.IntN(4)]
	}
	return g.keys[g.rng.IntN(len(g.keys))]
}

// allowed reports whether a change of k on n keeps the oracle exact.
func (g *gen) allowed(n int, k key) bool {
	if g.unrec[n] {
		return false // DESIGN §4.5: it could not be told from the restart's loss
	}
	l, ok := g.last[k]
	if !ok || l.node == n {
		return true
	}
	if g.dirty[l.node][k] {
		return false // the other side's change is not journalled yet
	}
	gap := 0.35
	if l.blind || g.blind(n) || !g.reach(l.node, n) {
		// Not delivered before this change: the stamps decide, dated to
		// the second by Asterisk and off by any clock skew.
		gap = 1.25 + g.maxOff.Seconds()
	}
	return g.t-l.t >= gap
}

func (g *gen) op() {
	for try := 0; try < 20; try++ {
		k := g.pickKey()
		n := g.rng.IntN(2)
		for _, cand := range []int{n, 1 - n} {
			if !g.allowed(cand, k) {
				continue
			}
			if o, ok := g.makeOp(cand, k); ok {
				g.emitOp(o)
				return
			}
		}
	}
	g.emit(step{Kind: stSleep, Sleep: 300 * time.Millisecond})
}

// makeOp picks a change of k on n that is valid in n's view.
func (g *gen) makeOp(n int, k key) (op, bool) {
	v := g.view[n][k]
	o := op{Node: n, Key: k, CLI: g.rng.Float64() < 0.4}
	reason := func() string {
		for {
			r := reasons[g.rng.IntN(len(reasons))]
			if !v.Paused || r != v.Reason {
				return r
			}
		}
	}
	penalty := func() int {
		for {
			p := g.rng.IntN(6)
			if p != v.Penalty {
				return p
			}
		}
	}
	switch r := g.rng.Float64(); {
	case !v.Present && k.static():
		return o, false
	case !v.Present:
		o.Kind, o.Name, o.Penalty = opAdd, memberNames(ifaceIndex(k))[g.rng.IntN(2)], g.rng.IntN(4)
		if g.rng.Float64() < 0.35 {
			o.Paused, o.Reason = true, reason()
		}
	case r < 0.18 && !k.static():
		o.Kind = opRemove
	case r < 0.6 && v.Paused && g.rng.Float64() < 0.45:
		o.Kind = opUnpause
	case r < 0.6:
		o.Kind, o.Reason = opPause, reason()
	case r < 0.72 && v.Paused:
		o.Kind = opUnpause
	default:
		o.Kind, o.Penalty = opPenalty, penalty()
	}
	return o, true
}

func ifaceIndex(k key) int {
	for i := 0; i < nIfaces; i++ {
		if strings.EqualFold(ifaceName(i), k.Iface) {
			return i
		}
	}
	return 0
}

func (g *gen) emitOp(o op) {
	res, _ := o.apply(g.view[o.Node][o.Key])
	g.emit(step{Kind: stOp, Op: &o})
	g.ops++
	n, m := o.Node, 1-o.Node
	g.view[n][o.Key] = res
	if g.reach(n, m) {
		g.view[m][o.Key] = res
	}
	g.win[o.Key] = res
	g.last[o.Key] = lastGen{node: n, t: g.t, blind: g.blind(n)}
	if g.blind(n) {
		g.dirty[n][o.Key] = true
	}
	g.recent[n] = append(g.recent[n], recentOp{k: o.Key, t: g.t})
	if len(g.recent[n]) > 16 {
		g.recent[n] = g.recent[n][1:]
	}
}

// fault injects one fault (and schedules its heal).
func (g *gen) fault() {
	type choice struct {
		w  int
		do func()
	}
	var cs []choice
	if !g.partitioned {
		cs = append(cs, choice{3, func() {
			var c [2]bool
			switch g.rng.IntN(4) {
			case 0, 1:
				c = [2]bool{true, true}
			case 2:
				c = [2]bool{false, true}
			default:
				c = [2]bool{true, false}
			}
			g.emit(step{Kind: stPartition, Closed: c})
			g.later(1, 8, step{Kind: stHealPartition})
		}})
	}
	for n := 0; n < 2; n++ {
		if g.up[n] && !g.busy[n] && g.off[n] == 0 {
			cs = append(cs, choice{1, func() {
				g.emit(step{Kind: stKill, Node: n})
				g.busy[n] = true
				g.later(0.3, 4, step{Kind: stStart, Node: n})
			}})
		}
		if len(g.dirty[n]) == 0 && !g.unrec[n] {
			cs = append(cs, choice{1, func() {
				g.emit(step{Kind: stAstRestart, Node: n, Persist: g.rng.IntN(2) == 0})
			}})
		}
		if !g.amiCut[n] {
			cs = append(cs, choice{1, func() {
				g.emit(step{Kind: stAMICut, Node: n})
				if g.rng.IntN(2) == 0 {
					g.emit(step{Kind: stAMIRestore, Node: n})
				} else {
					g.later(0.5, 5, step{Kind: stAMIRestore, Node: n})
				}
			}})
		}
	}
	if g.up[0] && g.up[1] && !g.busy[0] && !g.busy[1] && g.off == [2]time.Duration{} {
		cs = append(cs, choice{1, func() {
			n := g.rng.IntN(2)
			d := time.Duration(1+g.rng.IntN(300)) * 100 * time.Millisecond
			if g.rng.IntN(2) == 0 {
				d = -d
			}
			g.emit(step{Kind: stRestartDaemon, Node: n, Offset: d})
			g.busy[n] = true
			g.later(4, 20, step{Kind: stRestartDaemon, Node: n, Offset: 0})
		}})
	}
	cs = append(cs, choice{1, func() { g.emit(step{Kind: stPGRestart}) }})
	total := 0
	for _, c := range cs {
		total += c.w
	}
	r := g.rng.IntN(total)
	for _, c := range cs {
		if r < c.w {
			c.do()
			return
		}
		r -= c.w
	}
}

// final heals whatever is still broken and marks the heal.
func (g *gen) final() {
	g.emit(step{Kind: stHealBegin})
	g.flush(true)
	for n := 0; n < 2; n++ {
		if !g.up[n] {
			g.emit(step{Kind: stStart, Node: n})
		}
		if g.off[n] != 0 {
			g.emit(step{Kind: stRestartDaemon, Node: n})
		}
		if g.amiCut[n] {
			g.emit(step{Kind: stAMIRestore, Node: n})
		}
	}
	if g.partitioned {
		g.emit(step{Kind: stHealPartition})
	}
	g.emit(step{Kind: stFinal})
}

// minOffsets returns, per node, the lowest clock offset its daemon runs with
// in steps (never above zero).
func minOffsets(steps []step) [2]time.Duration {
	var m [2]time.Duration
	for _, s := range steps {
		if s.Kind == stRestartDaemon || s.Kind == stStart {
			m[s.Node] = min(m[s.Node], s.Offset)
		}
	}
	return m
}
