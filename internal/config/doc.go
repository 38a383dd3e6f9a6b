// Package config owns queuesync's configuration: the Config struct whose
// YAML names are the operators' contract of /etc/queuesync/queuesync.yaml,
// its defaults, strict parsing, QUEUESYNC_* environment overrides,
// validation with errors that name the field and the fix, and the reading
// of secret files.
//
// It must not connect to anything (AMI, PostgreSQL, peers), log, or read
// the process environment or flags by itself: callers pass a getenv
// function and apply flags, so that tests stay hermetic. Secrets are read
// only by ReadSecret and never appear in errors.
//
// See docs/architecture.md §5.
package config
