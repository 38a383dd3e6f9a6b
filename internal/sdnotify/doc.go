// Package sdnotify tells systemd about the daemon's state over the
// $NOTIFY_SOCKET datagram protocol (sd_notify(3)): READY=1 once the daemon
// serves, RELOADING=1 and READY=1 around a reload, STOPPING=1, and STATUS=
// lines for systemctl status. It uses the standard library only, does
// nothing where no NOTIFY_SOCKET is set, and never logs.
package sdnotify
