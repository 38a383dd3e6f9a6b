package store

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestMigrateIdempotent(t *testing.T) {
	t.Parallel()
	s, _ := openUnmigrated(t)
	ctx := t.Context()

	err := s.Check(ctx)
	if !errors.Is(err, ErrNotMigrated) || !strings.Contains(err.Error(), "queuesync migrate") {
		t.Fatalf("Check before migrate = %v, want ErrNotMigrated naming queuesync migrate", err)
	}
	n, err := s.Migrate(ctx)
	if err != nil || n != SchemaVersion() {
		t.Fatalf("first Migrate = %d, %v; want %d, nil", n, err, SchemaVersion())
	}
	n, err = s.Migrate(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second Migrate = %d, %v; want 0, nil", n, err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check after migrate: %v", err)
	}
}

func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	_, schemaURL := openUnmigrated(t)
	ctx := t.Context()
	var (
		wg    sync.WaitGroup
		total [2]int
		errs  [2]error
	)
	for i := range 2 {
		s, err := Open(ctx, schemaURL, Options{}) // two stores: two migrators
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		wg.Go(func() { total[i], errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("Migrate errors: %v, %v", errs[0], errs[1])
	}
	if got := total[0] + total[1]; got != SchemaVersion() {
		t.Fatalf("applied %d+%d migrations, want %d in all", total[0], total[1], SchemaVersion())
	}
}

func TestCheckTooNew(t *testing.T) {
	s, ctx := parallelStore(t)
	if _, err := s.DB().Exec(ctx, `INSERT INTO queuesync_schema_migrations (version, name) VALUES (9999, 'future')`); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Check = %v, want ErrSchemaTooNew", err)
	}
}

// TestMigrateSharedTable: on a SOP, attribute_state already exists with
// rows of other classes; the migration extends it and leaves them alone.
func TestMigrateSharedTable(t *testing.T) {
	t.Parallel()
	s, _ := openUnmigrated(t)
	ctx := t.Context()
	_, err := s.DB().Exec(ctx, `CREATE TABLE attribute_state (id serial PRIMARY KEY, class text NOT NULL, value text);
		INSERT INTO attribute_state (class, value) VALUES ('other', 'x'), ('other', 'y')`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := mustPut(t, s, reg("support", "PJSIP/1", 10, 0, "sop1"), PutOptions{}); !ok {
		t.Fatal("Put into shared table not stored")
	}
	es, err := s.List(ctx, nil)
	if err != nil || len(es) != 1 {
		t.Fatalf("List = %d entries, %v; want 1 (other classes hidden)", len(es), err)
	}
	var others int
	if err := s.DB().QueryRow(ctx, `SELECT count(*) FROM attribute_state WHERE class = 'other'`).Scan(&others); err != nil || others != 2 {
		t.Fatalf("other classes: %d rows, %v; want 2", others, err)
	}
}
