// Package cli is the queuesync command tree: it parses flags and the config
// file, builds the engine's parts (AMI, journal, peers) lazily, prints results
// and maps errors to exit codes. It is the only package that writes to the
// terminal, decides exit codes or touches os/signal.
package cli
