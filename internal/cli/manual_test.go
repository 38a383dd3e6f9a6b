package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestManPagesLint renders every page in man/ with man --warnings, as an
// operator's man would, and wants no warning; each page has its own
// header and real EXIT STATUS, ENVIRONMENT and FILES sections.
func TestManPagesLint(t *testing.T) {
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man is not installed (apt-get install man-db groff-base)")
	}
	pages, _ := filepath.Glob(filepath.Join("..", "..", "man", "queuesync*.[157]"))
	if len(pages) < 10 {
		t.Fatalf("only %d pages in man/", len(pages))
	}
	for _, p := range pages {
		cmd := exec.Command("man", "--warnings", "-E", "UTF-8", "-l", p)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MAN_KEEP_FORMATTING=0")
		var stderr bytes.Buffer
		cmd.Stderr, cmd.Stdout = &stderr, nil
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("man --warnings -l %s: %v %s", p, err, stderr.String())
		}
		if !strings.HasSuffix(p, ".1") {
			continue
		}
		b, _ := os.ReadFile(p)
		page := string(b)
		title := strings.ToUpper(strings.TrimSuffix(filepath.Base(p), ".1"))
		if !strings.Contains(page, `.TH "`+title+`" "1"`) {
			t.Errorf("%s: header is not %s(1)", p, title)
		}
		if !strings.Contains(page, "\n.SH EXIT STATUS\n") {
			t.Errorf("%s has no EXIT STATUS section", p)
		}
		if strings.Contains(page, "\nEXIT STATUS\n") || strings.Contains(page, "\nFILES\n") {
			t.Errorf("%s carries a section inside its DESCRIPTION", p)
		}
	}
}

// TestHelpShowsWhatApplies: each command's help lists only its own exit
// codes, and only the commands that read the config take its flags.
func TestHelpShowsWhatApplies(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		want    []string
		notWant []string
	}{
		{[]string{"version", "--help"}, []string{"EXIT STATUS", "0    success"}, []string{"lock", "--listen", "--log-level", "--config"}},
		{[]string{"completion", "--help"}, []string{"EXIT STATUS"}, []string{"lock", "--listen", "--config"}},
		{[]string{"log", "--help"}, []string{"--config", "--log-file", "--since"}, []string{"--listen", "--database-url", "lock"}},
		{[]string{"resync", "--help"}, []string{"4    another resync", "--listen", "--peer"}, nil},
		{[]string{"status", "--help"}, []string{"3    a peer is unreachable"}, []string{"lock"}},
		{[]string{"config", "check", "--help"}, []string{"2    it is not"}, []string{"lock", "130"}},
	} {
		d, out, errOut := testDeps(nil)
		if code := runCmd(context.Background(), d, tt.args...); code != ExitOK {
			t.Fatalf("%v: exit %d: %s", tt.args, code, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v lacks %q", tt.args, w)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(out.String(), w) {
				t.Errorf("%v shows %q", tt.args, w)
			}
		}
	}
}
