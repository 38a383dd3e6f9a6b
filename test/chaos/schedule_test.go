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
	stPGKill        stepKind = "kill-postgres" // SIGKILL of the postmaster; down until stPGStart
	stPGStart       stepKind = "start-postgres"
	stStop          stepKind = "stop-daemon"    // a clean stop (the hub going down)
	stPause         stepKind = "sigstop-daemon" // SIGSTOP until stResume
	stResume        stepKind = "sigcont-daemon"
	stAstWait       stepKind = "wait-asterisk" // the end of an asynchronous Asterisk restart
	stReload        stepKind = "reload-asterisk"
	stLink          stepKind = "slow-link" // a node's peer API behind a slow, lossy link
	stLinkHeal      stepKind = "heal-link"
	stResync        stepKind = "cron-resync" // queuesync resync on a node, as cron runs it
	stHealBegin     stepKind = "heal-begin"  // the final heal starts: convergence is timed from here
	stFinal         stepKind = "final-heal"  // every fault healed
)

// step is one thing the harness does. A schedule is a list of steps fixed by
// the seed, the number of changes, the topology and the fault kinds alone,
// so that a seed replays exactly.
type step struct {
	Kind    stepKind
	Fault   string // the fault kind a fault step injects (faults.go), "" for the rest
	Node    int
	Op      *op
	Closed  []bool // stPartition: Closed[i] = node i's peer API unreachable from the others
	Persist bool   // stAstRestart
	Async   bool   // stAstRestart: return at once; stAstWait waits for the restart
	Members bool   // stReload: `queue reload members` (else `module reload app_queue.so`)
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
		var closed []string
		for i, c := range s.Closed {
			if c {
				closed = append(closed, fmt.Sprintf("sop%d", i+1))
			}
		}
		return fmt.Sprintf("partition [%s]: the peer API of %s unreachable", s.Fault, strings.Join(closed, ", "))
	case stKill, stStart, stStop, stAMICut, stAMIRestore, stResync, stPause, stResume, stAstWait, stLink, stLinkHeal:
		l := fmt.Sprintf("%s sop%d", s.Kind, s.Node+1)
		if s.Fault != "" && string(s.Kind) != s.Fault {
			l += " [" + s.Fault + "]"
		}
		return l
	case stRestartDaemon:
		return fmt.Sprintf("%s sop%d clock-offset=%s", s.Kind, s.Node+1, s.Offset)
	case stAstRestart:
		p := "no"
		if s.Persist {
			p = "yes"
		}
		l := fmt.Sprintf("%s sop%d persistentmembers=%s", s.Kind, s.Node+1, p)
		if s.Async {
			l += " async (changes go on meanwhile)"
		}
		return l
	case stReload:
		return fmt.Sprintf("%s sop%d: %s", s.Kind, s.Node+1, s.reloadCommand())
	}
	if s.Fault != "" && string(s.Kind) != s.Fault {
		return fmt.Sprintf("%s [%s]", s.Kind, s.Fault)
	}
	return string(s.Kind)
}

func (s step) reloadCommand() string {
	if s.Members {
		return "queue reload members"
	}
	return "module reload app_queue.so"
}

func formatSchedule(steps []step) string {
	var b strings.Builder
	for i, s := range steps {
		fmt.Fprintf(&b, "%4d %s\n", i, s)
	}
	return b.String()
}

// gen builds a schedule. It keeps a rough model of the nodes (estimated
// time, daemons, gates, each node's view of the members) so that its changes
// are mostly valid where they are made, and it keeps out the combinations
// whose outcome last-writer-wins by real time cannot predict (README.md,
// "What the harness does so that the oracle stays exact").
type gen struct {
	rng   *rand.Rand
	cron  *rand.Rand // its own stream: the other steps do not depend on it
	t     float64    // estimated seconds since the start
	steps []step
	ops   int
	topo  topology
	kinds map[string]bool // the fault kinds to inject

	up      []bool
	off     []time.Duration
	amiCut  []bool
	paused  []bool // SIGSTOPped
	astDown []bool // an asynchronous Asterisk restart is under way
	slow    []bool // its peer API behind a slow, lossy link
	pgDown  bool
	blocked [][]bool // blocked[a][b]: a cannot reach b's peer API
	maxOff  time.Duration

	view   []map[key]member
	win    map[key]member
	last   map[key]lastGen
	dirty  []map[key]bool // changed while the node's daemon could not journal it
	unrec  []bool         // Asterisk restarted while its daemon could not see it
	recent [][]recentOp
	busy   []bool // a pending start/restart/resume of the daemon is scheduled

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

// generate returns the schedule of seed with nOps member changes on topo,
// injecting the fault kinds kinds (nil: every kind topo allows).
func generate(seed uint64, nOps int, topo topology, kinds map[string]bool) []step {
	n := topo.nodes()
	g := &gen{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), cron: rand.New(rand.NewPCG(seed, 0xc407)),
		topo: topo, kinds: kinds, win: map[key]member{}, last: map[key]lastGen{}, keys: universe(),
		up: make([]bool, n), off: make([]time.Duration, n), amiCut: make([]bool, n), paused: make([]bool, n),
		astDown: make([]bool, n), slow: make([]bool, n), blocked: make([][]bool, n), view: make([]map[key]member, n),
		dirty: make([]map[key]bool, n), unrec: make([]bool, n), recent: make([][]recentOp, n), busy: make([]bool, n)}
	if g.kinds == nil {
		g.kinds = topo.kinds()
	}
	for i := range n {
		g.up[i] = true
		g.blocked[i] = make([]bool, n)
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
			g.steps = append(g.steps, step{Kind: stResync, Node: g.cron.IntN(n)})
		}
		g.pause()
	}
	g.final()
	return g.steps
}

func (g *gen) nodes() int { return len(g.up) }

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
	case stKill, stStop:
		g.t += 0.05
		g.markRecent(s.Node)
		g.up[s.Node] = false
	case stPause:
		g.markRecent(s.Node)
		g.paused[s.Node] = true
	case stResume:
		g.paused[s.Node], g.busy[s.Node] = false, false
		g.unblind(s.Node)
	case stAstRestart:
		if s.Async {
			g.t += 0.1
			g.astDown[s.Node] = true
			break
		}
		g.t += 1.5
		if g.blind(s.Node) {
			g.unrec[s.Node] = true
		}
	case stAstWait:
		g.t += 1
		g.astDown[s.Node] = false
		if g.blind(s.Node) {
			g.unrec[s.Node] = true
		} else {
			g.unblind(s.Node)
		}
	case stReload:
		g.t += 0.3
	case stAMICut:
		g.amiCut[s.Node] = true
		g.markRecent(s.Node)
	case stAMIRestore:
		g.amiCut[s.Node] = false
		g.unblind(s.Node)
	case stPGRestart, stPGKill:
		g.t += 1.5
		for i := range g.nodes() {
			g.markRecent(i)
		}
		if s.Kind == stPGKill {
			g.pgDown = true
		}
	case stPGStart:
		g.t += 0.5
		g.pgDown = false
		for i := range g.nodes() {
			g.unblind(i)
		}
	case stLink:
		g.slow[s.Node] = true
	case stLinkHeal:
		g.slow[s.Node] = false
	case stPartition:
		g.partitioned = true
		for i, c := range s.Closed {
			if !c {
				continue
			}
			for a := range g.nodes() {
				g.blocked[a][i] = true
			}
		}
	case stHealPartition:
		g.partitioned = false
		for a := range g.blocked {
			clear(g.blocked[a])
		}
		g.syncViews()
	}
	if a := s.Offset.Abs(); a > g.maxOff {
		g.maxOff = a
	}
}

// blind reports whether n's daemon cannot see and journal its Asterisk's
// changes, or apply a peer's.
func (g *gen) blind(n int) bool {
	return !g.up[n] || g.amiCut[n] || g.paused[n] || g.astDown[n] || g.pgDown
}

// reach reports whether a change journalled on a reaches b now: through a
// chain of peers whose daemons all run and see their Asterisk, each peer
// API open to the one before.
func (g *gen) reach(a, b int) bool {
	if g.blind(a) {
		return false
	}
	return g.topo.reaches(a, b, func(x, y int) bool { return !g.blind(y) && !g.blocked[x][y] })
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

// syncViews makes every view the winners once the nodes are whole again.
func (g *gen) syncViews() {
	for a := range g.nodes() {
		for b := range g.nodes() {
			if a != b && !g.reach(a, b) {
				return
			}
		}
	}
	for _, k := range g.keys {
		for i := range g.view {
			g.view[i][k] = g.win[k]
		}
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
	if g.unrec[n] || g.astDown[n] {
		return false // architecture.md §2 rule 5: it could not be told from the restart's loss
	}
	if g.blind(n) && g.dirty[n][k] {
		return false // its daemon would see only the sum of the two changes
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
		first := g.rng.IntN(g.nodes())
		for d := range g.nodes() {
			cand := (first + d) % g.nodes()
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
	n := o.Node
	for m := range g.nodes() {
		if m == n || g.reach(n, m) {
			g.view[m][o.Key] = res
		}
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

// restartable reports whether n's Asterisk may be restarted (or reloaded)
// now: every change made on it is journalled, or will be.
func (g *gen) restartable(n int) bool {
	return len(g.dirty[n]) == 0 && !g.unrec[n] && !g.astDown[n]
}

// fault injects one fault of the kinds selected (and schedules its heal).
func (g *gen) fault() {
	type choice struct {
		w  int
		do func()
	}
	var cs []choice
	add := func(kind string, w int, do func()) {
		if g.kinds[kind] {
			cs = append(cs, choice{w, do})
		}
	}
	n := g.nodes()
	allUp := true
	for i := range n {
		allUp = allUp && g.up[i] && !g.busy[i] && g.off[i] == 0 && !g.paused[i]
	}
	if !g.partitioned {
		add(fPartition, 3, func() {
			c := make([]bool, n)
			switch r := g.rng.IntN(4); {
			case r < 2:
				for i := range c {
					c[i] = true
				}
			default:
				c[g.rng.IntN(n)] = true
			}
			g.emit(step{Kind: stPartition, Fault: fPartition, Closed: c})
			g.later(1, 8, step{Kind: stHealPartition})
		})
	}
	for i := range n {
		if g.up[i] && !g.busy[i] && g.off[i] == 0 && !g.paused[i] {
			add(fKill, 1, func() {
				g.emit(step{Kind: stKill, Fault: fKill, Node: i})
				g.busy[i] = true
				g.later(0.3, 4, step{Kind: stStart, Node: i})
			})
			add(fSigstop, 1, func() {
				g.emit(step{Kind: stPause, Fault: fSigstop, Node: i})
				g.busy[i] = true
				g.later(1, 20, step{Kind: stResume, Node: i})
			})
		}
		if g.restartable(i) {
			add(fAstRestart, 1, func() {
				g.emit(step{Kind: stAstRestart, Fault: fAstRestart, Node: i, Persist: g.rng.IntN(2) == 0})
			})
			add(fAstChurn, 1, func() {
				g.emit(step{Kind: stAstRestart, Fault: fAstChurn, Node: i, Persist: g.rng.IntN(2) == 0, Async: true})
				g.later(1, 3, step{Kind: stAstWait, Node: i})
			})
			add(fModuleReload, 1, func() { g.emit(step{Kind: stReload, Fault: fModuleReload, Node: i}) })
			add(fMembersReload, 1, func() { g.emit(step{Kind: stReload, Fault: fMembersReload, Node: i, Members: true}) })
		}
		if !g.amiCut[i] {
			add(fAMICut, 1, func() {
				g.emit(step{Kind: stAMICut, Fault: fAMICut, Node: i})
				if g.rng.IntN(2) == 0 {
					g.emit(step{Kind: stAMIRestore, Node: i})
				} else {
					g.later(0.5, 5, step{Kind: stAMIRestore, Node: i})
				}
			})
		}
		if !g.slow[i] {
			add(fLink, 1, func() {
				g.emit(step{Kind: stLink, Fault: fLink, Node: i})
				g.later(2, 15, step{Kind: stLinkHeal, Node: i})
			})
		}
	}
	if allUp {
		add(fSkew, 1, func() {
			i := g.rng.IntN(n)
			d := time.Duration(1+g.rng.IntN(300)) * 100 * time.Millisecond
			if g.rng.IntN(2) == 0 {
				d = -d
			}
			g.emit(step{Kind: stRestartDaemon, Fault: fSkew, Node: i, Offset: d})
			g.busy[i] = true
			g.later(4, 20, step{Kind: stRestartDaemon, Node: i, Offset: 0})
		})
	}
	if !g.pgDown {
		add(fPGRestart, 1, func() { g.emit(step{Kind: stPGRestart, Fault: fPGRestart}) })
		add(fPGKill, 1, func() {
			g.emit(step{Kind: stPGKill, Fault: fPGKill})
			g.later(0.3, 5, step{Kind: stPGStart})
		})
	}
	if h := g.topo.hub; h >= 0 {
		if g.up[h] && !g.busy[h] && g.off[h] == 0 && !g.paused[h] {
			add(fHubDown, 2, func() {
				k := stStop
				if g.rng.IntN(2) == 0 {
					k = stKill
				}
				g.emit(step{Kind: k, Fault: fHubDown, Node: h})
				g.busy[h] = true
				g.later(2, 15, step{Kind: stStart, Node: h})
			})
		}
		if !g.partitioned {
			add(fHubDown, 1, func() {
				c := make([]bool, n)
				for i := range c {
					c[i] = true
				}
				g.emit(step{Kind: stPartition, Fault: fHubDown, Closed: c})
				g.later(2, 15, step{Kind: stHealPartition})
			})
		}
	}
	total := 0
	for _, c := range cs {
		total += c.w
	}
	if total == 0 {
		return
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
	// An Asterisk restart under way finishes first: it is no fault the
	// heal repairs, and the restart alone takes seconds.
	var rest []pendingStep
	for _, p := range g.pending {
		if p.st.Kind == stAstWait {
			g.emit(p.st)
		} else {
			rest = append(rest, p)
		}
	}
	g.pending = rest
	g.emit(step{Kind: stHealBegin})
	g.flush(true)
	if g.pgDown {
		g.emit(step{Kind: stPGStart})
	}
	for n := range g.nodes() {
		if g.astDown[n] {
			g.emit(step{Kind: stAstWait, Node: n})
		}
		if g.paused[n] {
			g.emit(step{Kind: stResume, Node: n})
		}
		if !g.up[n] {
			g.emit(step{Kind: stStart, Node: n})
		}
		if g.off[n] != 0 {
			g.emit(step{Kind: stRestartDaemon, Node: n})
		}
		if g.amiCut[n] {
			g.emit(step{Kind: stAMIRestore, Node: n})
		}
		if g.slow[n] {
			g.emit(step{Kind: stLinkHeal, Node: n})
		}
	}
	if g.partitioned {
		g.emit(step{Kind: stHealPartition})
	}
	g.emit(step{Kind: stFinal})
}

// minOffsets returns, per node, the lowest clock offset its daemon runs with
// in steps (never above zero).
func minOffsets(steps []step, nodes int) []time.Duration {
	m := make([]time.Duration, nodes)
	for _, s := range steps {
		if s.Kind == stRestartDaemon || s.Kind == stStart {
			m[s.Node] = min(m[s.Node], s.Offset)
		}
	}
	return m
}
