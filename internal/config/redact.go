package config

import (
	"net/url"
	"strings"
)

// redacted replaces every password in what RedactURL returns.
const redacted = "xxxxx"

// passwordKeys are the libpq parameters that hold a secret.
var passwordKeys = map[string]bool{"password": true, "sslpassword": true}

// RedactURL returns a database URL or libpq key=value DSN with every
// password replaced by xxxxx: the URL's userinfo password, and the value of
// every password= and sslpassword= parameter, in the URL's query or in the
// DSN, quoted ('a b'), backslash-escaped (a\ b) or plain. It is the one
// redaction of database URLs: logs, errors and config check all use it.
func RedactURL(s string) string {
	if !strings.Contains(s, "://") {
		out, _ := scanDSN(s)
		return out
	}
	if u, err := url.Parse(s); err == nil {
		q := u.Query()
		for k := range passwordKeys {
			if q.Has(k) {
				q.Set(k, redacted)
				u.RawQuery = q.Encode()
			}
		}
		return u.Redacted()
	}
	return redactRawURL(s)
}

// DatabaseSecrets returns the passwords written in a database URL or DSN,
// in every spelling an error message might repeat them (as written and
// unescaped), for masking in text RedactURL did not produce.
func DatabaseSecrets(s string) []string {
	var out []string
	if !strings.Contains(s, "://") {
		_, out = scanDSN(s)
		return out
	}
	if u, err := url.Parse(s); err == nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
		q := u.Query()
		for k := range passwordKeys {
			out = append(out, q[k]...)
		}
	}
	if i, j := userinfo(s); i >= 0 {
		if _, pw, ok := strings.Cut(s[i:j], ":"); ok {
			out = append(out, pw)
			if p, err := url.PathUnescape(pw); err == nil {
				out = append(out, p)
			}
		}
	}
	return nonEmpty(out)
}

// redactRawURL masks the userinfo password and password parameters of a
// URL that net/url cannot parse.
func redactRawURL(s string) string {
	if i, j := userinfo(s); i >= 0 {
		if user, _, ok := strings.Cut(s[i:j], ":"); ok {
			s = s[:i] + user + ":" + redacted + s[j:]
		}
	}
	if q := strings.IndexByte(s, '?'); q >= 0 {
		params := strings.Split(s[q+1:], "&")
		for n, p := range params {
			if k, _, ok := strings.Cut(p, "="); ok && passwordKeys[strings.ToLower(k)] {
				params[n] = k + "=" + redacted
			}
		}
		s = s[:q+1] + strings.Join(params, "&")
	}
	return s
}

// userinfo returns the bounds of the userinfo of URL s (between "://" and
// the last "@" before the path), or -1.
func userinfo(s string) (int, int) {
	i := strings.Index(s, "://")
	if i < 0 {
		return -1, -1
	}
	i += 3
	end := len(s)
	if k := strings.IndexAny(s[i:], "/?#"); k >= 0 {
		end = i + k
	}
	j := strings.LastIndexByte(s[i:end], '@')
	if j < 0 {
		return -1, -1
	}
	return i, i + j
}

// scanDSN walks a libpq key=value connection string the way libpq does
// (white space around '=', values in single quotes, a backslash escaping the
// next character, quoted or not) and returns it with every password value
// replaced, and the passwords it held, as written and unescaped.
func scanDSN(s string) (string, []string) {
	var b strings.Builder
	var secrets []string
	i := 0
	for i < len(s) {
		start := i
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		keyStart := i
		for i < len(s) && s[i] != '=' && !isSpace(s[i]) {
			i++
		}
		key := s[keyStart:i]
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			b.WriteString(s[start:i]) // not key=value: keep as is
			continue
		}
		i++
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		b.WriteString(s[start:i])
		raw, value, n := dsnValue(s[i:])
		i += n
		if passwordKeys[strings.ToLower(key)] {
			b.WriteString(redacted)
			secrets = append(secrets, raw, value)
			continue
		}
		b.WriteString(raw)
	}
	return b.String(), nonEmpty(secrets)
}

// dsnValue reads one DSN value at the start of s: it returns the value as
// written, its unescaped form and the bytes consumed.
func dsnValue(s string) (raw, value string, n int) {
	var v strings.Builder
	quoted := len(s) > 0 && s[0] == '\''
	i := 0
	if quoted {
		i = 1
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			v.WriteByte(s[i+1])
			i += 2
			continue
		case quoted && c == '\'':
			return s[:i+1], v.String(), i + 1
		case !quoted && isSpace(c):
			return s[:i], v.String(), i
		}
		v.WriteByte(c)
		i++
	}
	return s, v.String(), len(s)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func nonEmpty(ss []string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
