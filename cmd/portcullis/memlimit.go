package main

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/projections"
)

// The Go heap's soft limit (runtime/debug.SetMemoryLimit).
//
// By default the collector lets the heap grow to twice what was live after
// the last collection. With a limit, the collector runs earlier when the
// heap nears it, and returns freed memory to the system sooner; past it,
// it runs nearly all the time, capped at about half the CPU (Go's own
// guard). A rebuild of 1M events with 2000 events per transaction left
// ~150 MiB live, and 384 MiB kept its RssAnon near 400 MiB (without it:
// 427-529 MiB). With 8000 per transaction (e87727f, reverted by 8e96199)
// ~530 MiB was live during the rebuild, and the same limit made the
// collector run 3012 times and the rebuild ~3x slower (docs/performance.md):
// a limit must stay above what a rebuild holds live.

// defaultMemoryLimit applies when neither --memory-limit nor
// PORTCULLIS_MEMORY_LIMIT nor Go's own GOMEMLIMIT says otherwise.
const defaultMemoryLimit = "384MiB"

// memoryLimitUsage is the flag's help, shared by the subcommands that take it.
const memoryLimitUsage = "soft limit of the Go heap, e.g. 384MiB or 1GiB; off for none; empty: GOMEMLIMIT if set, else " +
	defaultMemoryLimit + "; keep it above what a rebuild holds live, or the collector runs without pause (env PORTCULLIS_MEMORY_LIMIT)"

// applyMemoryLimit sets the process's soft memory limit from the flag's
// value: a size, "off", or empty for GOMEMLIMIT or the default.
func applyMemoryLimit(value string) error {
	if value == "" {
		if os.Getenv("GOMEMLIMIT") != "" {
			return nil // the runtime has applied it
		}
		value = defaultMemoryLimit
	}
	n, err := parseSize(value, math.MaxInt64)
	if err != nil {
		return fmt.Errorf("memory limit: %w", err)
	}
	debug.SetMemoryLimit(n)
	return nil
}

// The read models' pages mapped into the process (projections'
// residency.go): bbolt maps the whole file, and what a rebuild or a read
// touched stays resident until dropped.

// mappedBudgetUsage is the flag's help.
const mappedBudgetUsage = "how much more of the read-model file's pages a following runner lets the process map before dropping them (they stay in the page cache), e.g. 256MiB; off (the default) never drops while following, which keeps the projection lag low; a rebuild or catch-up drops them at its end either way (env PORTCULLIS_MAPPED_BUDGET)"

// mappedBudget reads --mapped-budget: empty for the default, "off" for 0.
func mappedBudget(value string) (int64, error) {
	if value == "" {
		return projections.DefaultMappedBudget, nil
	}
	n, err := parseSize(value, 0)
	if err != nil {
		return 0, fmt.Errorf("mapped budget: %w", err)
	}
	return n, nil
}

// parseSize reads a size in bytes with an optional binary suffix (KiB,
// MiB, GiB, as GOMEMLIMIT takes), or "off", which is off.
func parseSize(value string, off int64) (int64, error) {
	if value == "off" {
		return off, nil
	}
	unit := int64(1)
	num := value
	for suffix, u := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if s, ok := strings.CutSuffix(value, suffix); ok {
			num, unit = s, u
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/unit {
		return 0, fmt.Errorf("%q: want a positive size such as 384MiB or 1GiB, or off", value)
	}
	return n * unit, nil
}
