package ami

import "strings"

// maxWriteLine is the longest outgoing line accepted, without its CRLF.
// Asterisk's own input buffer is 1025 bytes per line.
const maxWriteLine = 1024

// Action is a request to Asterisk. The client adds the ActionID header
// itself, right after "Action:", so Headers must not contain ActionID (or
// Action).
type Action struct {
	Name    string
	Headers []Header
}

// validateAction checks every line of a before anything is written: names and
// values must not contain CR, LF or NUL, names must be non-empty without a
// colon, and no line may exceed maxWriteLine bytes.
func validateAction(a Action) error {
	if err := checkLine("Action", a.Name); err != nil {
		return &HeaderError{Action: a.Name, Header: "Action", Err: err}
	}
	if a.Name == "" {
		return &HeaderError{Action: a.Name, Header: "Action", Err: ErrUnsafeValue}
	}
	for _, h := range a.Headers {
		if strings.EqualFold(h.Key, "ActionID") || strings.EqualFold(h.Key, "Action") {
			return &HeaderError{Action: a.Name, Header: h.Key, Err: ErrReservedHeader}
		}
		if err := checkLine(h.Key, h.Value); err != nil {
			return &HeaderError{Action: a.Name, Header: h.Key, Err: err}
		}
	}
	return nil
}

// checkLine validates one "key: value" line.
func checkLine(key, value string) error {
	if key == "" || strings.ContainsAny(key, "\r\n\x00:") || strings.ContainsAny(value, "\r\n\x00") {
		return ErrUnsafeValue
	}
	if len(key)+2+len(value) > maxWriteLine {
		return ErrLineTooLong
	}
	return nil
}

// appendAction appends the wire form of a with the given ActionID to dst.
// The action must have passed validateAction.
func appendAction(dst []byte, a Action, id string) []byte {
	dst = appendHeader(dst, "Action", a.Name)
	dst = appendHeader(dst, "ActionID", id)
	for _, h := range a.Headers {
		dst = appendHeader(dst, h.Key, h.Value)
	}
	return append(dst, '\r', '\n')
}

// appendHeader appends "key: value\r\n".
func appendHeader(dst []byte, key, value string) []byte {
	dst = append(dst, key...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}
