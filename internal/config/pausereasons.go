package config

import (
	"fmt"
	"strings"
)

// maxReason is the longest pause reason Asterisk keeps, in bytes.
const maxReason = 79

// pauseReasons checks local_pause_reasons: each a reason Asterisk can hold
// (no CR, LF or NUL, at most 79 bytes), none empty (an unpause carries no
// reason: listing "" would keep every unpause local) and none twice.
func (v *validator) pauseReasons(reasons []string) {
	seen := map[string]bool{}
	for i, r := range reasons {
		field := fmt.Sprintf("local_pause_reasons[%d]", i)
		switch {
		case r == "":
			v.add(invalid(field, r, ErrRequired, "list pause reasons such as Auto-Pause; remove the empty entry"))
		case strings.ContainsAny(r, "\r\n\x00"):
			v.add(invalid(field, r, ErrBadReason, "a pause reason cannot hold a line break or NUL"))
		case len(r) > maxReason:
			v.add(invalid(field, r, ErrBadReason, fmt.Sprintf("Asterisk keeps at most %d bytes of a reason; shorten it to what Asterisk reports", maxReason)))
		case seen[r]:
			v.add(invalid(field, r, ErrDuplicate, "list each reason once"))
		}
		seen[r] = true
	}
}
