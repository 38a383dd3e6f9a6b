package ami

import "path/filepath"

// transcriptPath names a recorded transcript in the module's testdata.
func transcriptPath(name string) string {
	return filepath.Join("..", "..", "testdata", "ami", name)
}
