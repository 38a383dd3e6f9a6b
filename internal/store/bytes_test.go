package store

import (
	"context"
	"errors"
	"testing"

	"github.com/queuesync/queuesync/internal/state"
)

// TestPutKeepsAsteriskBytes journals a Latin-1 name, a reason with a
// control character and a plain UTF-8 name with a backslash in a real
// PostgreSQL, and reads back exactly the bytes written; the text columns
// stay readable.
func TestPutKeepsAsteriskBytes(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	latin := reg("support", "PJSIP/1001", 1000, 0, "sop1")
	latin.MemberName, latin.PausedReason, latin.StateInterface = "Jos\xe9 Mu\xf1oz", "caf\xe9\x1b", "Custom:\xe9"
	plain := reg("support", "PJSIP/1002", 1000, 0, "sop1")
	plain.MemberName = `José \xE9`
	for _, r := range []state.Register{latin, plain} {
		mustPut(t, s, r, PutOptions{})
	}
	if _, err := s.PutMany(ctx, []state.Register{latin, plain}, PutOptions{}); err != nil {
		t.Fatalf("PutMany: %v", err)
	}
	es, err := s.List(ctx, nil)
	if err != nil || len(es) != 2 {
		t.Fatalf("List = %d entries, %v", len(es), err)
	}
	if got := es[0].Register; got.MemberName != latin.MemberName || got.PausedReason != latin.PausedReason || got.StateInterface != latin.StateInterface {
		t.Errorf("Latin-1 register read back as %q %q %q", got.MemberName, got.PausedReason, got.StateInterface)
	}
	if got := es[1].MemberName; got != plain.MemberName {
		t.Errorf("plain name read back as %q", got)
	}
	var text string
	var raw []byte
	err = s.DB().QueryRow(ctx, `SELECT member_name, member_name_bytes FROM attribute_state WHERE iface_key = 'pjsip/1001'`).Scan(&text, &raw)
	if err != nil || text != `Jos\xE9 Mu\xF1oz` || string(raw) != latin.MemberName {
		t.Errorf("columns = %q %q, %v; want the escaped text and the exact bytes", text, raw, err)
	}
	err = s.DB().QueryRow(ctx, `SELECT member_name, member_name_bytes FROM attribute_state WHERE iface_key = 'pjsip/1002'`).Scan(&text, &raw)
	if err != nil || text != plain.MemberName || raw != nil {
		t.Errorf("plain columns = %q %q, %v; want the text as is and no bytes", text, raw, err)
	}
}

func TestPutRefusesWhatTheJournalCannotKeep(t *testing.T) {
	s := openStore(t)
	for _, mod := range []func(*state.Register){
		func(r *state.Register) { r.Interface = "PJSIP/\xe9" },
		func(r *state.Register) { r.MemberName = "a\x00b" },
	} {
		r := reg("support", "PJSIP/1001", 1000, 0, "sop1")
		mod(&r)
		if _, _, err := s.Put(context.Background(), r, PutOptions{}); !errors.Is(err, ErrInvalidRegister) {
			t.Errorf("Put(%q, %q) = %v, want ErrInvalidRegister", r.Interface, r.MemberName, err)
		}
	}
}
