package ami

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"
)

// BenchmarkParseQueueStatus10k parses the recorded 3 MB QueueStatus answer
// with 10,000 members (Response, 10,054 list items, completion event).
func BenchmarkParseQueueStatus10k(b *testing.B) {
	data, err := os.ReadFile(transcriptPath("40-queuestatus-10000-members.raw"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	rd := bytes.NewReader(data)
	for b.Loop() {
		rd.Reset(data)
		r := NewReader(rd)
		n := 0
		for {
			_, err := r.ReadMessage()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 10056 {
			b.Fatalf("got %d messages, want 10056", n)
		}
	}
}

// BenchmarkDecodeQueueMember10k parses and decodes the 10,000 members.
func BenchmarkDecodeQueueMember10k(b *testing.B) {
	data, err := os.ReadFile(transcriptPath("40-queuestatus-10000-members.raw"))
	if err != nil {
		b.Fatal(err)
	}
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
			if m.Event() == "QueueMember" && DecodeQueueMember(m).Interface != "" {
				n++
			}
		}
		if n != 10001 {
			b.Fatalf("got %d members, want 10001", n)
		}
	}
}

// BenchmarkClientQueueStatus10k runs QueueStatus through a Client over a
// net.Pipe whose server replays the recorded 10,000-member answer: parsing,
// routing by ActionID, list collection and decoding.
func BenchmarkClientQueueStatus10k(b *testing.B) {
	raw, err := os.ReadFile(transcriptPath("40-queuestatus-10000-members.raw"))
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.ReplaceAll(raw, []byte("ActionID: qs10k\r\n"), []byte("ActionID: qs-1\r\n"))
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
