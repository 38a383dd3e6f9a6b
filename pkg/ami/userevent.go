package ami

import "context"

// UserEvent asks Asterisk to emit Event: UserEvent with UserEvent: name and
// the given headers, to every manager session that reads user events
// (class user). The user needs write = user. Header values are checked as
// every action's are: one holding CR, LF or NUL is refused with a
// *HeaderError before anything is sent.
func (c *Client) UserEvent(ctx context.Context, name string, headers ...Header) error {
	h := append([]Header{{Key: "UserEvent", Value: name}}, headers...)
	_, err := c.Do(ctx, Action{Name: "UserEvent", Headers: h})
	return err
}

// UserEvent is Client.UserEvent on the live connection.
func (l *Link) UserEvent(ctx context.Context, name string, headers ...Header) error {
	return retryErr(ctx, l, func(c *Client) error { return c.UserEvent(ctx, name, headers...) })
}
