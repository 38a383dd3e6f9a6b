//go:build chaos

package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/queuesync/queuesync/test/internal/harness"
)

// Settings (environment; make chaos sets them):
//
//	CHAOS_SEEDS     run seeds 1..N (default 3)
//	CHAOS_SEED      run these seeds instead ("7" or "3 9 12"): replays them exactly
//	CHAOS_OPS       member changes per seed (default 60)
//	CHAOS_OUT       output directory (default /tmp/qs-chaos-run): report.txt, and
//	                per seed its schedule, run log, daemon and sync logs
//	CHAOS_KEEP      keep the directories of passing seeds too
//	CHAOS_CONVERGE  how long to wait for convergence after the heal (default 15s)
//	CHAOS_BIN       use this queuesync binary instead of building this tree with -race
//	CHAOS_TOPOLOGY  pair (default): two nodes, each the other's peer; chain:
//	                sop1 - sop2 - sop3, sop2 the hub (three testbed instances)
//	CHAOS_FAULTS    the fault kinds to inject (faults_test.go): "all" (default)
//	                or a list ("pg-kill,sigstop")
//	CHAOS_NETNS     1: every peer API behind a gate in a network namespace of
//	                the testbed, so that a slow link drops real packets (root)
func settings() (seeds []uint64, nOps int, out string, err error) {
	nOps = 60
	if v := os.Getenv("CHAOS_OPS"); v != "" {
		if nOps, err = strconv.Atoi(v); err != nil {
			return nil, 0, "", fmt.Errorf("CHAOS_OPS=%q: %w", v, err)
		}
	}
	out = os.Getenv("CHAOS_OUT")
	if out == "" {
		out = "/tmp/qs-chaos-run"
	}
	if v := strings.TrimSpace(os.Getenv("CHAOS_SEED")); v != "" {
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' }) {
			s, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return nil, 0, "", fmt.Errorf("CHAOS_SEED=%q: %w", v, err)
			}
			seeds = append(seeds, s)
		}
		return seeds, nOps, out, nil
	}
	n := 3
	if v := os.Getenv("CHAOS_SEEDS"); v != "" {
		if n, err = strconv.Atoi(v); err != nil {
			return nil, 0, "", fmt.Errorf("CHAOS_SEEDS=%q: %w", v, err)
		}
	}
	for i := 1; i <= n; i++ {
		seeds = append(seeds, uint64(i))
	}
	return seeds, nOps, out, nil
}

// topoSettings reads CHAOS_TOPOLOGY and CHAOS_FAULTS.
func topoSettings() (topology, map[string]bool, error) {
	name := os.Getenv("CHAOS_TOPOLOGY")
	if name == "" {
		name = "pair"
	}
	topo, ok := topologies[name]
	if !ok {
		return topology{}, nil, fmt.Errorf("CHAOS_TOPOLOGY=%q: pair or chain", name)
	}
	kinds, err := parseFaults(os.Getenv("CHAOS_FAULTS"), topo)
	if err != nil {
		return topology{}, nil, fmt.Errorf("CHAOS_FAULTS: %w", err)
	}
	return topo, kinds, nil
}

// The same seed gives the same schedule: a failing seed replays exactly.
func TestScheduleDeterministic(t *testing.T) {
	for _, topo := range topologies {
		for seed := uint64(1); seed <= 20; seed++ {
			a, b := formatSchedule(generate(seed, 60, topo, nil)), formatSchedule(generate(seed, 60, topo, nil))
			if a != b {
				t.Fatalf("%s seed %d: two schedules differ", topo.name, seed)
			}
		}
	}
}

// Every fault kind shows up in schedules, alone and in the mix, and a
// selector keeps the others out.
func TestScheduleKinds(t *testing.T) {
	for _, topo := range topologies {
		seen := map[string]int{}
		for seed := uint64(1); seed <= 40; seed++ {
			for _, s := range generate(seed, 60, topo, nil) {
				if s.Fault != "" {
					seen[s.Fault]++
				}
			}
		}
		for k := range topo.kinds() {
			if seen[k] == 0 {
				t.Errorf("%s: no %s fault in 40 seeds", topo.name, k)
			}
			only := map[string]bool{k: true}
			n := 0
			for seed := uint64(1); seed <= 5; seed++ {
				for _, s := range generate(seed, 40, topo, only) {
					if s.Fault != "" && s.Fault != k {
						t.Fatalf("%s FAULTS=%s: a %s fault", topo.name, k, s.Fault)
					}
					if s.Fault == k {
						n++
					}
				}
			}
			if n == 0 {
				t.Errorf("%s FAULTS=%s: none in 5 seeds", topo.name, k)
			}
		}
	}
}

func TestChaos(t *testing.T) {
	topo, kinds, err := topoSettings()
	if err != nil {
		t.Fatal(err)
	}
	env, err := harness.LoadEnv(topo.nodes())
	if err != nil || env.Script == "" {
		t.Fatalf("the chaos testbed is not up (%v): run `make chaos` (it starts its own testbed, QS_NAME=chaos, with three instances)", err)
	}
	seeds, nOps, out, err := settings()
	if err != nil {
		t.Fatal(err)
	}
	// One harness at a time on a testbed: two would fight over its members.
	lock, err := os.OpenFile(filepath.Join(env.State, "chaos.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("another chaos run holds %s: %v", lock.Name(), err)
	}
	c, err := newCluster(env, out, topo)
	if c != nil {
		defer c.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	rep, err := os.OpenFile(filepath.Join(out, "report.txt"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	say := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		fmt.Println(s)
		fmt.Fprintln(rep, s)
	}
	say("# chaos %s: topology=%s faults=%s netns=%v, %d seeds, %d changes each, output in %s", time.Now().Format(time.RFC3339),
		topo.name, kindsString(kinds), c.nodes[0].Netns != "", len(seeds), nOps, out)
	var results []result
	for _, seed := range seeds {
		res := runSeed(c, seed, nOps, kinds, out)
		results = append(results, res)
		say("%s", res.line())
		if res.pass() && os.Getenv("CHAOS_KEEP") == "" {
			_ = os.RemoveAll(seedDir(out, seed))
		}
	}
	say("%s", summary(results))
	for _, r := range results {
		if !r.pass() {
			t.Errorf("seed %d failed; replay with: make chaos SEED=%d OPS=%d TOPOLOGY=%s FAULTS=%s (details in %s)",
				r.seed, r.seed, nOps, topo.name, kindsString(kinds), seedDir(out, r.seed))
		}
	}
}

func summary(rs []result) string {
	pass := 0
	var conv []time.Duration
	var lost, res, wrong, jr, red, ops, skipped, faults int
	kinds := map[string]int{}
	for _, r := range rs {
		if r.pass() {
			pass++
		}
		if r.converged {
			conv = append(conv, r.converge)
		}
		lost, res, wrong, jr = lost+r.lost, res+r.resurrected, wrong+r.wrong, jr+r.journal
		ops, skipped, faults = ops+r.ops, skipped+r.skipped, faults+r.faults
		for _, n := range r.redundant {
			red += n
		}
		for k, n := range r.kinds {
			kinds[k] += n
		}
	}
	sort.Slice(conv, func(i, j int) bool { return conv[i] < conv[j] })
	s := fmt.Sprintf("# summary: %d/%d seeds pass; ops=%d skipped=%d faults=%d (%s); lost=%d resurrected=%d wrong=%d journal=%d redundant=%d",
		pass, len(rs), ops, skipped, faults, kindCounts(kinds), lost, res, wrong, jr, red)
	if len(conv) > 0 {
		s += fmt.Sprintf("; converge median=%.2fs max=%.2fs (%d/%d converged)", conv[len(conv)/2].Seconds(), conv[len(conv)-1].Seconds(), len(conv), len(rs))
	}
	var failed []string
	for _, r := range rs {
		if !r.pass() {
			failed = append(failed, strconv.FormatUint(r.seed, 10))
		}
	}
	if len(failed) > 0 {
		s += "; failed seeds: " + strings.Join(failed, " ")
	}
	return s
}

// runSeed plays one seed and checks the outcome.
func runSeed(c *cluster, seed uint64, nOps int, kinds map[string]bool, out string) (res result) {
	begin := time.Now()
	res.seed = seed
	defer func() { res.duration = time.Since(begin) }()
	dir := seedDir(out, seed)
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		res.err = err
		return res
	}
	steps := generate(seed, nOps, c.topo, kinds)
	_ = os.WriteFile(filepath.Join(dir, "schedule.txt"), []byte(formatSchedule(steps)), 0o644)
	logf, err := os.Create(filepath.Join(dir, "run.log"))
	if err != nil {
		res.err = err
		return res
	}
	defer logf.Close()
	if err := c.reset(dir); err != nil {
		res.err = fmt.Errorf("reset: %w", err)
		return res
	}
	r := newRunner(c, steps, logf)
	defer r.cleanup()
	marks := make([]int, len(c.nodes))
	for i, n := range c.nodes {
		marks[i] = len(n.QueueLog())
	}
	res.redundant, res.lines = make([]int, len(c.nodes)), make([]int, len(c.nodes))
	heal, err := r.play()
	if err != nil {
		res.err = err
		r.logLine("ERROR %v", err)
		return res
	}
	want := r.oracle()
	timeout := 15 * time.Second
	if v, err := time.ParseDuration(os.Getenv("CHAOS_CONVERGE")); err == nil {
		timeout = v
	}
	var v verdict
	for {
		v, err = r.check(want)
		if err != nil {
			res.err = err
			return res
		}
		if v.ok() {
			res.converged, res.converge = true, time.Since(heal)
			break
		}
		if time.Since(heal) > timeout {
			r.logLine("not converged %s after the heal:\n  %s", timeout, strings.Join(v.details, "\n  "))
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	r.logLine("converged=%v in %s", res.converged, res.converge)
	// One resync, as cron would run it; then the final verdict.
	outp, err := c.Run(c.nodes[0].Node, "resync", "-v")
	res.resyncExit = "0"
	if err != nil {
		res.resyncExit = err.Error()
		res.resyncExit = strings.TrimPrefix(res.resyncExit, "exit status ")
	}
	r.logLine("resync on sop1: exit %s\n%s", res.resyncExit, outp)
	time.Sleep(300 * time.Millisecond)
	if v, err = r.check(want); err != nil {
		res.err = err
		return res
	}
	res.finalOK = v.ok()
	res.lost, res.resurrected, res.wrong, res.journal = len(v.lost), len(v.resurrected), len(v.wrong), len(v.journal)
	if !v.ok() {
		r.logLine("FINAL DIFFERENCES:\n  %s", strings.Join(v.details, "\n  "))
		r.logHistory(v)
	}
	time.Sleep(200 * time.Millisecond) // let a late echo reach the queue_log before counting
	for i, n := range c.nodes {
		lines := n.QueueLog()
		red, total := redundant(lines[min(marks[i], len(lines)):], r.reloads[i])
		res.redundant[i], res.lines[i] = len(red), total
		for _, l := range red {
			r.logLine("REDUNDANT %s: %s", n.Name, l)
		}
	}
	for _, e := range r.ops {
		if e.skipped == "" {
			res.ops++
		}
	}
	res.skipped, res.faults, res.notes, res.kinds = len(r.skipped), r.faults, len(r.notes), r.kinds
	res.cron = r.resyncs
	r.logLine("oracle:")
	for _, k := range universe() {
		r.logLine("  %-28s %s", k, want[k])
	}
	return res
}

// logHistory writes every node's history of the members v found wrong: the
// journal rows are gone when the next seed starts.
func (r *runner) logHistory(v verdict) {
	keys := map[key]bool{}
	for _, m := range []map[key]bool{v.lost, v.resurrected, v.wrong, v.journal} {
		for k := range m {
			keys[k] = true
		}
	}
	for _, k := range universe() {
		if !keys[k] {
			continue
		}
		for _, n := range r.c.nodes {
			rows, err := n.history(k)
			if err != nil {
				r.logLine("history of %s on %s: %v", k, n.Name, err)
				continue
			}
			r.logLine("history of %s on %s:\n  %s", k, n.Name, strings.Join(rows, "\n  "))
		}
	}
}
