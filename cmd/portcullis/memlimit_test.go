package main

import (
	"math"
	"testing"

	"github.com/portcullis/portcullis/projections"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"384MiB", 384 << 20}, {"1GiB", 1 << 30}, {"512KiB", 512 << 10}, {"1048576", 1 << 20}, {"off", -7},
	} {
		got, err := parseSize(c.in, -7)
		if err != nil || got != c.want {
			t.Fatalf("parseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "0", "-1MiB", "12x", "1.5GiB", "MiB", "9999999999GiB"} {
		if n, err := parseSize(bad, 0); err == nil {
			t.Fatalf("parseSize(%q) = %d, want an error", bad, n)
		}
	}
	if n, _ := parseSize("off", math.MaxInt64); n != math.MaxInt64 {
		t.Fatalf("off is %d", n)
	}
	if n, err := mappedBudget(""); err != nil || n != projections.DefaultMappedBudget {
		t.Fatalf("the default mapped budget is %d, %v", n, err)
	}
	if n, err := mappedBudget("off"); err != nil || n != 0 {
		t.Fatalf("mapped budget off is %d, %v", n, err)
	}
}
