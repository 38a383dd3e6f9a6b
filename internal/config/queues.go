package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Queues is the set of queues a node shares with a peer: every queue both
// nodes define (All, written `queues: all`) or the listed ones (written
// `queues: [support, sales]`). Parse makes an omitted queues: All.
type Queues struct {
	// All means every queue both nodes define.
	All bool
	// Names lists the shared queues when All is false.
	Names []string
}

// AllQueues is the Queues value of `queues: all`.
var AllQueues = Queues{All: true}

// Contains reports whether queue is in q, comparing names
// case-insensitively (as Asterisk does).
func (q Queues) Contains(queue string) bool {
	if q.All {
		return true
	}
	for _, n := range q.Names {
		if strings.EqualFold(n, queue) {
			return true
		}
	}
	return false
}

// String returns "all" or the comma-separated names.
func (q Queues) String() string {
	if q.All {
		return "all"
	}
	return strings.Join(q.Names, ",")
}

// UnmarshalYAML accepts the scalar `all` or a sequence of queue names.
func (q *Queues) UnmarshalYAML(n *yaml.Node) error {
	switch {
	case n.Kind == yaml.ScalarNode && strings.EqualFold(n.Value, "all"):
		*q = Queues{All: true}
		return nil
	case n.Kind == yaml.SequenceNode:
		names := []string{}
		if err := n.Decode(&names); err != nil {
			return err
		}
		*q = Queues{Names: names}
		return nil
	}
	// A *yaml.TypeError lets the decoder go on and report every problem.
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is neither `all` nor a list; write queues: all or queues: [%s]",
		n.Line, n.Value, n.Value)}}
}

// MarshalYAML writes `all` or the list of names.
func (q Queues) MarshalYAML() (any, error) {
	if q.All {
		return "all", nil
	}
	return q.Names, nil
}
