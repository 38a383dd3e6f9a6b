package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testLog is a sync log whose last line is 10 minutes before testNow.
var testLog = []string{
	"2026-11-24T08:00:00Z sop1 resync summary sop1: in sync (no differences)",
	"2026-11-25T08:30:00Z sop1 resync applied queue=support interface=PJSIP/1001 peer=sop2 actions=QueuePause",
	"2026-11-25T09:10:00Z sop1 push failed queue=sales interface=PJSIP/1002 peer=sop2 error=peer answered 401 Unauthorized",
	"2026-11-25T09:40:00Z sop1 resync summary sop1: corrected (1 applied)",
	"2026-11-25T09:50:00Z sop1 local journalled queue=support interface=PJSIP/1003",
}

func writeTestLog(t *testing.T) string {
	t.Helper()
	return writeFile(t, t.TempDir(), "queue_sync.log", strings.Join(testLog, "\n")+"\n", 0o640)
}

func TestLog(t *testing.T) {
	path := writeTestLog(t)
	tests := []struct {
		name     string
		args     []string
		want     []string
		wantCode int
	}{
		{name: "default-50", args: nil, want: testLog},
		{name: "last-2", args: []string{"-n", "2"}, want: testLog[3:]},
		{name: "since-1h-means-all-of-the-hour", args: []string{"--since", "1h"}, want: testLog[2:]},
		{name: "since-and-n", args: []string{"--since", "1h", "-n", "1"}, want: testLog[4:]},
		{name: "since-nothing", args: []string{"--since", "5m"}, want: nil},
		{name: "all", args: []string{"-n", "0"}, want: testLog},
		{name: "json", args: []string{"-n", "1", "--json"}, want: []string{
			`{"time":"2026-11-25T09:50:00Z","node":"sop1","message":"local journalled queue=support interface=PJSIP/1003","fields":{"interface":"PJSIP/1003","op":"local","queue":"support","result":"journalled"}}`}},
		{name: "negative-n", args: []string{"-n", "-1"}, wantCode: ExitUsage},
		{name: "args", args: []string{"extra"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, out, errOut := testDeps(nil)
			args := append([]string{"log", "--log-file", path}, tt.args...)
			if code := runCmd(context.Background(), d, args...); code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			if tt.wantCode != ExitOK {
				return
			}
			want := ""
			if len(tt.want) > 0 {
				want = strings.Join(tt.want, "\n") + "\n"
			}
			if out.String() != want {
				t.Errorf("got\n%s\nwant\n%s", out, want)
			}
		})
	}
}

func TestLogMissingFile(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "queuesync.yaml", "node: sop1\nlog_file: "+filepath.Join(dir, "queue_sync.log")+"\n", 0o644)
	d, _, errOut := testDeps(nil)
	if code := runCmd(context.Background(), d, "log", "--config", cfg); code != ExitFailure {
		t.Fatalf("exit %d, want %d", code, ExitFailure)
	}
	for _, w := range []string{"queue_sync.log (log_file) does not exist", "log_file in " + cfg, "--log-file"} {
		if !strings.Contains(errOut.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
}

// TestLogNeedsOnlyLogFile: the config's other problems (here: no AMI user,
// no secret files) do not stop log.
func TestLogNeedsOnlyLogFile(t *testing.T) {
	path := writeTestLog(t)
	cfg := writeFile(t, t.TempDir(), "queuesync.yaml", "node: sop1\nlog_file: "+path+"\n", 0o644)
	d, out, errOut := testDeps(nil)
	if code := runCmd(context.Background(), d, "log", "--config", cfg, "-n", "1"); code != ExitOK {
		t.Fatalf("exit %d; stderr: %s", code, errOut)
	}
	if out.String() != testLog[4]+"\n" {
		t.Errorf("got %q", out)
	}
	d, _, errOut = testDeps(map[string]string{"QUEUESYNC_LOG_FILE": ""})
	if code := runCmd(context.Background(), d, "log", "--config", cfg, "--log-file", "-"); code != ExitUsage || !strings.Contains(errOut.String(), "log_file is not set") {
		t.Errorf("log_file - : exit %d, stderr %s", code, errOut)
	}
}

func TestTailLines(t *testing.T) {
	text := "2026-11-25T09:00:00Z a one\ncontinued\n2026-11-25T09:30:00Z a two\n2026-11-25T09:45:00Z a three\npartial"
	cut := time.Date(2026, 11, 25, 9, 15, 0, 0, time.UTC)
	tests := []struct {
		n      int
		cutoff time.Time
		want   []string
	}{
		{n: 0, want: []string{"2026-11-25T09:00:00Z a one", "continued", "2026-11-25T09:30:00Z a two", "2026-11-25T09:45:00Z a three"}},
		{n: 1, want: []string{"2026-11-25T09:45:00Z a three"}},
		{n: 3, want: []string{"continued", "2026-11-25T09:30:00Z a two", "2026-11-25T09:45:00Z a three"}},
		{n: 0, cutoff: cut, want: []string{"2026-11-25T09:30:00Z a two", "2026-11-25T09:45:00Z a three"}},
		{n: 0, cutoff: cut.Add(-time.Hour), want: []string{"2026-11-25T09:00:00Z a one", "continued", "2026-11-25T09:30:00Z a two", "2026-11-25T09:45:00Z a three"}},
	}
	for _, tt := range tests {
		got, partial, err := tailLines(strings.NewReader(text), tt.n, tt.cutoff)
		if err != nil || partial != "partial" {
			t.Fatalf("err %v, partial %q", err, partial)
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("n=%d cutoff=%v: got %q, want %q", tt.n, tt.cutoff, got, tt.want)
		}
	}
}

// TestLogFollow appends, rotates by rename (logrotate create) and truncates
// (logrotate copytruncate) while log -f runs.
func TestLogFollow(t *testing.T) {
	path := writeTestLog(t)
	d, out, _ := testDeps(nil)
	d.Config.LogFile = path
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runLog(ctx, d, &logOptions{Follow: true, Lines: 1, poll: 5 * time.Millisecond}) }()
	waitFor(t, out, testLog[4])

	appendTo(t, path, "2026-11-25T10:00:01Z sop1 appended ")
	time.Sleep(30 * time.Millisecond) // a line written in two parts is printed once, whole
	appendTo(t, path, "line\n")
	waitFor(t, out, "appended line\n")

	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path+".1", "2026-11-25T10:00:02Z sop1 last line of the rotated file\n")
	writeFile(t, filepath.Dir(path), filepath.Base(path), "2026-11-25T10:00:03Z sop1 first line of the new file\n", 0o640)
	waitFor(t, out, "first line of the new file")

	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	appendTo(t, path, "2026-11-25T10:00:04Z sop1 after copytruncate\n")
	waitFor(t, out, "after copytruncate")

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("log -f returned %v, want context.Canceled", err)
	}
	want := strings.Join([]string{
		testLog[4],
		"2026-11-25T10:00:01Z sop1 appended line",
		"2026-11-25T10:00:02Z sop1 last line of the rotated file",
		"2026-11-25T10:00:03Z sop1 first line of the new file",
		"2026-11-25T10:00:04Z sop1 after copytruncate",
	}, "\n") + "\n"
	if out.String() != want {
		t.Errorf("log -f printed\n%s\nwant\n%s", out, want)
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, out *syncBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("log -f did not print %q; output so far:\n%s", s, out)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestLogSinceDaysAndRotated: --since 7d reads the rotated copies that may
// hold lines of the last 7 days (plain .1, compressed .2.gz), oldest first.
func TestLogSinceDaysAndRotated(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "queue_sync.log")
	line := func(age time.Duration, msg string) string {
		return testNow.Add(-age).UTC().Format(time.RFC3339) + " sop1 " + msg + "\n"
	}
	writeFile(t, dir, "queue_sync.log", line(time.Hour, "resync applied queue=sales interface=PJSIP/1 peer=sop2"), 0o644)
	writeFile(t, dir, "queue_sync.log.1", line(3*24*time.Hour, "delivered queue=q1 interface=a peer=sop2"), 0o644)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(line(9*24*time.Hour, "too old") + line(6*24*time.Hour, `failed queue=q2 interface=b peer=sop2 reason="AMI said no"`)))
	_ = zw.Close()
	writeFile(t, dir, "queue_sync.log.2.gz", gz.String(), 0o644)
	writeFile(t, dir, "queue_sync.log.3.gz", "not read", 0o644)
	d, out, errOut := testDeps(nil)
	if code := runCmd(context.Background(), d, "log", "--log-file", path, "--since", "7d"); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got := out.String()
	if strings.Contains(got, "too old") || !strings.Contains(got, "q2") || strings.Index(got, "q2") > strings.Index(got, "q1") || strings.Index(got, "q1") > strings.Index(got, "sales") {
		t.Errorf("log --since 7d:\n%s", got)
	}
	d, out, _ = testDeps(nil)
	if code := runCmd(context.Background(), d, "log", "--log-file", path, "--since", "7d", "--json"); code != ExitOK {
		t.Fatal(code)
	}
	for _, want := range []string{`"result":"applied"`, `"queue":"sales"`, `"reason":"AMI said no"`, `"op":"failed"`} {
		if !strings.Contains(strings.ReplaceAll(out.String(), " ", ""), strings.ReplaceAll(want, " ", "")) {
			t.Errorf("--json lacks %s:\n%s", want, out)
		}
	}
	d, _, errOut = testDeps(nil)
	if code := runCmd(context.Background(), d, "log", "--log-file", path, "--since", "7x"); code != ExitUsage {
		t.Errorf("--since 7x: exit %d: %s", code, errOut)
	}
}
