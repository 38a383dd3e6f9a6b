package internal_test

import (
	"os/exec"
	"strings"
	"testing"
)

// module is the import path prefix of the project's packages.
const module = "github.com/queuesync/queuesync/"

// layers ranks the project's packages (docs/architecture.md §5): a package
// may import only packages of a lower layer. Packages of one layer stand
// beside each other and do not import each other.
var layers = map[string]int{
	"pkg/ami":                         0,
	"internal/build":                  0,
	"internal/sdnotify":               0,
	"internal/state":                  1,
	"internal/config":                 2,
	"internal/store":                  3,
	"internal/peer":                   3,
	"internal/engine":                 4,
	"internal/node":                   5,
	"internal/web":                    5,
	"internal/daemon":                 6,
	"internal/cli":                    7,
	"cmd/queuesync":                   8,
	"internal/testkit":                0, // test support
	"pkg/ami/amitest":                 1, // test support: imported by tests only
	"internal/store/storetest":        4,
	"internal/store/storetest/pgtest": 1, // test support: imported by tests only
}

// testSupport may be imported by tests only, never by a production package.
var testSupport = map[string]bool{"internal/testkit": true, "pkg/ami/amitest": true, "internal/store/storetest": true,
	"internal/store/storetest/pgtest": true}

// TestLayering reads the import graph with `go list` and fails when a
// package imports one of its own layer or above, or test support, or when
// a package is missing from the table (a new package must take its place).
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}:{{join .Imports \" \"}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		if !strings.HasPrefix(pkg, module) {
			continue // the standard library and dependencies
		}
		pkg = strings.TrimPrefix(pkg, module)
		if pkg == "internal" || strings.HasPrefix(pkg, "test/") {
			continue // end-to-end, chaos and benchmark harnesses may use anything
		}
		rank, ok := layers[pkg]
		if !ok {
			t.Errorf("package %s has no layer: add it to the table here and to docs/architecture.md §5", pkg)
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			if testSupport[imp] && !testSupport[pkg] {
				t.Errorf("%s imports %s, which is for tests only", pkg, imp)
			}
			if r, ok := layers[imp]; ok && r >= rank && !testSupport[pkg] {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must go down the layers (docs/architecture.md §5)", pkg, rank, imp, r)
			}
		}
	}
}
