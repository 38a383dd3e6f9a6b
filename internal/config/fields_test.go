package config

import "testing"

// TestFieldsCoverEveryVariable: every variable ApplyEnv reads is documented
// in Fields under its field, and every duration default reads back.
func TestFieldsCoverEveryVariable(t *testing.T) {
	documented := map[string]string{}
	for _, f := range Fields() {
		if f.Env != "" {
			documented[f.Env] = f.Key
		}
		if f.Doc == "" {
			t.Errorf("%s has no text", f.Key)
		}
	}
	var c Config
	for _, f := range c.envFields() {
		if documented[f.name] != f.key {
			t.Errorf("%s (%s) is not documented in Fields", f.name, f.key)
		}
	}
	want := map[string]string{"health_interval": "2s", "max_clock_skew": "1m", "tombstone_ttl": "720h", "shutdown_timeout": "10s", "listen": "0.0.0.0:8038"}
	for _, f := range Fields() {
		if w, ok := want[f.Key]; ok && f.Default != w {
			t.Errorf("%s default %q, want %q", f.Key, f.Default, w)
		}
	}
}
