// Package amitest provides a fake Asterisk 22 AMI server for tests of code
// that uses package ami.
//
// The fake keeps an in-memory model of call queues and behaves like the real
// Asterisk 22.10 recorded in the project's transcripts: the banner, Login
// (with the one-second delay on failure made optional, the error and the
// disconnect), "Permission denied" before Login or without the write class,
// QueueStatus and QueueSummary list framing with the ActionID in the same
// places, the queue actions with their exact success and error texts, and
// the QueueMember* events with their header set, fired even when nothing
// changed. It listens on 127.0.0.1 only, or serves one end of a net.Pipe.
//
// The package owns only this fake. It must not be imported by production
// code, must not listen on anything but loopback, and does not log.
// Behaviour that was not observed on a real Asterisk is marked as
// approximate in the documentation of ServerOptions.
package amitest
