package engine

import (
	"sync"
	"time"

	"github.com/queuesync/queuesync/internal/state"
)

// echoes remembers, member by member, the register this engine's last
// actions move Asterisk to, so that the events those actions cause (their
// echo) need no session: a session would read the member's journal entry
// under the engine's lock only to find that Asterisk holds what the journal
// says. A member is remembered until its echo arrives, until this engine
// journals anything else for it, or for echoWindow.
type echoes struct {
	mu     sync.Mutex
	m      map[state.Key]echo
	pruned time.Time // when m was last rid of the echoes that never came
}

type echo struct {
	r  state.Register
	at time.Time
}

// echoWindow bounds how long an action's echo is waited for: Asterisk
// sends it within milliseconds; an action that sends none (or whose event
// is lost in a gap, which a full reconcile follows) is forgotten then.
const echoWindow = actedWindow

func newEchoes() *echoes { return &echoes{m: map[state.Key]echo{}} }

// expect records that this engine is moving Asterisk to r.
func (es *echoes) expect(r state.Register, now time.Time) {
	es.mu.Lock()
	defer es.mu.Unlock()
	if now.Sub(es.pruned) > echoWindow { // at most once a window: a batch expects thousands
		es.pruned = now
		for k, e := range es.m {
			if now.Sub(e.at) > echoWindow {
				delete(es.m, k)
			}
		}
	}
	es.m[r.Key()] = echo{r: r, at: now}
}

// forget drops what is remembered of k: the engine journalled a new
// version of it, and an event showing the old one would now be news.
func (es *echoes) forget(k state.Key) {
	es.mu.Lock()
	defer es.mu.Unlock()
	delete(es.m, k)
}

// take reports whether live (nil: not in the queue) is the echo of this
// engine's last actions on k, and forgets it if so.
func (es *echoes) take(k state.Key, live *state.Live, now time.Time) bool {
	es.mu.Lock()
	defer es.mu.Unlock()
	e, ok := es.m[k]
	if !ok || now.Sub(e.at) > echoWindow || !live.Matches(e.r) || learnedRinginuse(e.r, live) {
		return false
	}
	delete(es.m, k)
	return true
}

// DropEchoes returns seen without the members whose last event shows the
// state this engine's own actions just gave them (see echoes): for those,
// BeginSeen and Capture would find nothing to do (the journal holds that
// state, pending or settled). A member whose last event shows anything
// else keeps all its events. An event that comes before the action's
// response counts: it shows the state the journal already holds, which
// an action that then fails did not need to set.
func (e *Engine) DropEchoes(seen []Seen) []Seen {
	if len(seen) == 0 {
		return seen
	}
	last := make(map[state.Key]int, len(seen))
	for i, sn := range seen {
		last[state.NewKey(sn.Member.Queue, sn.Member.Interface)] = i
	}
	now := e.opts.Now()
	echoed := make(map[state.Key]bool)
	for k, i := range last {
		var live *state.Live
		if !seen[i].Removed {
			live = e.live(k, seen[i].Member)
		}
		if e.echoes.take(k, live, now) {
			echoed[k] = true
		}
	}
	if len(echoed) == 0 {
		return seen
	}
	out := make([]Seen, 0, len(seen)-len(echoed))
	for _, sn := range seen {
		if !echoed[state.NewKey(sn.Member.Queue, sn.Member.Interface)] {
			out = append(out, sn)
		}
	}
	return out
}
