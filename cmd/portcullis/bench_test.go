package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestBenchSmoke runs the bench command small and checks its report's
// shape: every figure measured something and every ratio is there. Whether
// the goals are met is for the bench itself, never for a test.
func TestBenchSmoke(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"bench", "--n", "200", "--mix-time", "400ms", "--json", "--data-dir", t.TempDir()}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	var got struct {
		Figures map[string]struct {
			Value float64 `json:"value"`
			Unit  string  `json:"unit"`
			Count int     `json:"count"`
		} `json:"figures"`
		Ratios map[string]struct {
			Value float64 `json:"value"`
			Goal  float64 `json:"goal"`
			Met   *bool   `json:"met"`
		} `json:"ratios"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("bench output is not JSON: %v\n%s", err, stdout.String())
	}
	for _, f := range slices.Concat(benchFigures(), benchWebhookFigures()) {
		if _, ok := got.Figures[f.name]; !ok {
			t.Errorf("figure %s missing", f.name)
		}
	}
	// The mix's figures by client count and its baselines; the share of
	// each step at 64 clients depends on what a short run reached.
	for _, f := range benchMixFigures() {
		if strings.HasPrefix(f.name, "mix_") && strings.HasSuffix(f.name, "_c64") && f.name != "mix_commands_c64" && f.name != "mix_reads_c64" {
			continue
		}
		if _, ok := got.Figures[f.name]; !ok {
			t.Errorf("figure %s missing", f.name)
		}
	}
	for _, name := range []string{"durable_commands_vs_serial_fsync", "read_vs_noop", "projection_apply_vs_raw_consume",
		"command_p99_half_peak_vs_publish_fsync", "projection_lag_p99_vs_consume_commit"} {
		r, ok := got.Ratios[name]
		if !ok || r.Value <= 0 {
			t.Errorf("ratio %s = %+v, want a positive value", name, r)
		}
	}
	for name, f := range got.Figures {
		if f.Value <= 0 || f.Count <= 0 || f.Unit == "" {
			t.Errorf("figure %s = %+v, want a positive rate with a count and a unit", name, f)
		}
	}
	for _, name := range []string{"projection_apply/raw_consume", "projection_apply/raw_bbolt_replay", "raw_bbolt_replay/raw_consume", "projection_apply/ingest_peak", "inproc_update_c1/raw_publish_c1",
		"inproc_update_c64/raw_publish_c64", "bare_update_c1/raw_publish_c1", "bare_update_c64/raw_publish_c64",
		"inproc_create_c1/raw_batch_c1", "inproc_create_c64/raw_batch_c64",
		"http_update_c1/inproc_update_c1", "http_update_c64/inproc_update_c64",
		"http_create_c1/inproc_create_c1", "http_create_c64/inproc_create_c64", "webhook_deliver/raw_post"} {
		r, ok := got.Ratios[name]
		if !ok {
			t.Errorf("ratio %s missing", name)
			continue
		}
		if r.Value <= 0 {
			t.Errorf("ratio %s = %v, want > 0", name, r.Value)
		}
		if r.Goal > 0 && r.Met == nil {
			t.Errorf("ratio %s has a goal but no verdict", name)
		}
	}
}
