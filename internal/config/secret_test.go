package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/queuesync/queuesync/internal/testkit"
)

// writeFile writes content to dir/name with mode and returns its path.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	return testkit.WriteFile(t, dir, name, content, mode)
}

func TestReadSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		content, want string
	}{
		{"s3cret\n", "s3cret"},
		{"s3cret", "s3cret"},
		{"s3cret\r\n", "s3cret"},
		{"s3cret\n\n", "s3cret\n"}, // only one newline is trimmed
		{" pad ", " pad "},
	}
	for i, tt := range tests {
		p := writeFile(t, dir, string(rune('a'+i)), tt.content, 0o600)
		got, err := ReadSecret(p)
		if err != nil || string(got) != tt.want {
			t.Errorf("ReadSecret(%q) = %q, %v; want %q", tt.content, got, err, tt.want)
		}
	}
}

func TestReadSecretErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := strings.Repeat("TOPSECRET", maxSecretSize/9+1)
	tests := []struct {
		name, path string
		is         error
		want       string
	}{
		{"missing", filepath.Join(dir, "none"), fs.ErrNotExist, "create it holding the secret and chmod 600 it"},
		{"empty", writeFile(t, dir, "empty", "", 0o600), ErrEmptySecret, "write the secret into it"},
		{"newline only", writeFile(t, dir, "nl", "\n", 0o600), ErrEmptySecret, "write the secret into it"},
		{"too large", writeFile(t, dir, "big", big, 0o600), ErrSecretTooLarge, "holding only the secret"},
	}
	for _, tt := range tests {
		_, err := ReadSecret(tt.path)
		if !errors.Is(err, tt.is) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.is)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "read secret file "+tt.path+": ") || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: error %q does not name the file and say %q", tt.name, msg, tt.want)
		}
		if strings.Count(msg, tt.path) != 1 || strings.Contains(msg, "TOPSECRET") {
			t.Errorf("%s: error %q repeats the path or leaks content", tt.name, msg)
		}
	}
}

func TestReadSecretUnreadable(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	p := writeFile(t, t.TempDir(), "locked", "x", 0o000)
	if _, err := ReadSecret(p); !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "readable by the user queuesync runs as") {
		t.Fatalf("ReadSecret(0000) = %v", err)
	}
}
