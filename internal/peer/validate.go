package peer

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/queuesync/queuesync/internal/state"
)

// Limits on the values of a register, in bytes. Every one keeps its AMI line
// ("Key: value\r\n") far below Asterisk's 1024-byte limit. The member fields
// are those of app_queue's struct member (80-byte buffers, so 79 bytes and a
// NUL): a longer value would be truncated by Asterisk, and the truncated live
// state would never match the register, so that the planner would re-apply it
// forever.
const (
	MaxQueueLen     = 128
	MaxInterfaceLen = 79 // interface, state_interface: AST_CHANNEL_NAME
	MaxNameLen      = 79 // membername
	MaxReasonLen    = 79 // reason_paused
	MaxNodeLen      = 64
	MaxPenalty      = math.MaxInt32
	MaxWrapuptime   = math.MaxInt32
)

// FieldError says which field of a register is invalid, with the offending
// value, and why. It wraps ErrInvalid.
type FieldError struct {
	Field  string // as in the XML: queue, interface, name, state-interface, ...
	Value  string
	Reason string
}

// Error names the field and quotes the (truncated) value.
func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Field, quoteValue(e.Value), e.Reason)
}

// Unwrap returns ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// ValidateRegister checks every value of r that could reach AMI or the
// journal: the queue, interface and origin are valid UTF-8 without control
// characters; the member name, state interface and pause reason are
// Asterisk's bytes (architecture.md §1: any byte but CR, LF and NUL, so a Latin-1
// name is valid); lengths within the limits above; queue and interface
// syntax; membership; penalty range; a non-zero stamp. It returns a
// *FieldError for the first problem found.
func ValidateRegister(r state.Register) error {
	checks := []func() error{
		func() error { return ValidateQueue(r.Queue) },
		func() error { return validateInterface("interface", r.Interface) },
		func() error { return validateNodeName("origin", r.Origin) },
		func() error { return validateStamp(r.Stamp) },
		func() error { return validateMembership(r.Membership, r.Present) },
		func() error { return checkBytes("name", r.MemberName, MaxNameLen) },
		func() error { return validateStateInterface(r.StateInterface) },
		func() error { return checkBytes("paused-reason", r.PausedReason, MaxReasonLen) },
		func() error { return validatePenalty(r.Penalty) },
		func() error { return validateWrapuptime(r.Wrapuptime) },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// ValidateQueue checks a queue name: 1 to MaxQueueLen bytes of printable
// text without white space, ',', '|', ';', '[' or ']'.
func ValidateQueue(q string) error {
	if err := checkText("queue", q, MaxQueueLen); err != nil {
		return err
	}
	if q == "" {
		return &FieldError{"queue", q, "is empty"}
	}
	if i := strings.IndexFunc(q, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune(",|;[]", r) }); i >= 0 {
		return &FieldError{"queue", q, fmt.Sprintf("contains %s, which a queue name cannot hold", describeRune(q[i:]))}
	}
	return nil
}

// ValidateNodeName checks a node name: 1 to MaxNodeLen bytes of
// [A-Za-z0-9_.-].
func ValidateNodeName(n string) error { return validateNodeName("node", n) }

func validateNodeName(field, n string) error {
	if err := checkText(field, n, MaxNodeLen); err != nil {
		return err
	}
	if n == "" {
		return &FieldError{field, n, "is empty"}
	}
	if i := strings.IndexFunc(n, func(r rune) bool { return !isNodeRune(r) }); i >= 0 {
		return &FieldError{field, n, fmt.Sprintf("contains %s; a node name is letters, digits, '_', '.' and '-'", describeRune(n[i:]))}
	}
	return nil
}

func isNodeRune(r rune) bool {
	return r < utf8.RuneSelf && (r == '_' || r == '.' || r == '-' || isAlnum(byte(r)))
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// validateInterface checks a dialable interface: Tech/resource.
func validateInterface(field, v string) error {
	return validateDevice(field, v, "/", checkText)
}

// validateStateInterface checks a state interface: empty (the interface
// itself), Tech/resource, or a device-state provider such as Custom:1001 or
// hint:1001@agents.
func validateStateInterface(v string) error {
	if v == "" {
		return nil
	}
	return validateDevice("state-interface", v, "/:", checkBytes)
}

func validateDevice(field, v, seps string, check func(field, v string, max int) error) error {
	if err := check(field, v, MaxInterfaceLen); err != nil {
		return err
	}
	i := strings.IndexAny(v, seps)
	if i <= 0 || i == len(v)-1 {
		return &FieldError{field, v, "want Tech/resource, as PJSIP/1001"}
	}
	for j := 0; j < i; j++ {
		if c := v[j]; !isAlnum(c) && c != '_' && c != '-' {
			return &FieldError{field, v, fmt.Sprintf("technology %q holds %s", v[:i], describeRune(v[j:]))}
		}
	}
	if k := strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune(",|;", r) }); k >= 0 {
		return &FieldError{field, v, fmt.Sprintf("contains %s, which an interface cannot hold", describeRune(v[k:]))}
	}
	return nil
}

func validateStamp(s state.Stamp) error {
	if s.IsZero() || s.Wall < 0 {
		return &FieldError{"stamp", s.String(), "must be a positive hybrid-clock stamp"}
	}
	return nil
}

func validateMembership(m state.Membership, present bool) error {
	if m.Valid() || (m == "" && !present) {
		return nil
	}
	return &FieldError{"membership", string(m), "want dynamic, static or realtime"}
}

func validateWrapuptime(w *int) error {
	if w != nil && (*w < 0 || *w > MaxWrapuptime) {
		return &FieldError{"wrapuptime", strconv.Itoa(*w), fmt.Sprintf("out of range 0..%d", MaxWrapuptime)}
	}
	return nil
}

func validatePenalty(p int) error {
	if p < 0 || p > MaxPenalty {
		return &FieldError{"penalty", strconv.Itoa(p), fmt.Sprintf("out of range 0..%d", MaxPenalty)}
	}
	return nil
}

// checkText refuses what no value may hold: invalid UTF-8, CR, LF, NUL and
// the other characters XML 1.0 cannot carry (tab is allowed), and more than
// max bytes.
func checkText(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return &FieldError{field, v, "is not valid UTF-8"}
	}
	for i, r := range v {
		if bad := badRune(r); bad != "" {
			return &FieldError{field, v, fmt.Sprintf("contains %s at byte %d: a value that reaches AMI must not hold CR, LF, NUL or control characters", bad, i)}
		}
	}
	if len(v) > max {
		return &FieldError{field, v, fmt.Sprintf("is %d bytes long, limit %d", len(v), max)}
	}
	return nil
}

// checkBytes checks a value Asterisk holds as bytes (a member name, state
// interface or pause reason): any byte but CR, LF and NUL, which would break
// an AMI line, and at most max bytes. It need not be UTF-8: the wire and the
// journal escape what they cannot hold (see state.Escape).
func checkBytes(field, v string, max int) error {
	if i := strings.IndexAny(v, "\r\n\x00"); i >= 0 {
		return &FieldError{field, v, fmt.Sprintf("contains %s at byte %d: a value that reaches AMI must not hold CR, LF or NUL", badRune(rune(v[i])), i)}
	}
	if len(v) > max {
		return &FieldError{field, v, fmt.Sprintf("is %d bytes long, limit %d", len(v), max)}
	}
	return nil
}

// badRune names r if no value may hold it, else returns "".
func badRune(r rune) string {
	switch {
	case r == '\r':
		return "CR"
	case r == '\n':
		return "LF"
	case r == 0:
		return "NUL"
	case r == '\t':
		return ""
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0xfffe || r == 0xffff:
		return fmt.Sprintf("control character U+%04X", r)
	}
	return ""
}

// describeRune names the first rune of s for an error message.
func describeRune(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	if unicode.IsSpace(r) {
		return fmt.Sprintf("white space (U+%04X)", r)
	}
	return strconv.QuoteRune(r)
}

// maxQuoted bounds the part of a bad value quoted in an error message.
const maxQuoted = 40

// quoteValue quotes v for an error message, escaped and truncated, so that
// a hostile value cannot forge log lines or flood them.
func quoteValue(v string) string {
	if len(v) <= maxQuoted {
		return strconv.Quote(v)
	}
	return strconv.Quote(truncate(v, maxQuoted)) + "…"
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
