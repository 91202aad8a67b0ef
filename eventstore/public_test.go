package eventstore_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// TestEventTypesDocumented fails when an event type (or version) is not in
// docs/events.md: the event contract is what downstream systems build on,
// so a new type is not done until it is documented there.
func TestEventTypesDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "events.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range domain.EventTypes() {
		heading := "### `" + d.EventType() + "` v" + string(rune('0'+d.EventVersion()))
		if !bytes.Contains(doc, []byte(heading)) {
			t.Errorf("docs/events.md does not document %s v%d: add a %q section with its payload fields and an example", d.EventType(), d.EventVersion(), heading)
		}
	}
}

// TestPublicFormHidesSecrets renders every golden payload in the public
// form: no field that names a secret, a hash or sealed material survives,
// nor do the sealed bytes themselves.
func TestPublicFormHidesSecrets(t *testing.T) {
	for _, d := range domain.EventTypes() {
		name := goldenName(d)
		b, err := os.ReadFile(filepath.Join("..", "testdata", "events", name+".msgpack"))
		if err != nil {
			t.Fatal(err)
		}
		e, err := eventstore.Decode(b, 42)
		if err != nil {
			t.Fatal(err)
		}
		js, err := eventstore.PublicJSON(e)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, banned := range []string{"secret", "hash", "sealed", "nonce", "password"} {
			if strings.Contains(strings.ToLower(string(js)), `"`+banned) || strings.Contains(strings.ToLower(string(js)), banned+`"`) {
				t.Errorf("%s public form has a %q field: %s", name, banned, js)
			}
		}
	}
	js, err := eventstore.PublicJSON(domain.Event{ID: "e", Type: domain.TypeIntegrationConnected, Version: 1, Tenant: "t",
		Aggregate: domain.Ref{Type: domain.AggregateIntegrationConnection, ID: "c"}, Sequence: 7,
		Data: &domain.IntegrationConnected{ApplicationID: "webhook", Name: "n",
			Secrets: []domain.SealedSecret{{Name: "signing_secret", KeyID: "k", Nonce: []byte("NONCE-BYTES!"), Ciphertext: []byte("CIPHERTEXT-BYTES")}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"signing_secret", "CIPHERTEXT", "Q0lQSEVSVEVYVC1CWVRFUw", "NONCE"} {
		if strings.Contains(string(js), leak) {
			t.Errorf("the public form of a connection leaks %q: %s", leak, js)
		}
	}
}

// TestPublicJSONOfMatchesPublicJSON renders every golden payload both ways,
// from the stored msgpack (webhooks) and from the decoded event (the live
// feed): a downstream system gets the same bytes from either.
func TestPublicJSONOfMatchesPublicJSON(t *testing.T) {
	for _, d := range domain.EventTypes() {
		name := goldenName(d)
		b, err := os.ReadFile(filepath.Join("..", "testdata", "events", name+".msgpack"))
		if err != nil {
			t.Fatal(err)
		}
		e, err := eventstore.Decode(b, 42)
		if err != nil {
			t.Fatal(err)
		}
		want, err := eventstore.PublicJSON(e)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := eventstore.PublicJSONOf(b, 42)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// TestPublicJSONOfEscapes renders strings that JSON must escape (HTML
// characters, control characters, invalid UTF-8, line separators), bytes,
// a zero time and a sealed secret both ways.
func TestPublicJSONOfEscapes(t *testing.T) {
	odd := "a<b>&c\"d\\e\x01\x1f\n\t\b\f\u2028\u2029\xff\xfeé😀" + strings.Repeat("z", 300)
	e := domain.Event{ID: "e<1>", Type: domain.TypeIntegrationConnected, Version: 1, Tenant: "t", RequestID: odd,
		Aggregate: domain.Ref{Type: domain.AggregateIntegrationConnection, ID: "c"}, Actor: odd,
		OccurredAt: time.Date(2026, 11, 22, 23, 0, 0, 123456789, time.FixedZone("x", 3600)),
		Data: &domain.IntegrationConnected{ApplicationID: odd, Name: "",
			Settings: []domain.IntegrationSetting{{Name: odd, Value: odd, Values: []string{odd, "", "<"}}},
			Secrets:  []domain.SealedSecret{{Name: "signing_secret", KeyID: "k", Nonce: []byte("N"), Ciphertext: []byte{0, 1, 2}}}}}
	b, err := eventstore.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	d, err := eventstore.Decode(b, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	want, err := eventstore.PublicJSON(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := eventstore.PublicJSONOf(b, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}
