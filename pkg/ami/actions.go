package ami

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Login authenticates with a plain-text secret. events is sent as the Events
// header and sets which event classes this connection receives: "off" (none;
// right for one-shot commands), "on" (all that the user may read), or a
// class list such as "agent" or "system,agent". An empty events omits the
// header, which Asterisk treats as "on".
//
// A wrong username or secret returns a *ResponseError wrapping ErrAuth;
// Asterisk answers after about one second and then closes the connection.
func (c *Client) Login(ctx context.Context, username, secret, events string) error {
	a := Action{Name: "Login", Headers: []Header{
		{Key: "Username", Value: username},
		{Key: "Secret", Value: secret},
	}}
	if events != "" {
		a.Headers = append(a.Headers, Header{Key: "Events", Value: events})
	}
	_, err := c.Do(ctx, a)
	return err
}

// logoffTimeout bounds Logoff when ctx has no deadline, so that closing a
// client never hangs on a server that stopped answering.
const logoffTimeout = 5 * time.Second

// Logoff ends the session politely ("Response: Goodbye") and closes the
// client. A connection that the server closed before answering counts as
// logged off. Without a ctx deadline it waits at most five seconds.
func (c *Client) Logoff(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, logoffTimeout)
		defer cancel()
	}
	_, err := c.Do(ctx, Action{Name: "Logoff"})
	c.Close()
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// Ping sends a Ping action and waits for its answer. Any answer, even
// "Permission denied" before Login, proves the connection alive, so only
// transport errors and ctx expiry are returned.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.Do(ctx, Action{Name: "Ping"})
	var re *ResponseError
	if errors.As(err, &re) {
		return nil
	}
	return err
}

// Command runs a CLI command (the user needs the "command" write class) and
// returns its output lines, from the Output headers of Asterisk 14+ or the
// raw lines of older versions. On an error answer such as an unknown command
// it returns the output lines too, with a *ResponseError.
func (c *Client) Command(ctx context.Context, cmd string) ([]string, error) {
	resp, err := c.Do(ctx, Action{Name: "Command", Headers: []Header{{Key: "Command", Value: cmd}}})
	out := resp.All("Output")
	if out == nil {
		for _, line := range resp.Raw {
			if line != "--END COMMAND--" {
				out = append(out, line)
			}
		}
	}
	return out, err
}

// CoreStatus is the answer of the CoreStatus action. The times are the
// Asterisk host's wall clock, read in time.Local; they have one-second
// resolution and are zero when absent or unparsable. Startup changes on
// every restart, so it can be used to detect one.
type CoreStatus struct {
	Startup      time.Time
	Reload       time.Time
	CurrentCalls int
}

// CoreStatus runs the CoreStatus action (the user needs the "system" or
// "reporting" read class).
func (c *Client) CoreStatus(ctx context.Context) (CoreStatus, error) {
	resp, err := c.Do(ctx, Action{Name: "CoreStatus"})
	if err != nil {
		return CoreStatus{}, err
	}
	return CoreStatus{
		Startup:      parseDateTime(resp.Get("CoreStartupDate"), resp.Get("CoreStartupTime")),
		Reload:       parseDateTime(resp.Get("CoreReloadDate"), resp.Get("CoreReloadTime")),
		CurrentCalls: atoi(resp.Get("CoreCurrentCalls")),
	}, nil
}

// parseDateTime parses "2026-11-25" and "04:24:52" in time.Local.
func parseDateTime(date, clock string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05",
		strings.TrimSpace(date)+" "+strings.TrimSpace(clock), time.Local)
	if err != nil {
		return time.Time{}
	}
	return t
}
