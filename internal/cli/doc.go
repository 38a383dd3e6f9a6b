// Package cli is the queuesync command tree: it parses flags and the config
// file, builds the engine's parts (AMI, journal, peers) lazily, prints results
// and maps errors to exit codes. It is the only package that writes to the
// terminal, decides exit codes or touches os/signal.
//
// See docs/architecture.md §4 for the cron path and §5 for the packages.
package cli
