package http

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestWebhookHeaderNames checks that the header names a delivery sets
// directly are the Standard Webhooks names in the form net/http sends.
func TestWebhookHeaderNames(t *testing.T) {
	for got, want := range map[string]string{
		headerWebhookID:        standardwebhooks.HeaderWebhookID,
		headerWebhookTimestamp: standardwebhooks.HeaderWebhookTimestamp,
		headerWebhookSignature: standardwebhooks.HeaderWebhookSignature,
	} {
		if got != http.CanonicalHeaderKey(want) {
			t.Errorf("header %q, want %q", got, http.CanonicalHeaderKey(want))
		}
	}
}

// TestWebhookSignerMatchesLibrary holds the reused-HMAC signer to the
// Standard Webhooks library: the same bytes as its Sign for each secret,
// and a header, alone or with both signatures of a rotation, that its
// Verify accepts with either secret.
func TestWebhookSignerMatchesLibrary(t *testing.T) {
	newSecret := func() string {
		key := make([]byte, 24)
		_, _ = rand.Read(key)
		return "whsec_" + base64.StdEncoding.EncodeToString(key)
	}
	cur, prev := newSecret(), newSecret()
	at := time.Now()
	target := &webhookTarget{}
	var libs []*standardwebhooks.Webhook
	for _, secret := range []string{cur, prev} {
		s, err := newWebhookSigner(secret)
		if err != nil {
			t.Fatal(err)
		}
		if target.current == nil {
			target.current = s
		} else {
			target.previous, target.previousUntil = s, at.Add(time.Hour)
		}
		lib, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		libs = append(libs, lib)
		for _, body := range [][]byte{nil, []byte(`{}`), []byte(`{"id":"ev_1","data":{"name":"Zoë"}}`), bytes.Repeat([]byte("x"), 4096)} {
			for _, id := range []string{"msg_1", "01JBZ8Y4Q7N9W4C8F9T1X2Y3Z4-" + strings.Repeat("a", 80)} {
				for range 3 { // the pooled HMAC is reset between uses
					want, err := lib.Sign(id, at, body)
					if err != nil {
						t.Fatal(err)
					}
					if got := string(s.sign(nil, id, at, body)); got != want {
						t.Fatalf("signature %q, library %q", got, want)
					}
				}
			}
		}
	}
	if _, err := newWebhookSigner("whsec_not base64!"); err == nil {
		t.Error("a secret that is not base64 was accepted")
	}
	body := []byte(`{"id":"ev_2","type":"individual.updated"}`)
	verify := func(sig string) {
		t.Helper()
		h := http.Header{}
		h.Set(standardwebhooks.HeaderWebhookID, "msg_2")
		h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
		h.Set(standardwebhooks.HeaderWebhookSignature, sig)
		for i, lib := range libs {
			if err := lib.Verify(body, h); err != nil && (i == 0 || strings.Contains(sig, " ")) {
				t.Errorf("secret %d does not verify %q: %v", i, sig, err)
			}
		}
		if err := libs[0].Verify(append([]byte{' '}, body...), h); err == nil {
			t.Error("a changed body verified")
		}
	}
	both, err := target.sign("msg_2", at, body)
	if err != nil || !strings.Contains(both, " ") {
		t.Fatalf("during the overlap: %q, %v", both, err)
	}
	verify(both)
	target.previousUntil = at
	one, err := target.sign("msg_2", at, body)
	if err != nil || strings.Contains(one, " ") {
		t.Fatalf("after the overlap: %q, %v", one, err)
	}
	verify(one)
	if err := libs[1].Verify(body, http.Header{"Webhook-Id": {"msg_2"}, "Webhook-Timestamp": {strconv.FormatInt(at.Unix(), 10)}, "Webhook-Signature": {one}}); err == nil {
		t.Error("the previous secret verified a signature made after the overlap")
	}
}
