package cli

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// sinceValue is --since: a Go duration, or whole days and weeks (7d, 2w),
// which time.ParseDuration does not know.
type sinceValue struct{ d *time.Duration }

func (v sinceValue) String() string {
	if v.d == nil || *v.d == 0 {
		return "0s"
	}
	return v.d.String()
}

func (v sinceValue) Type() string { return "duration" }

func (v sinceValue) Set(s string) error {
	d, err := parseSince(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

// parseSince reads 30m, 1h30m, 7d or 2w.
func parseSince(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			if i, err := strconv.Atoi(n); err == nil && i >= 0 {
				return time.Duration(i) * unit, nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: write it like 30m, 1h, 7d or 2w", s)
	}
	return d, nil
}

// rotatedReaders opens, oldest first, the rotated copies of the sync log
// (path.N.gz ... path.1, as logrotate leaves them) that may hold lines at
// or after cutoff: it goes back until a copy starts before cutoff.
func rotatedReaders(path string, cutoff time.Time) ([]io.ReadCloser, error) {
	var out []io.ReadCloser
	for i := 1; i < 1000; i++ {
		r, err := openRotated(path, i)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			closeAll(out)
			return nil, err
		}
		first, err := firstLineTime(r)
		_ = r.Close()
		if err != nil {
			break
		}
		if r, err = openRotated(path, i); err != nil {
			closeAll(out)
			return nil, err
		}
		out = append([]io.ReadCloser{r}, out...)
		if first.Before(cutoff) {
			break
		}
	}
	return out, nil
}

// openRotated opens path.i, or path.i.gz decompressed.
func openRotated(path string, i int) (io.ReadCloser, error) {
	name := fmt.Sprintf("%s.%d", path, i)
	if f, err := os.Open(name); err == nil {
		return f, nil
	}
	f, err := os.Open(name + ".gz")
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("read %s.gz: %w", name, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

func firstLineTime(r io.Reader) (time.Time, error) {
	buf := make([]byte, 64)
	n, _ := io.ReadFull(r, buf)
	if t, ok := lineTime(string(buf[:n])); ok {
		return t, nil
	}
	return time.Time{}, errors.New("no timestamp")
}

func closeAll(rs []io.ReadCloser) {
	for _, r := range rs {
		_ = r.Close()
	}
}

// logFields is the --json form of a sync log message: "resync applied
// queue=q interface=i peer=p actions=A error=..." gives op, result and
// each key; error and reason run to the end of the line.
func logFields(msg string) map[string]string {
	out := map[string]string{}
	words := strings.Fields(msg)
	for i := 0; i < len(words); i++ {
		w := words[i]
		k, v, ok := strings.Cut(w, "=")
		switch {
		case ok && (k == "error" || k == "reason"):
			rest := strings.Join(words[i:], " ")
			v = strings.TrimPrefix(rest, k+"=")
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
			out[k] = v
			return out
		case ok:
			out[k] = v
		case i == 0:
			out["op"] = w
		case i == 1 && out["op"] != "":
			out["result"] = w
		default:
			// A summary: "resync summary sop2: corrected (...)".
			out["text"] = strings.Join(words[i:], " ")
			return out
		}
	}
	return out
}
