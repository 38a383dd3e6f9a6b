package config

import (
	"errors"
	"strings"
	"testing"
)

// local_pause_reasons: each entry a reason Asterisk can hold, none empty,
// none twice; every problem named by its index.
func TestValidateLocalPauseReasons(t *testing.T) {
	c := validConfig(t, t.TempDir())
	c.LocalPauseReasons = []string{"Auto-Pause", "", "a\nb", strings.Repeat("x", 80), "Auto-Pause"}
	err := c.Validate()
	for _, want := range []string{
		"local_pause_reasons[1]: is required",
		`local_pause_reasons[2]: "a\nb" is not a pause reason Asterisk can hold`,
		"local_pause_reasons[3]:",
		`local_pause_reasons[4]: "Auto-Pause" is used twice`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "local_pause_reasons[0]") {
		t.Errorf("a good reason refused: %v", err)
	}
	if !errors.Is(err, ErrBadReason) {
		t.Errorf("Validate() does not wrap ErrBadReason: %v", err)
	}
	c.LocalPauseReasons = []string{"Auto-Pause"}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}
