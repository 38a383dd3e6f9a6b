//go:build bench

package bench

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cpuTimes is the CPU time (user and system, exited children included)
// used so far by the processes of each kind on this machine: where the
// time of a benchmark's phase went, queuesync's own or Asterisk's or
// PostgreSQL's. Kinds: "asterisk", "postgres", "bench" (this process: the
// engine in process and the baselines' clients), "daemons" (queuesync
// processes), "other".
type cpuTimes map[string]time.Duration

// clockTick is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

func readCPU() cpuTimes {
	out := cpuTimes{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	self := strconv.Itoa(os.Getpid())
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, ticks, ok := procTicks(e.Name())
		if !ok {
			continue
		}
		out[cpuKind(e.Name(), self, comm)] += time.Duration(ticks) * clockTick
	}
	return out
}

// procTicks reads a process's name and its CPU ticks with its reaped
// children's.
func procTicks(pid string) (comm string, ticks int64, ok bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", 0, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0, false
	}
	f := strings.Fields(s[end+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return "", 0, false
	}
	for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
		n, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += n
	}
	return s[open+1 : end], ticks, true
}

func cpuKind(pid, self, comm string) string {
	switch {
	case pid == self:
		return "bench"
	case comm == "asterisk":
		return "asterisk"
	case comm == "postgres" || strings.HasPrefix(comm, "postgres"):
		return "postgres"
	case comm == "queuesync":
		return "daemons"
	}
	return "other"
}

// since returns the CPU time used since before.
func (c cpuTimes) since(before cpuTimes) cpuTimes {
	out := cpuTimes{}
	for k, v := range c {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func (c cpuTimes) add(o cpuTimes) {
	for k, v := range o {
		c[k] += v
	}
}

// perRun renders the CPU time per run of n runs, by kind.
func (c cpuTimes) perRun(n int) string {
	var parts []string
	var total time.Duration
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("%s %s", k, ms(c[k]/time.Duration(n))))
		total += c[k]
	}
	return fmt.Sprintf("%s ms CPU: %s", ms(total/time.Duration(n)), strings.Join(parts, ", "))
}

// cpuOf runs f and adds the CPU time used meanwhile to into.
func cpuOf(into cpuTimes, f func()) {
	defer cpuFrom(into)()
	f()
}

// cpuFrom starts counting CPU time; the function it returns adds the time
// used since to into.
func cpuFrom(into cpuTimes) func() {
	before := readCPU()
	return func() { into.add(readCPU().since(before)) }
}
