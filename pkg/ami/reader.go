package ami

import (
	"bytes"
	"io"
)

// Limits of the Reader. A "queue show" Command response with 10,000 members
// is about 1.7 MB in one message, so the message limit is generous.
const (
	defaultReadBuffer = 64 << 10
	maxReadLine       = 1 << 20
	maxReadMessage    = 64 << 20
)

// Reader parses AMI messages from a byte stream. It is lenient: lines may end
// in CRLF or a bare LF (trailing CRs are dropped); any empty line ends a message and repeated empty lines
// are skipped; a line is split into key and value on its first ": " (a line
// "Key:" with nothing after gives an empty value); a line without a usable
// colon is kept verbatim in Message.Raw instead of failing the message.
//
// Each message costs a few allocations: one string holding the message bytes,
// which every header key and value is a substring of, and the slices. A
// Reader is not safe for concurrent use.
type Reader struct {
	rd    io.Reader
	buf   []byte
	r, w  int   // buf[r:w] is buffered, unconsumed data
	err   error // sticky error from rd
	spans []span
}

// span locates one line of the message being parsed, as offsets from the
// message start. vs < 0 marks a raw line (ks:ke is the whole line).
type span struct{ ks, ke, vs, ve int }

// NewReader returns a Reader reading from rd with its own buffering.
func NewReader(rd io.Reader) *Reader {
	return newReaderSize(rd, defaultReadBuffer)
}

// newReaderSize returns a Reader with an initial buffer of size bytes; tests
// use tiny buffers to exercise refills.
func newReaderSize(rd io.Reader, size int) *Reader {
	return &Reader{rd: rd, buf: make([]byte, max(size, 16))}
}

// ReadLine reads one line and returns it without its line ending. It is
// meant for the banner ("Asterisk Call Manager/11.0.0"), which is a single
// line not followed by an empty line.
func (r *Reader) ReadLine() (string, error) {
	pos := r.r
	for {
		if i := bytes.IndexByte(r.buf[pos:r.w], '\n'); i >= 0 {
			line := string(trimCR(r.buf[r.r : pos+i]))
			r.r = pos + i + 1
			return line, nil
		}
		pos = r.w
		if r.w-r.r > maxReadLine {
			return "", ErrLineTooLong
		}
		shift, err := r.fill()
		pos -= shift
		if err != nil {
			if err == io.EOF && r.w > r.r {
				line := string(trimCR(r.buf[r.r:r.w]))
				r.r = r.w
				return line, nil
			}
			return "", err
		}
	}
}

// ReadMessage reads the next message. Empty lines before it are skipped. It
// returns io.EOF at a clean end of stream, and the partial message with
// io.ErrUnexpectedEOF when the stream ends inside a message.
func (r *Reader) ReadMessage() (Message, error) {
	r.spans = r.spans[:0]
	pos := r.r
	for {
		i := bytes.IndexByte(r.buf[pos:r.w], '\n')
		if i < 0 {
			if r.w-pos > maxReadLine {
				return Message{}, ErrLineTooLong
			}
			shift, err := r.fill()
			pos -= shift
			if err != nil {
				return r.atError(pos, err)
			}
			continue
		}
		if i > maxReadLine {
			return Message{}, ErrLineTooLong
		}
		nl := pos + i
		end := nl
		for end > pos && r.buf[end-1] == '\r' {
			end--
		}
		switch {
		case end > pos:
			r.addSpan(pos, end)
		case len(r.spans) == 0:
			r.r = nl + 1 // skip a leading empty line
		default:
			m := r.build(pos)
			r.r = nl + 1
			return m, nil
		}
		pos = nl + 1
	}
}

// atError finishes ReadMessage when the underlying reader fails at pos.
func (r *Reader) atError(pos int, err error) (Message, error) {
	if err != io.EOF {
		return Message{}, err
	}
	if end := len(trimCR(r.buf[pos:r.w])) + pos; end > pos {
		r.addSpan(pos, end)
	}
	if len(r.spans) == 0 {
		r.r = r.w
		return Message{}, io.EOF
	}
	m := r.build(r.w)
	r.r = r.w
	return m, io.ErrUnexpectedEOF
}

// addSpan records the line buf[start:end] (no line ending) of the current
// message, split on its first ": ".
func (r *Reader) addSpan(start, end int) {
	line := r.buf[start:end]
	base := start - r.r
	n := len(line)
	k := -1 // index of the ':' of the first ": ", or of a final ':'
	if c := bytes.IndexByte(line, ':'); c >= 0 {
		switch {
		case c+1 < n && line[c+1] == ' ':
			k = c
		case c+1 == n:
			k = c
		default:
			if j := bytes.Index(line[c+1:], []byte(": ")); j >= 0 {
				k = c + 1 + j
			} else if line[n-1] == ':' {
				k = n - 1
			}
		}
	}
	if k < 0 {
		r.spans = append(r.spans, span{ks: base, ke: base + n, vs: -1})
		return
	}
	vs := min(k+2, n)
	r.spans = append(r.spans, span{ks: base, ke: base + k, vs: base + vs, ve: base + n})
}

// build turns the recorded spans into a Message whose strings all share one
// allocation holding buf[r.r:end].
func (r *Reader) build(end int) Message {
	s := string(r.buf[r.r:end])
	raws := 0
	for _, sp := range r.spans {
		if sp.vs < 0 {
			raws++
		}
	}
	var m Message
	if n := len(r.spans) - raws; n > 0 {
		m.Headers = make([]Header, 0, n)
	}
	if raws > 0 {
		m.Raw = make([]string, 0, raws)
	}
	for _, sp := range r.spans {
		if sp.vs < 0 {
			m.Raw = append(m.Raw, s[sp.ks:sp.ke])
			continue
		}
		m.Headers = append(m.Headers, Header{Key: s[sp.ks:sp.ke], Value: s[sp.vs:sp.ve]})
	}
	return m
}

// fill reads more data into the buffer. It first moves the unconsumed bytes
// buf[r.r:r.w] to the front, growing the buffer when it is full, and returns
// how far those bytes moved so callers can adjust their offsets.
func (r *Reader) fill() (int, error) {
	shift := r.r
	if shift > 0 {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	if r.w == len(r.buf) {
		if len(r.buf) >= maxReadMessage {
			return shift, ErrMessageTooLarge
		}
		nb := make([]byte, min(2*len(r.buf), maxReadMessage))
		copy(nb, r.buf[:r.w])
		r.buf = nb
	}
	if r.err != nil {
		return shift, r.err
	}
	for range 100 {
		n, err := r.rd.Read(r.buf[r.w:])
		r.w += n
		if err != nil {
			r.err = err
			if n > 0 {
				return shift, nil
			}
			return shift, err
		}
		if n > 0 {
			return shift, nil
		}
	}
	return shift, io.ErrNoProgress
}

// trimCR removes trailing carriage returns.
func trimCR(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}
