// Package build reports the version, commit and build date of the running
// binary, set by -ldflags at release time, with the module build information
// as a fallback for `go install` builds.
package build
