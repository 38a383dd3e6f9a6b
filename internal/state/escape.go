package state

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// ErrBadEscape marks an escaped value (see Unescape) that is not well formed.
var ErrBadEscape = errors.New("malformed escaped value")

// Plain reports whether v can be carried as it is by both the peer API's XML
// and PostgreSQL text: valid UTF-8 made only of characters XML 1.0 allows
// (tab, and U+0020 and above, less the surrogates, U+FFFE and U+FFFF; CR and
// LF never reach a register). A plain value is written byte for byte.
func Plain(v string) bool {
	if !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if !xmlChar(r) {
			return false
		}
	}
	return true
}

func xmlChar(r rune) bool {
	return r == '\t' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// Escape returns the escaped form of a value that is not Plain, for a field
// that cannot hold its bytes: every character Plain allows stays as it is,
// except the backslash, written \\; every other byte (a byte of invalid
// UTF-8, as in a Latin-1 name, or a control character) is written \xHH with
// two upper-case hex digits. The result is Plain, so a Latin-1 "Jos\xe9"
// stays readable. Escape is applied only to values that are not Plain, and
// the escaped form always travels in a field of its own, so a plain value is
// never altered.
func Escape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); {
		r, n := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case (r != utf8.RuneError || n > 1) && xmlChar(r):
			b.WriteString(v[i : i+n])
		default:
			for _, c := range []byte(v[i : i+n]) {
				b.WriteString(`\x`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xF])
			}
		}
		i += n
	}
	return b.String()
}

const hexDigits = "0123456789ABCDEF"

// Unescape reverses Escape. It accepts only \\ and \xHH (either case) after a
// backslash, and returns an error wrapping ErrBadEscape otherwise.
func Unescape(e string) (string, error) {
	if !strings.Contains(e, `\`) {
		return e, nil
	}
	var b strings.Builder
	for i := 0; i < len(e); i++ {
		if e[i] != '\\' {
			b.WriteByte(e[i])
			continue
		}
		switch {
		case i+1 < len(e) && e[i+1] == '\\':
			b.WriteByte('\\')
			i++
		case i+3 < len(e) && e[i+1] == 'x' && isHex(e[i+2]) && isHex(e[i+3]):
			b.WriteByte(unhex(e[i+2])<<4 | unhex(e[i+3]))
			i += 3
		default:
			return "", ErrBadEscape
		}
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
