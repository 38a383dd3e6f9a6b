// Package web serves a node's read-only status page: per queue, every
// member as this node and each peer hold it, the differences, the pause
// and its true start, the last change and its history; per peer,
// reachability, backlog and agreement. The same data is served as JSON
// (/api/v1/queues) for wallboards. The page needs nothing from the
// internet: its HTML, CSS and JS are embedded.
//
// The package renders what a Source gives it. It never reads the journal,
// AMI or a peer itself, and it changes nothing.
package web
