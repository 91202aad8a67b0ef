package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/projections"
)

// benchReadRounds is how many times each read runs per size; each is timed,
// and the figure is the rate at the median.
const benchReadRounds = 200

// parseReadSizes reads --read-sizes: credential counts, comma-separated.
func parseReadSizes(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 100 {
			return nil, fmt.Errorf("bench: --read-sizes: %q is not a number of credentials of at least 100", part)
		}
		out = append(out, n)
	}
	return out, nil
}

// credentialReads measures the credential reads (projections.CredentialReads)
// on read models of each size, built straight through the projection, and
// reports each as reads/s; with two sizes or more, the ratio of the largest
// to the smallest with the goal: the time at the largest within 2×
// of the time at the smallest (a rate ratio of at least 0.5).
func (b *bench) credentialReads(sizes []int) ([]benchFigureSpec, error) {
	var specs []benchFigureSpec
	for _, n := range sizes {
		db, err := projections.OpenDB(filepath.Join(b.dir, fmt.Sprintf("reads-%d.db", n)))
		if err != nil {
			return nil, err
		}
		b.step("credential read model of %d credentials, written through the projection", n)
		if err := projections.WriteCredentialFixture(db, n); err != nil {
			db.Close()
			return nil, err
		}
		b.step("views: 40 access points, every tenth credential linked to one, written through the projections")
		if err := projections.WriteViewFixture(db, n); err != nil {
			db.Close()
			return nil, err
		}
		for _, rd := range readsAt(n) {
			name := fmt.Sprintf("cred_%s_%d", rd.Name, n)
			b.step("%s, %d rounds", name, benchReadRounds)
			if err := b.measureEach(name, benchReadRounds, func() (time.Duration, []time.Duration, error) {
				lat := make([]time.Duration, 0, benchReadRounds)
				for range benchReadRounds {
					start := time.Now()
					if err := rd.Read(db); err != nil {
						return 0, nil, err
					}
					lat = append(lat, time.Since(start))
				}
				// The rate at the median latency: on a shared machine one
				// preemption must not decide a figure of microseconds.
				sorted := slices.Clone(lat)
				slices.Sort(sorted)
				return sorted[len(sorted)/2] * benchReadRounds, lat, nil
			}); err != nil {
				db.Close()
				return nil, err
			}
			specs = append(specs, benchFigureSpec{name, fmt.Sprintf("credential read %s at %d credentials (median)", rd.Name, n), "reads/s"})
		}
		if err := db.Close(); err != nil {
			return nil, err
		}
	}
	return specs, nil
}

// readsAt are the reads timed at a size: the credential lists and stats,
// and the views (dashboard, overview, locking plan, a space's active
// assignments).
func readsAt(n int) []projections.CredentialRead {
	return slices.Concat(projections.CredentialReads(n), projections.ViewReads(n), projections.ViewReadsAsOf(n))
}

// credentialReadRatios compares the largest size with the smallest.
func credentialReadRatios(r *benchReport, sizes []int) {
	if len(sizes) < 2 {
		return
	}
	small, large := sizes[0], sizes[0]
	for _, n := range sizes {
		small, large = min(small, n), max(large, n)
	}
	for _, rd := range readsAt(small) {
		r.namedRatio(fmt.Sprintf("cred_%s_%d_vs_%d", rd.Name, large, small),
			fmt.Sprintf("cred_%s_%d", rd.Name, large), fmt.Sprintf("cred_%s_%d", rd.Name, small), 0.5)
	}
}
