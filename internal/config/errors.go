package config

import (
	"errors"
	"fmt"
)

// Sentinel errors. Validation problems wrap one of them in a
// *ConfigValidationError that names the field and the fix.
var (
	// ErrRequired: a field that must be set is empty.
	ErrRequired = errors.New("is required")
	// ErrBadName: a node or peer name has characters outside [A-Za-z0-9_.-].
	ErrBadName = errors.New("is not a valid node name")
	// ErrDuplicate: a value that must be unique is used twice.
	ErrDuplicate = errors.New("is used twice")
	// ErrSelfPeer: a peer carries this node's own name.
	ErrSelfPeer = errors.New("is this node's own name")
	// ErrNotHTTPURL: a peer URL is not an absolute http or https URL.
	ErrNotHTTPURL = errors.New("is not an http(s) URL")
	// ErrURLCredentials: a peer URL carries a user name or password; peers
	// authenticate with their shared secret file, and the config check
	// would print it.
	ErrURLCredentials = errors.New("carries credentials")
	// ErrSecretTooShort: a peer's shared secret is shorter than
	// MinPeerSecret bytes.
	ErrSecretTooShort = errors.New("holds a secret too short")
	// ErrNoServerCert: tls.client_ca_file is set while the peer API serves
	// plain HTTP.
	ErrNoServerCert = errors.New("needs a server certificate")
	// ErrBadDatabaseURL: database.url is neither a postgres URL nor a DSN.
	ErrBadDatabaseURL = errors.New("is not a PostgreSQL URL")
	// ErrBadAddress: a listen or AMI address is not host:port.
	ErrBadAddress = errors.New("is not a host:port address")
	// ErrBadDuration: a duration is not a positive Go duration.
	ErrBadDuration = errors.New("is not a positive duration")
	// ErrBadQueues: a peer's queues list is empty or holds a bad name.
	ErrBadQueues = errors.New("is not a valid queue list")
	// ErrBadReason: a pause reason Asterisk cannot hold.
	ErrBadReason = errors.New("is not a pause reason Asterisk can hold")
	// ErrBadBool: a variable is neither true nor false.
	ErrBadBool = errors.New("is not true or false")
	// ErrBadNumber: a count is negative.
	ErrBadNumber = errors.New("is not a valid number")
	// ErrFileMissing: a referenced file does not exist.
	ErrFileMissing = errors.New("does not exist")
	// ErrFileUnreadable: a referenced file cannot be read.
	ErrFileUnreadable = errors.New("cannot be read")
	// ErrFileEmpty: a secret or certificate file is empty.
	ErrFileEmpty = errors.New("is empty")
	// ErrFileInsecure: a secret file can be read or changed by every user.
	ErrFileInsecure = errors.New("can be read or changed by every user")
	// ErrEmptySecret: ReadSecret found nothing in the file.
	ErrEmptySecret = errors.New("secret file is empty")
	// ErrSecretTooLarge: ReadSecret found a file too large to be a secret.
	ErrSecretTooLarge = errors.New("secret file is too large")
)

// ConfigValidationError is one problem of a configuration: the field (as
// written in the file, e.g. peers[0].url, or the environment variable), the
// offending value (never a secret) and the error, which wraps a sentinel
// and says how to fix it.
type ConfigValidationError struct {
	Field string
	Value string
	Err   error
}

// Error returns `field: "value" problem; fix`.
func (e *ConfigValidationError) Error() string {
	if e.Value == "" {
		return e.Field + ": " + e.Err.Error()
	}
	return fmt.Sprintf("%s: %q %s", e.Field, e.Value, e.Err.Error())
}

// Unwrap returns the wrapped error.
func (e *ConfigValidationError) Unwrap() error { return e.Err }

// invalid builds a ConfigValidationError wrapping sentinel with a hint.
func invalid(field, value string, sentinel error, hint string) *ConfigValidationError {
	err := sentinel
	if hint != "" {
		err = fmt.Errorf("%w; %s", sentinel, hint)
	}
	return &ConfigValidationError{Field: field, Value: value, Err: err}
}
