//go:build chaos

package chaos

import (
	"fmt"
	"slices"
	"strings"
)

// The fault kinds, as CHAOS_FAULTS (make chaos FAULTS=...) names them and
// as the report counts them.
const (
	fPartition     = "partition"      // peer-API gates closed, one node's or all
	fKill          = "kill"           // SIGKILL of a daemon, started again 0.3-4 s later
	fSigstop       = "sigstop"        // SIGSTOP of a daemon for 1-20 s, then SIGCONT
	fAstRestart    = "ast-restart"    // Asterisk restart, with or without persistentmembers
	fAstChurn      = "ast-churn"      // the same, with changes on the other nodes meanwhile
	fModuleReload  = "module-reload"  // module reload app_queue.so
	fMembersReload = "members-reload" // queue reload members (no event at all)
	fAMICut        = "ami-cut"        // the daemon's AMI connection cut
	fPGRestart     = "pg-restart"     // pg_ctl restart (both nodes' journals)
	fPGKill        = "pg-kill"        // SIGKILL of the postmaster, down 0.3-5 s
	fSkew          = "skew"           // a daemon's clock off by up to 30 s
	fLink          = "link"           // a node's peer API behind a slow, lossy link
	fHubDown       = "hub-down"       // chain only: the hub's daemon down, or every gate closed, 2-15 s
)

var allKinds = []string{fPartition, fKill, fSigstop, fAstRestart, fAstChurn, fModuleReload, fMembersReload,
	fAMICut, fPGRestart, fPGKill, fSkew, fLink, fHubDown}

// topology is who names whom as a peer.
type topology struct {
	name  string
	peers [][]int // peers[i]: the nodes node i names
	hub   int     // the node the others reach each other through, or -1
}

// reaches reports whether a change on node a reaches node b through a
// chain of peers, hop reports whether x can hand it on to its peer y.
func (t topology) reaches(a, b int, hop func(x, y int) bool) bool {
	seen := make([]bool, len(t.peers))
	seen[a] = true
	todo := []int{a}
	for len(todo) > 0 {
		x := todo[0]
		todo = todo[1:]
		if x == b {
			return true
		}
		for _, y := range t.peers[x] {
			if !seen[y] && hop(x, y) {
				seen[y] = true
				todo = append(todo, y)
			}
		}
	}
	return false
}

func (t topology) nodes() int { return len(t.peers) }

var topologies = map[string]topology{
	// Two nodes, each the other's peer: the production pair.
	"pair": {name: "pair", peers: [][]int{{1}, {0}}, hub: -1},
	// sop1 - sop2 - sop3: sop1 and sop3 learn each other's changes only
	// through sop2, which forwards what it receives.
	"chain": {name: "chain", peers: [][]int{{1}, {0, 2}, {1}}, hub: 1},
}

// kinds returns every fault kind that applies to t.
func (t topology) kinds() map[string]bool {
	m := map[string]bool{}
	for _, k := range allKinds {
		if k != fHubDown || t.hub >= 0 {
			m[k] = true
		}
	}
	return m
}

// parseFaults reads a FAULTS selector: "all", or kinds separated by commas
// or spaces.
func parseFaults(s string, t topology) (map[string]bool, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return t.kinds(), nil
	}
	m := map[string]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !slices.Contains(allKinds, f) {
			return nil, fmt.Errorf("unknown fault kind %q (known: all, %s)", f, strings.Join(allKinds, ", "))
		}
		if f == fHubDown && t.hub < 0 {
			return nil, fmt.Errorf("fault kind %s needs a topology with a hub (TOPOLOGY=chain)", f)
		}
		m[f] = true
	}
	return m, nil
}

// kindsString spells a set of kinds in allKinds order.
func kindsString(m map[string]bool) string {
	var out []string
	for _, k := range allKinds {
		if m[k] {
			out = append(out, k)
		}
	}
	return strings.Join(out, ",")
}
