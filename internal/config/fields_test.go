package config

import (
	"reflect"
	"strings"
	"testing"
)

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

// TestFieldsCoverEveryKey: every key of the file (the yaml names of Config,
// nested with '.', lists with '[]') is documented in Fields.
func TestFieldsCoverEveryKey(t *testing.T) {
	documented := map[string]bool{}
	for _, f := range Fields() {
		documented[f.Key] = true
	}
	for _, k := range yamlKeys(reflect.TypeOf(Config{}), "") {
		if !documented[k] {
			t.Errorf("config key %s is not documented in Fields (fields.go)", k)
		}
	}
}

// yamlKeys lists the keys of struct type t's yaml fields, prefixed.
func yamlKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		key := prefix + name
		switch ft := f.Type; {
		case ft.Kind() == reflect.Struct && ft.PkgPath() == t.PkgPath():
			keys = append(keys, yamlKeys(ft, key+".")...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			keys = append(keys, key)
			keys = append(keys, yamlKeys(ft.Elem(), key+"[].")...)
		default:
			keys = append(keys, key)
		}
	}
	return keys
}
