package cli

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// allCommands returns every command of the tree, hidden ones included.
func allCommands(root *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{root}
	for _, c := range root.Commands() {
		out = append(out, allCommands(c)...)
	}
	return out
}

// TestFlags runs every command with --help (restic's TestFlags): help must
// print without touching the config, show examples and the exit status, and
// no command may have two flags with one shorthand.
func TestFlags(t *testing.T) {
	d, _, _ := testDeps(nil)
	for _, c := range allCommands(newRootCmd(d)) {
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(c.CommandPath(), func(t *testing.T) {
			d, out, errOut := testDeps(map[string]string{"QUEUESYNC_CONFIG": "/nonexistent/queuesync.yaml"})
			if code := runCmd(context.Background(), d, append(path, "--help")...); code != ExitOK {
				t.Fatalf("--help: exit %d; stderr: %s", code, errOut)
			}
			help := out.String()
			if !strings.Contains(help, "Usage:") {
				t.Errorf("--help printed no usage:\n%s", help)
			}
			if !c.Hidden {
				for _, want := range []string{"EXIT STATUS", "Examples:"} {
					if !strings.Contains(help, want) {
						t.Errorf("--help lacks %q", want)
					}
				}
			}
			checkShorthands(t, c)
		})
	}
}

func checkShorthands(t *testing.T, c *cobra.Command) {
	t.Helper()
	seen := map[string]string{}
	check := func(f *pflag.Flag) {
		if f.Shorthand == "" {
			return
		}
		if other, dup := seen[f.Shorthand]; dup && other != f.Name {
			t.Errorf("-%s is the shorthand of both --%s and --%s", f.Shorthand, other, f.Name)
		}
		seen[f.Shorthand] = f.Name
	}
	c.LocalFlags().VisitAll(check)
	c.InheritedFlags().VisitAll(check)
}

// TestNoVersionShorthand: -v means verbose everywhere (STYLE 7.5.9); the
// version is a subcommand, and --version (no shorthand) on the root only.
func TestNoVersionShorthand(t *testing.T) {
	d, _, _ := testDeps(nil)
	root := newRootCmd(d)
	if f := root.Flags().Lookup("version"); f == nil || f.Shorthand != "" {
		t.Errorf("root wants a --version flag without shorthand: %+v", f)
	}
	if f := root.PersistentFlags().ShorthandLookup("v"); f != nil {
		t.Errorf("-v is a global flag: --%s", f.Name)
	}
}

// TestManPagesFresh generates the man pages and compares them with man/.
// Only the generated queuesync*.1 and queuesync.yaml.5 pages are compared;
// the hand-written queuesync-peer-api.7 is not.
func TestManPagesFresh(t *testing.T) {
	dir := t.TempDir()
	d, _, errOut := testDeps(nil)
	if code := runCmd(context.Background(), d, "gen-man", "--dir", dir); code != ExitOK {
		t.Fatalf("gen-man: exit %d: %s", code, errOut)
	}
	fresh := manPages(t, dir)
	committed := manPages(t, filepath.Join("..", "..", "man"))
	if strings.Join(fresh, " ") != strings.Join(committed, " ") {
		t.Fatalf("man/ holds %v, the command tree makes %v: run make man", committed, fresh)
	}
	for _, name := range fresh {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", "..", "man", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("man/%s is stale: run make man", name)
		}
	}
}

func manPages(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "queuesync*.1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "queuesync.yaml.5")); err == nil {
		names = append(names, filepath.Join(dir, "queuesync.yaml.5"))
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	sort.Strings(names)
	return names
}

// TestVersion: version prints the version, the commit and the Go version,
// and needs no config.
func TestVersion(t *testing.T) {
	d, out, errOut := testDeps(map[string]string{"QUEUESYNC_CONFIG": "/nonexistent/queuesync.yaml"})
	if code := runCmd(context.Background(), d, "version"); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"queuesync ", "(commit ", "go1."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version output %q lacks %q", out, want)
		}
	}
}
