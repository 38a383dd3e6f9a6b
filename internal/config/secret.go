package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// maxSecretSize bounds what ReadSecret accepts.
const maxSecretSize = 64 << 10

// ReadSecret returns the content of the secret file at path, less one
// trailing newline (LF or CRLF). Errors name the file and what to do; they
// never contain the secret.
func ReadSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, secretError(path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return nil, secretError(path, err)
	}
	if len(b) > maxSecretSize {
		return nil, fmt.Errorf("read secret file %s: %w (over %d bytes); point to the file holding only the secret", path, ErrSecretTooLarge, maxSecretSize)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if len(b) == 0 {
		return nil, fmt.Errorf("read secret file %s: %w; write the secret into it", path, ErrEmptySecret)
	}
	return b, nil
}

// secretError wraps an open or read error of a secret file with advice.
// The path is named once: a *fs.PathError is unwrapped to its cause.
func secretError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("read secret file %s: %w; create it holding the secret and chmod 600 it", path, err)
	case errors.Is(err, fs.ErrPermission):
		if owner := fileOwner(path); owner != "" && owner != currentUser() {
			// An operator at a shell, not a broken file: the secret is
			// meant for its owner only.
			return fmt.Errorf("read secret file %s: %w; it is %s's: run the command as that user (sudo -u %s queuesync ...)", path, err, owner, owner)
		}
		return fmt.Errorf("read secret file %s: %w; make it readable by the user queuesync runs as (chown, chmod 600)", path, err)
	}
	return fmt.Errorf("read secret file %s: %w", path, err)
}

// fileOwner returns the name of path's owner, or "" when unknown.
func fileOwner(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	u, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10))
	if err != nil {
		return ""
	}
	return u.Username
}

func currentUser() string {
	u, err := user.Current()
	if err != nil {
		return ""
	}
	return u.Username
}
