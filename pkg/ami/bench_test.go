package ami

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"
)

// recorded10k reads the recorded 3 MB QueueStatus answer with 10,000
// members (Response, 10,054 list items, completion event).
func recorded10k(b *testing.B) []byte {
	b.Helper()
	data, err := os.ReadFile(transcriptPath("40-queuestatus-10000-members.raw"))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// benchRead parses the recorded answer at every iteration and fails unless
// want of its messages are what count accepts.
func benchRead(b *testing.B, what string, count func(Message) bool, want int) {
	data := recorded10k(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	rd := bytes.NewReader(data)
	for b.Loop() {
		rd.Reset(data)
		r := NewReader(rd)
		n := 0
		for {
			m, err := r.ReadMessage()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if count(m) {
				n++
			}
		}
		if n != want {
			b.Fatalf("got %d %s, want %d", n, what, want)
		}
	}
}

// BenchmarkParseQueueStatus10k parses the recorded answer.
func BenchmarkParseQueueStatus10k(b *testing.B) {
	benchRead(b, "messages", func(Message) bool { return true }, 10056)
}

// BenchmarkDecodeQueueMember10k parses and decodes the 10,000 members.
func BenchmarkDecodeQueueMember10k(b *testing.B) {
	benchRead(b, "members", func(m Message) bool {
		return m.Event() == "QueueMember" && DecodeQueueMember(m).Interface != ""
	}, 10001)
}

// BenchmarkClientQueueStatus10k runs QueueStatus through a Client over a
// net.Pipe whose server replays the recorded 10,000-member answer: parsing,
// routing by ActionID, list collection and decoding.
func BenchmarkClientQueueStatus10k(b *testing.B) {
	data := bytes.ReplaceAll(recorded10k(b), []byte("ActionID: qs10k\r\n"), []byte("ActionID: qs-1\r\n"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c, srv, _ := newPipe(b, Options{})
		go func() {
			if _, err := srv.r.ReadMessage(); err == nil {
				srv.conn.Write(data)
			}
		}()
		st, err := c.QueueStatus(context.Background(), "", "")
		if err != nil || len(st.Members) != 10001 {
			b.Fatalf("%d members, %v", len(st.Members), err)
		}
		c.Close()
		srv.conn.Close()
	}
}
