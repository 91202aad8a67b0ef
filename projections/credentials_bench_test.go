package projections

import (
	"fmt"
	"path/filepath"
	"testing"
)

// Reads of the credential lists and stats cost about the same at 10k and
// at 1M credentials (see CredentialReads). portcullis bench --read-sizes
// measures the same reads.
//
//	go test ./projections -run '^$' -bench CredentialReads -benchtime 200x
func BenchmarkCredentialReads(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		db, err := OpenDB(filepath.Join(b.TempDir(), "rm.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		if err := WriteCredentialFixture(db, n); err != nil {
			b.Fatal(err)
		}
		for _, c := range CredentialReads(n) {
			b.Run(fmt.Sprintf("n=%d/%s", n, c.Name), func(b *testing.B) {
				for b.Loop() {
					if err := c.Read(db); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
