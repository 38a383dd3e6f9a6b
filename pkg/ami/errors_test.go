package ami

import (
	"errors"
	"testing"
)

func TestResponseErrorMapping(t *testing.T) {
	tests := []struct {
		msg  string
		want error
	}{
		{"Authentication failed", ErrAuth},
		{"Permission denied", ErrPermission},
		{"Unable to add interface: Already there", ErrAlreadyThere},
		{"Unable to remove interface: Not there", ErrNotThere},
		{"Unable to add interface to queue: No such queue", ErrNoSuchQueue},
		{"Unable to remove interface from queue: No such queue", ErrNoSuchQueue},
		{"Member not dynamic", ErrNotDynamic},
		{"Interface not found", ErrInterfaceNotFound},
		{"Invalid interface, queuename or penalty", ErrInvalid},
		{"Invalid interface, queuename, or ringinuse value\n", ErrInvalid},
		{"Invalid/unknown command: NoSuchAction. Use Action: ListCommands to show available commands.", ErrUnknownAction},
		{"Need 'Interface' and 'Paused' parameters.", nil},
		{"", nil},
	}
	for _, tt := range tests {
		err := error(&ResponseError{Action: "QueuePause", ActionID: "qs-12", Message: tt.msg})
		if got := errors.Unwrap(err); got != tt.want {
			t.Errorf("%q maps to %v, want %v", tt.msg, got, tt.want)
		}
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%q: errors.Is failed", tt.msg)
		}
	}
	e := &ResponseError{Action: "QueuePause", ActionID: "12", Message: "Interface not found"}
	if e.Error() != "ami QueuePause (id 12): Interface not found" {
		t.Errorf("Error() = %q", e.Error())
	}
	he := &HeaderError{Action: "QueuePause", Header: "Reason", Err: ErrUnsafeValue}
	if he.Error() != `ami QueuePause header "Reason": ami: unsafe header` {
		t.Errorf("Error() = %q", he.Error())
	}
}
