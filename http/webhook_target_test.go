package http

import (
	"net/http"
	"testing"

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
