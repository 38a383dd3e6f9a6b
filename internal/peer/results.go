package peer

import (
	"fmt"
	"io"

	"github.com/queuesync/queuesync/internal/state"
)

// Status is the outcome of one register sent to POST /queue/v1/changes.
type Status string

// The statuses of a Result.
const (
	Applied Status = "applied" // the register won and was applied (or already held)
	Stale   Status = "stale"   // the receiver's register was newer; it is returned
	Error   Status = "error"   // the register was refused or could not be applied
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == Applied || s == Stale || s == Error }

// Result is the outcome of one register of a batch.
type Result struct {
	Queue, Interface string
	Status           Status
	Reason           string          // why, for Error (and optionally the others)
	Register         *state.Register // the receiver's register, for Stale
}

// ResultSet is the answer to POST /queue/v1/changes: one Result per register
// sent, in the order sent.
type ResultSet struct {
	Node    string
	Clock   state.Stamp
	Results []Result
}

// MaxReasonText bounds the reason of a Result, in bytes.
const MaxReasonText = 1024

// EncodeResults writes a <queuesync-result> document from node at clock.
// Every result must pass validation (see DecodeResults); nothing is written
// otherwise.
func EncodeResults(w io.Writer, node string, clock state.Stamp, results []Result) error {
	if err := ValidateNodeName(node); err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	doc := resultDoc{rootAttrs: newRootAttrs(node, clock), Results: make([]resultElem, len(results))}
	for i, res := range results {
		if err := validateResult(res); err != nil {
			return fmt.Errorf("encode result %d (%s): %w", i, memberContext(res.Queue, res.Interface), err)
		}
		doc.Results[i] = resultElem{Queue: res.Queue, Interface: res.Interface, Status: string(res.Status), Reason: res.Reason}
		if res.Register != nil {
			m := toMember(*res.Register)
			doc.Results[i].Member = &m
		}
	}
	return writeDoc(w, doc)
}

// DecodeResults reads a <queuesync-result> document and validates every
// result: a known status, a queue and interface that are valid or empty
// (the receiver leaves them empty when the register it refused had invalid
// ones), a reason without control characters, and a returned register that
// passes ValidateRegister and has the result's key.
func DecodeResults(r io.Reader) (ResultSet, error) {
	var doc resultDoc
	hdr, err := decodeHeaded(r, resultRoot, &doc, &doc.rootAttrs)
	if err != nil {
		return ResultSet{}, fmt.Errorf("decode results: %w", err)
	}
	set := ResultSet{Node: hdr.Node, Clock: hdr.Clock, Results: make([]Result, len(doc.Results))}
	for i, e := range doc.Results {
		res, err := fromResult(e)
		if err != nil {
			return ResultSet{}, fmt.Errorf("decode result %d (%s): %w", i, memberContext(e.Queue, e.Interface), err)
		}
		set.Results[i] = res
	}
	return set, nil
}

func fromResult(e resultElem) (Result, error) {
	res := Result{Queue: e.Queue, Interface: e.Interface, Status: Status(e.Status), Reason: e.Reason}
	if e.Member != nil {
		reg, err := fromMember(e.Queue, *e.Member)
		if err != nil {
			return res, err
		}
		res.Register = &reg
	}
	return res, validateResult(res)
}

func validateResult(res Result) error {
	if !res.Status.Valid() {
		return &FieldError{"status", string(res.Status), "want applied, stale or error"}
	}
	if res.Queue != "" {
		if err := ValidateQueue(res.Queue); err != nil {
			return err
		}
	}
	if res.Interface != "" {
		if err := validateInterface("interface", res.Interface); err != nil {
			return err
		}
	}
	if err := checkText("reason", res.Reason, MaxReasonText); err != nil {
		return err
	}
	return validateResultRegister(res)
}

func validateResultRegister(res Result) error {
	if res.Register == nil {
		return nil
	}
	if err := ValidateRegister(*res.Register); err != nil {
		return err
	}
	if res.Register.Key() != state.NewKey(res.Queue, res.Interface) {
		return &FieldError{"member", res.Register.Key().String(), "is not the member of its result"}
	}
	return nil
}

// Health is what GET /queue/v1/health answers.
type Health struct {
	Node     string      // the answering node's name
	Clock    state.Stamp // its hybrid clock
	Software string      // its queuesync version
}

// maxSoftware bounds Health.Software, in bytes.
const maxSoftware = 128

// EncodeHealth writes a <queuesync-health> document.
func EncodeHealth(w io.Writer, h Health) error {
	if err := validateHealth(h); err != nil {
		return fmt.Errorf("encode health: %w", err)
	}
	return writeDoc(w, healthDoc{rootAttrs: newRootAttrs(h.Node, h.Clock), Software: h.Software})
}

// DecodeHealth reads a <queuesync-health> document.
func DecodeHealth(r io.Reader) (Health, error) {
	var doc healthDoc
	hdr, err := decodeHeaded(r, healthRoot, &doc, &doc.rootAttrs)
	if err != nil {
		return Health{}, fmt.Errorf("decode health: %w", err)
	}
	h := Health{Node: hdr.Node, Clock: hdr.Clock, Software: doc.Software}
	if err := validateHealth(h); err != nil {
		return Health{}, fmt.Errorf("decode health: %w", err)
	}
	return h, nil
}

func validateHealth(h Health) error {
	if err := ValidateNodeName(h.Node); err != nil {
		return err
	}
	return checkText("software", h.Software, maxSoftware)
}
