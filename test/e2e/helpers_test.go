//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

func ctxT(t *testing.T) context.Context { return harness.Context(t, 2*time.Minute) }

// writeFile writes data as the file name in dir, with permissions perm, and
// returns its path.
func writeFile(t *testing.T, dir, name string, data []byte, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

// memberView is the synced part of a member, for comparing nodes.
type memberView struct {
	Queue, Interface, Name, StateInterface, Membership string
	Penalty                                            int
	Paused                                             bool
	Reason                                             string
}

func (m memberView) String() string {
	r := ""
	if m.Paused {
		r = "(" + m.Reason + ")"
	}
	return fmt.Sprintf("%s/%s name=%q si=%s %s pen=%d paused=%v%s", m.Queue, m.Interface, m.Name, m.StateInterface, m.Membership, m.Penalty, m.Paused, r)
}

// members returns n's live members of the test queues, sorted.
func members(t *testing.T, n *harness.Node) []memberView {
	t.Helper()
	cl := amiClient(t, n)
	qs, err := cl.QueueStatus(ctxT(t), "", "")
	if err != nil {
		t.Fatalf("QueueStatus on %s: %v", n.Name, err)
	}
	var out []memberView
	for _, m := range qs.Members {
		if !harness.IsTestQueue(m.Queue) {
			continue
		}
		v := memberView{Queue: m.Queue, Interface: m.Interface, Name: m.Name, StateInterface: m.StateInterface,
			Membership: m.Membership, Penalty: m.Penalty, Paused: m.Paused}
		if m.Paused {
			v.Reason = m.PausedReason
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func render(ms []memberView) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString("  " + m.String() + "\n")
	}
	return b.String()
}

// requireSame fails unless both nodes hold the same members.
func requireSame(t *testing.T) []memberView {
	t.Helper()
	a, b := members(t, tb.Nodes[0]), members(t, tb.Nodes[1])
	if render(a) != render(b) {
		t.Fatalf("nodes differ:\nsop1:\n%ssop2:\n%s", render(a), render(b))
	}
	return a
}

func find(ms []memberView, queue, iface string) *memberView {
	for i := range ms {
		if strings.EqualFold(ms[i].Queue, queue) && strings.EqualFold(ms[i].Interface, iface) {
			return &ms[i]
		}
	}
	return nil
}

// reset removes every dynamic member of the test queues on both nodes and
// empties both journals, so that each scenario starts clean.
func reset(t *testing.T) {
	t.Helper()
	for _, n := range tb.Nodes {
		n.Stop()
	}
	for _, n := range tb.Nodes {
		cl := amiClient(t, n)
		qs, err := cl.QueueStatus(ctxT(t), "", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range qs.Members {
			if harness.IsTestQueue(m.Queue) && m.Membership == "dynamic" {
				if err := cl.QueueRemove(ctxT(t), m.Queue, m.Interface); err != nil {
					t.Fatalf("reset %s: remove %s/%s: %v", n.Name, m.Queue, m.Interface, err)
				}
			}
			if harness.IsTestQueue(m.Queue) && m.Membership == "static" && m.Paused {
				_ = cl.QueuePause(ctxT(t), m.Queue, m.Interface, false, "")
			}
		}
		// Forget members Asterisk persisted while persistentmembers was on.
		runTestbed(t, n, "rx", "database deltree Queue/PersistentMembers")
		execSQL(t, n, "DELETE FROM attribute_state WHERE class = 'queue_sync'")
		execSQL(t, n, "DELETE FROM queue_sync_peer")
	}
	tb.Heal()
	for _, n := range tb.Nodes {
		if err := startDaemon(n); err != nil {
			t.Fatal(err)
		}
	}
	// A fresh second for LoginTime/LastPause-dated changes.
	time.Sleep(1100 * time.Millisecond)
}

// partition cuts the daemons off from each other (both directions) until
// the test ends; the resync commands still reach the peers directly.
func partition(t *testing.T) {
	t.Helper()
	tb.Partition()
	t.Cleanup(tb.Heal)
}

func execSQL(t *testing.T, n *harness.Node, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(ctxT(t), n.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctxT(t), sql, args...); err != nil {
		t.Fatalf("%s on %s: %v", sql, n.Name, err)
	}
}

// journal returns n's journal rows as comparable text, sorted. It takes a
// connection of its own each time, as an operator's psql would.
func journal(t *testing.T, n *harness.Node) string {
	t.Helper()
	conn, err := pgx.Connect(ctxT(t), n.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctxT(t), `SELECT queue_key, iface_key, present, member_name, penalty, paused, paused_reason, stamp_wall, stamp_logical, origin
		FROM attribute_state WHERE class = 'queue_sync' ORDER BY queue_key, iface_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, vals...)
	}
	return b.String()
}

// queueLog returns the lines of n's queue_log written since mark (a
// length of n.QueueLog()) that mention one of agents.
func queueLog(n *harness.Node, since int, agents ...string) []string {
	lines := n.QueueLog()
	return harness.Mentioning(lines[min(since, len(lines)):], agents...)
}

// act runs one AMI action on n and fails the test if Asterisk refuses it.
func act(t *testing.T, n *harness.Node, what string, f func(context.Context, *ami.Client) error) {
	t.Helper()
	if err := f(ctxT(t), amiClient(t, n)); err != nil {
		t.Fatalf("%s on %s: %v", what, n.Name, err)
	}
}

// addAndWait adds r on n and waits until every node holds it.
func addAndWait(t *testing.T, n *harness.Node, r ami.QueueAddRequest) {
	t.Helper()
	add(t, n, r)
	waitSame(t, 15*time.Second, has(r.Queue, r.Interface, nil))
}

func add(t *testing.T, n *harness.Node, r ami.QueueAddRequest) {
	t.Helper()
	act(t, n, "QueueAdd", func(ctx context.Context, cl *ami.Client) error { return cl.QueueAdd(ctx, r) })
}

func remove(t *testing.T, n *harness.Node, queue, iface string) {
	t.Helper()
	act(t, n, "QueueRemove", func(ctx context.Context, cl *ami.Client) error { return cl.QueueRemove(ctx, queue, iface) })
}

func pause(t *testing.T, n *harness.Node, queue, iface string, paused bool, reason string) {
	t.Helper()
	act(t, n, "QueuePause", func(ctx context.Context, cl *ami.Client) error {
		return cl.QueuePause(ctx, queue, iface, paused, reason)
	})
}

func setPenalty(t *testing.T, n *harness.Node, queue, iface string, penalty int) {
	t.Helper()
	act(t, n, "QueuePenalty", func(ctx context.Context, cl *ami.Client) error { return cl.QueuePenalty(ctx, queue, iface, penalty) })
}
