package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// faceOf names the face a path belongs to, by its base path.
func faceOf(path string) string {
	switch {
	case strings.HasPrefix(path, "/api/v1/"):
		return "native"
	case strings.HasPrefix(path, "/nevisidm/"):
		return "nevisidm"
	case strings.HasPrefix(path, "/Endpoint/"):
		return "esystems"
	}
	return ""
}

// checkAuthRefusal reports how r differs from a refusal in its face's
// envelope with one of the statuses.
func checkAuthRefusal(face string, r response, statuses ...int) string {
	ok := false
	for _, s := range statuses {
		ok = ok || r.status == s
	}
	if !ok {
		return "status " + http.StatusText(r.status) + ": " + clip(r.body)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &body); err != nil {
		return "not JSON: " + clip(r.body)
	}
	switch face {
	case "native":
		var e struct {
			Code  string `json:"code"`
			ReqID string `json:"req_id"`
		}
		if json.Unmarshal(body["error"], &e) != nil || (e.Code != "UNAUTHORIZED" && e.Code != "EXPIRED") || e.ReqID == "" {
			return "not the native envelope: " + clip(r.body)
		}
	case "nevisidm":
		var e []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(body["errors"], &e) != nil || len(e) != 1 || e[0].Code == "" || e[0].Message == "" {
			return "not the nevisIDM envelope: " + clip(r.body)
		}
	case "esystems":
		var typ string
		var status int
		if json.Unmarshal(body["Type"], &typ) != nil || json.Unmarshal(body["StatusCode"], &status) != nil ||
			status != r.status || !strings.HasPrefix(typ, "/Errors/") || len(body["RequestKey"]) < 3 {
			return "not the eSystems envelope: " + clip(r.body)
		}
	}
	return ""
}

var pathVar = regexp.MustCompile(`\{[^}]+\}`)

// Every route of every face refuses a request without valid credentials in
// its own envelope: no token, a made-up token, a made-up bearer token, an
// expired token. Never a 2xx, never a 500.
func TestEveryRouteRefusesMissingOrBadCredentials(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	_, expiring := mustServiceUser(t, m.c, "expiring", "admin", 2*time.Second)
	time.Sleep(time.Until(expiring.ExpiresAt) + 100*time.Millisecond)

	variants := []struct {
		name     string
		headers  []string
		statuses []int
	}{
		{"no credentials", []string{"Authorization", ""}, []int{401}},
		{"made-up token", []string{"Authorization", "Token pcat_made-up"}, []int{401}},
		{"made-up bearer", []string{"Authorization", "Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln"}, []int{401}},
		{"expired token", []string{"Authorization", "Token " + expiring.Token}, []int{401, 410}},
	}
	routes := 0
	for _, rt := range m.HTTP.Routes() {
		face := faceOf(rt.Path)
		if face == "" {
			continue // health, metrics, token endpoint, error pages: public by design
		}
		routes++
		path := pathVar.ReplaceAllString(rt.Path, "x1")
		for _, v := range variants {
			var body any
			if rt.Method == "POST" || rt.Method == "PATCH" || rt.Method == "PUT" {
				body = map[string]any{}
			}
			r := m.c.do(t, rt.Method, path, body, v.headers...)
			if msg := checkAuthRefusal(face, r, v.statuses...); msg != "" {
				t.Errorf("%s %s with %s: %s", rt.Method, rt.Path, v.name, msg)
			}
		}
	}
	if routes < 30 {
		t.Fatalf("only %d routes under the faces: the walk is missing some", routes)
	}
	t.Logf("%d routes × %d credential variants refused", routes, len(variants))
}
