package ami

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// transcriptNames lists the recorded .raw transcripts.
func transcriptNames(tb testing.TB) []string {
	paths, err := filepath.Glob(transcriptPath("*.raw"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no transcripts in %s: %v", transcriptPath(""), err)
	}
	for i, p := range paths {
		paths[i] = filepath.Base(p)
	}
	return paths
}

// readTranscript returns the bytes of one transcript.
func readTranscript(tb testing.TB, name string) []byte {
	data, err := os.ReadFile(transcriptPath(name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// parseTranscript reads the banner (when present) and every message.
func parseTranscript(t *testing.T, data []byte) (string, []Message) {
	r := NewReader(bytes.NewReader(data))
	var banner string
	if bytes.HasPrefix(data, []byte("Asterisk Call Manager/")) {
		var err error
		if banner, err = r.ReadLine(); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := readAll(r)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("ends with %v, want a clean EOF", err)
	}
	return banner, msgs
}

func TestTranscriptsParse(t *testing.T) {
	for _, name := range transcriptNames(t) {
		t.Run(name, func(t *testing.T) {
			data := readTranscript(t, name)
			banner, msgs := parseTranscript(t, data)
			if banner != "" && banner != "Asterisk Call Manager/11.0.0" {
				t.Errorf("banner %q", banner)
			}
			body := string(data[len(banner):])
			if want := strings.Count(strings.TrimPrefix(body, "\r\n"), "\r\n\r\n"); len(msgs) != want {
				t.Errorf("%d messages, want %d", len(msgs), want)
			}
			for i, m := range msgs {
				_, isResp := m.Lookup("Response")
				if len(m.Raw) != 0 || (!isResp && m.Event() == "") {
					t.Errorf("message %d is neither response nor event, or has raw lines:\n%s", i, m)
				}
			}
		})
	}
}

func TestTranscriptQueueStatus10k(t *testing.T) {
	_, msgs := parseTranscript(t, readTranscript(t, "40-queuestatus-10000-members.raw"))
	if len(msgs) != 10056 || msgs[0].Get("EventList") != "start" {
		t.Fatalf("%d messages, first:\n%s", len(msgs), msgs[0])
	}
	last := msgs[len(msgs)-1]
	if last.Event() != "QueueStatusComplete" || last.Get("ListItems") != "10054" || !isListEnd(last) {
		t.Fatalf("last message:\n%s", last)
	}
	var dynamic, paused, params int
	for _, m := range msgs[1 : len(msgs)-1] {
		switch m.Event() {
		case "QueueParams":
			params++
		case "QueueMember":
			qm := DecodeQueueMember(m)
			if qm.Membership == "dynamic" {
				dynamic++
			}
			if qm.Paused {
				paused++
				if qm.PausedReason != "reason-"+strings.TrimSuffix(strings.TrimPrefix(qm.Interface, "Local/"), "@agents") {
					t.Fatalf("member %+v", qm)
				}
			}
			if qm.Ringinuse != nil || qm.LoginTime == 0 || qm.Name == "" || qm.Queue == "" {
				t.Fatalf("member %+v", qm)
			}
		}
	}
	if dynamic != 10000 || params != 53 || paused == 0 {
		t.Errorf("dynamic %d params %d paused %d", dynamic, params, paused)
	}
}

func TestTranscriptRingInUseEvent(t *testing.T) {
	_, msgs := parseTranscript(t, readTranscript(t, "08-ringinuse-and-queuelog.raw"))
	for _, m := range msgs {
		if m.Event() == "QueueMemberRinginuse" {
			qm := DecodeQueueMember(m)
			if qm.Ringinuse == nil || *qm.Ringinuse || qm.Name != "Alice" || qm.Interface != "Local/1001@agents" ||
				!qm.Paused || qm.PausedReason != "away" || qm.StateInterface != "Custom:1001" || qm.Status != 1 {
				t.Errorf("decoded %+v", qm)
			}
			if !IsMemberEvent(m.Event()) {
				t.Error("QueueMemberRinginuse is a member event")
			}
			return
		}
	}
	t.Fatal("no QueueMemberRinginuse event")
}
