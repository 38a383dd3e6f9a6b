//go:build chaos

package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/queuesync/queuesync/internal/state"
	"github.com/queuesync/queuesync/pkg/ami"
	"github.com/queuesync/queuesync/test/internal/harness"
)

// node is one node of the cluster (test/internal/harness: a real Asterisk,
// a journal database and a daemon, its peer API and its AMI behind gates)
// and what the chaos run knows of it.
type node struct {
	*harness.Node
	offset  time.Duration // QUEUESYNC_CLOCK_OFFSET of the daemon last started
	persist bool          // persistentmembers of the running Asterisk
}

// cluster is the nodes, their topology and the queuesync binary.
type cluster struct {
	*harness.Cluster
	nodes []*node
	topo  topology
}

// newCluster sets the nodes of topo up in dir: the binary (CHAOS_BIN, or
// this tree built with -race), fresh journals, configs; no daemon runs yet.
func newCluster(env harness.Env, dir string, topo topology) (*cluster, error) {
	hc, err := harness.New(env, harness.Options{Dir: dir, DBPrefix: "qs_chaos_", Race: true, Bin: os.Getenv("CHAOS_BIN"),
		Nodes: topo.nodes(), Peers: topo.peers, Netns: os.Getenv("CHAOS_NETNS") == "1",
		Gated: true, PeerSecret: "chaos-shared-secret-0123456789abcdef", HealthInterval: 500 * time.Millisecond})
	if hc == nil {
		return nil, err
	}
	c := &cluster{Cluster: hc, topo: topo}
	for _, n := range hc.Nodes {
		c.nodes = append(c.nodes, &node{Node: n, persist: true})
	}
	return c, err
}

// startDaemon starts n's daemon with its clock offset by off and waits until
// it listens.
func (c *cluster) startDaemon(n *node, off time.Duration) error {
	n.offset = off
	_, err := n.Start(harness.StartOptions{Offset: off})
	return err
}

// stopDaemon stops n's daemon: SIGKILL when kill, else a clean stop.
func (c *cluster) stopDaemon(n *node, kill bool) {
	if kill {
		n.Kill()
	} else {
		n.Stop()
	}
}

// members reads n's live members of the test queues.
func (n *node) members() (map[key]member, error) {
	qs, err := harness.WithAMI(n.Node, func(ctx context.Context, cl *ami.Client) (ami.QueueStatus, error) {
		return cl.QueueStatus(ctx, "", "")
	})
	if err != nil {
		return nil, fmt.Errorf("QueueStatus on %s: %w", n.Name, err)
	}
	out := map[key]member{}
	for _, m := range qs.Members {
		if !harness.IsTestQueue(m.Queue) {
			continue
		}
		out[newKey(m.Queue, m.Interface)] = liveMember(m)
	}
	return out, nil
}

// member reads one member of n's Asterisk (absent: the zero member).
func (n *node) member(k key) (member, error) {
	q, iface := k.spelled()
	qs, err := harness.WithAMI(n.Node, func(ctx context.Context, cl *ami.Client) (ami.QueueStatus, error) {
		return cl.QueueStatus(ctx, q, iface)
	})
	if err != nil {
		return member{}, fmt.Errorf("QueueStatus %s on %s: %w", k, n.Name, err)
	}
	for _, m := range qs.Members {
		if newKey(m.Queue, m.Interface) == k {
			return liveMember(m), nil
		}
	}
	return member{}, nil
}

func liveMember(m ami.QueueMember) member {
	v := member{Present: true, Name: m.Name, Penalty: m.Penalty, Paused: m.Paused}
	if v.Name == "" {
		v.Name = m.Interface
	}
	if m.Paused {
		v.Reason = m.PausedReason
	}
	return v
}

// do runs one AMI action on n's harness session.
func (n *node) do(f func(context.Context, *ami.Client) error) error {
	_, err := harness.WithAMI(n.Node, func(ctx context.Context, cl *ami.Client) (struct{}, error) {
		return struct{}{}, f(ctx, cl)
	})
	return err
}

// jrow is one journal register.
type jrow struct {
	member
	Stamp   state.Stamp
	Origin  string
	Pending bool
}

func (r jrow) version() string { return r.Stamp.String() + "/" + r.Origin }

// scanRow reads a register's columns: present, member_name, penalty,
// paused, paused_reason, stamp_wall, stamp_logical, origin, pending.
func scanRow(row pgx.Row, extra ...any) (jrow, error) {
	var name, reason, origin string
	var present, paused, pending bool
	var pen int
	var wall, logical int64
	dest := append(extra, &present, &name, &pen, &paused, &reason, &wall, &logical, &origin, &pending)
	if err := row.Scan(dest...); err != nil {
		return jrow{}, err
	}
	r := jrow{Stamp: state.Stamp{Wall: wall, Logical: uint32(logical)}, Origin: origin, Pending: pending}
	if present {
		r.member = member{Present: true, Name: name, Penalty: pen, Paused: paused}
		if paused {
			r.Reason = reason
		}
	}
	return r, nil
}

const registerColumns = `present, member_name, penalty, paused, paused_reason, stamp_wall, stamp_logical, origin, pending`

// journal reads n's journal.
func (n *node) journal() (map[key]jrow, error) {
	out := map[key]jrow{}
	err := n.DB(func(ctx context.Context, c *pgx.Conn) error {
		clear(out)
		rows, err := c.Query(ctx, `SELECT queue_key, iface_key, `+registerColumns+` FROM attribute_state WHERE class = 'queue_sync'`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k key
			r, err := scanRow(rows, &k.Queue, &k.Iface)
			if err != nil {
				return err
			}
			out[k] = r
		}
		return rows.Err()
	})
	return out, err
}

// journalRow reads n's register of k.
func (n *node) journalRow(k key) (jrow, bool, error) {
	var r jrow
	var ok bool
	err := n.DB(func(ctx context.Context, c *pgx.Conn) error {
		var err error
		r, err = scanRow(c.QueryRow(ctx, `SELECT `+registerColumns+`
			FROM attribute_state WHERE class = 'queue_sync' AND queue_key = $1 AND iface_key = $2`, k.Queue, k.Iface))
		ok = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	return r, ok, err
}

// reconciles counts the full reconciles n's daemon has logged.
func (n *node) reconciles() int {
	return n.LogCount(`msg="` + harness.ReconciledMsg + `"`)
}

// history returns n's history rows of k, oldest first, one line each: what
// a failed seed's register went through on that node.
func (n *node) history(k key) ([]string, error) {
	var out []string
	err := n.DB(func(ctx context.Context, c *pgx.Conn) error {
		out = out[:0]
		rows, err := c.Query(ctx, `SELECT id, recorded_at, source, result, coalesce(seq, 0), origin,
			stamp_wall, stamp_logical, new_present, new_paused, convert_from(new_paused_reason, 'LATIN1'), new_penalty,
			coalesce(old_present, false), coalesce(old_paused, false), coalesce(old_stamp_wall, 0), coalesce(old_origin, '')
			FROM queue_sync_history WHERE class = 'queue_sync' AND queue_key = $1 AND iface_key = $2 ORDER BY id`, k.Queue, k.Iface)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id, seq, wall, logical, oldWall   int64
				at                                time.Time
				source, result, origin, reason    string
				present, paused, oldPres, oldPaus bool
				penalty                           int
				oldOrigin                         string
			)
			if err := rows.Scan(&id, &at, &source, &result, &seq, &origin, &wall, &logical, &present, &paused, &reason, &penalty,
				&oldPres, &oldPaus, &oldWall, &oldOrigin); err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("#%d %s %s %s seq=%d stamp=%d.%d@%s present=%v paused=%v reason=%q penalty=%d (was present=%v paused=%v stamp=%d@%s)",
				id, at.UTC().Format("15:04:05.000"), source, result, seq, wall, logical, origin, present, paused, reason, penalty,
				oldPres, oldPaus, oldWall, oldOrigin))
		}
		return rows.Err()
	})
	return out, err
}
