package peer

import (
	"encoding/xml"
	"fmt"
	"strconv"

	"github.com/queuesync/queuesync/internal/state"
)

// WireVersion is the version of the XML documents this package reads and
// writes. A document of another version is refused with ErrVersion.
const WireVersion = "1"

// The document elements.
const (
	stateRoot  = "queuesync"
	resultRoot = "queuesync-result"
	healthRoot = "queuesync-health"
)

// stateDoc is <queuesync>: a node's registers, grouped by queue.
type stateDoc struct {
	XMLName xml.Name `xml:"queuesync"`
	rootAttrs
	Next   string      `xml:"next,attr,omitempty"` // a GET /state page: the token of the next page
	Queues []queueElem `xml:"queue"`
}

type queueElem struct {
	Name    string       `xml:"name,attr"`
	Members []memberElem `xml:"member"`
}

// memberElem is <member>: one register. Tombstones carry only interface,
// membership, present, stamp and origin. Optional attributes are omitted
// when empty; ringinuse and wrapuptime are omitted when unknown. A name, state interface or
// pause reason that XML cannot hold as it is (not state.Plain: a Latin-1
// name, a control character) travels escaped (state.Escape) in the
// attribute of the same name with "-escaped" appended, never in both.
type memberElem struct {
	Interface             string `xml:"interface,attr"`
	Name                  string `xml:"name,attr,omitempty"`
	NameEscaped           string `xml:"name-escaped,attr,omitempty"`
	StateInterface        string `xml:"state-interface,attr,omitempty"`
	StateInterfaceEscaped string `xml:"state-interface-escaped,attr,omitempty"`
	Membership            string `xml:"membership,attr,omitempty"`
	Present               string `xml:"present,attr"`
	Penalty               string `xml:"penalty,attr,omitempty"`
	Paused                string `xml:"paused,attr,omitempty"`
	PausedReason          string `xml:"paused-reason,attr,omitempty"`
	PausedReasonEscaped   string `xml:"paused-reason-escaped,attr,omitempty"`
	Stamp                 string `xml:"stamp,attr"`
	Origin                string `xml:"origin,attr"`
	Ringinuse             string `xml:"ringinuse,attr,omitempty"`
	Wrapuptime            string `xml:"wrapuptime,attr,omitempty"`
}

// resultDoc is <queuesync-result>: the outcome of POST /queue/v1/changes.
type resultDoc struct {
	XMLName xml.Name `xml:"queuesync-result"`
	rootAttrs
	Results []resultElem `xml:"result"`
}

type resultElem struct {
	Queue     string      `xml:"queue,attr"`
	Interface string      `xml:"interface,attr"`
	Status    string      `xml:"status,attr"`
	Reason    string      `xml:"reason,attr,omitempty"`
	Member    *memberElem `xml:"member"`
}

// healthDoc is <queuesync-health>.
type healthDoc struct {
	XMLName xml.Name `xml:"queuesync-health"`
	rootAttrs
	Software string `xml:"software,attr"`
}

// toMember converts a register (already validated) to its element.
func toMember(r state.Register) memberElem {
	m := memberElem{
		Interface:  r.Interface,
		Membership: string(r.Membership),
		Present:    strconv.FormatBool(r.Present),
		Stamp:      r.Stamp.String(),
		Origin:     r.Origin,
	}
	if !r.Present {
		return m
	}
	m.Name, m.NameEscaped = carry(r.MemberName)
	m.StateInterface, m.StateInterfaceEscaped = carry(r.StateInterface)
	m.PausedReason, m.PausedReasonEscaped = carry(r.PausedReason)
	m.Penalty, m.Paused = strconv.Itoa(r.Penalty), strconv.FormatBool(r.Paused)
	if r.Ringinuse != nil {
		m.Ringinuse = strconv.FormatBool(*r.Ringinuse)
	}
	if r.Wrapuptime != nil {
		m.Wrapuptime = strconv.Itoa(*r.Wrapuptime)
	}
	return m
}

// carry returns the attribute values of v: v itself when it is plain, else
// its escaped form.
func carry(v string) (plain, escaped string) {
	if state.Plain(v) {
		return v, ""
	}
	return "", state.Escape(v)
}

// uncarry returns the value a pair of attributes carries.
func uncarry(field, plain, escaped string) (string, error) {
	if escaped == "" {
		return plain, nil
	}
	if plain != "" {
		return "", &FieldError{field + "-escaped", escaped, "given together with " + field + "; send one of them"}
	}
	v, err := state.Unescape(escaped)
	if err != nil {
		return "", &FieldError{field + "-escaped", escaped, "want text with \\\\ and \\xHH escapes only"}
	}
	return v, nil
}

// fromMember converts the element of a member of queue to a register and
// validates it.
func fromMember(queue string, m memberElem) (state.Register, error) {
	r := state.Register{
		Queue: queue, Interface: m.Interface,
		Membership: state.Membership(m.Membership), Origin: m.Origin,
	}
	var err error
	if r.MemberName, err = uncarry("name", m.Name, m.NameEscaped); err != nil {
		return r, err
	}
	if r.StateInterface, err = uncarry("state-interface", m.StateInterface, m.StateInterfaceEscaped); err != nil {
		return r, err
	}
	if r.PausedReason, err = uncarry("paused-reason", m.PausedReason, m.PausedReasonEscaped); err != nil {
		return r, err
	}
	if r.Present, err = parseBool("present", m.Present, false); err != nil {
		return r, err
	}
	if r.Paused, err = parseBool("paused", m.Paused, true); err != nil {
		return r, err
	}
	if r.Penalty, err = parsePenalty(m.Penalty); err != nil {
		return r, err
	}
	if r.Ringinuse, err = parseRinginuse(m.Ringinuse); err != nil {
		return r, err
	}
	if r.Wrapuptime, err = parseWrapuptime(m.Wrapuptime); err != nil {
		return r, err
	}
	if r.Stamp, err = parseStampField("stamp", m.Stamp); err != nil {
		return r, err
	}
	if err := ValidateRegister(r); err != nil {
		return r, err
	}
	if !r.Present {
		// A tombstone carries no member state (toMember writes none): drop
		// what a sender put there, so that every node holds the same register.
		r = state.Register{Queue: r.Queue, Interface: r.Interface, Membership: r.Membership, Stamp: r.Stamp, Origin: r.Origin}
	}
	return r, nil
}

// parseBool reads "true" or "false"; an absent value is false when optional.
func parseBool(field, v string, optional bool) (bool, error) {
	switch {
	case v == "true":
		return true, nil
	case v == "false", v == "" && optional:
		return false, nil
	}
	return false, &FieldError{field, v, "want true or false"}
}

func parseRinginuse(v string) (*bool, error) {
	if v == "" {
		return nil, nil
	}
	b, err := parseBool("ringinuse", v, false)
	return &b, err
}

// parseWrapuptime reads a wrap-up time in seconds; absent is unknown.
func parseWrapuptime(v string) (*int, error) {
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || v[0] == '+' || n < 0 || n > MaxWrapuptime {
		return nil, &FieldError{"wrapuptime", v, "want seconds 0.." + strconv.Itoa(MaxWrapuptime)}
	}
	return state.Seconds(int(n)), nil
}

func parsePenalty(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	p, err := strconv.ParseInt(v, 10, 64)
	if err != nil || v[0] == '+' {
		return 0, &FieldError{"penalty", v, "want an integer 0.." + strconv.Itoa(MaxPenalty)}
	}
	if p < 0 || p > MaxPenalty {
		return 0, &FieldError{"penalty", v, "out of range 0.." + strconv.Itoa(MaxPenalty)}
	}
	return int(p), nil
}

func parseStampField(field, v string) (state.Stamp, error) {
	s, err := state.ParseStamp(v)
	if err != nil {
		return s, &FieldError{field, v, "want a hybrid-clock stamp milliseconds.counter"}
	}
	return s, nil
}

// memberContext names a member for an error message.
func memberContext(queue, iface string) string {
	return fmt.Sprintf("member %s of queue %s", quoteValue(iface), quoteValue(queue))
}
