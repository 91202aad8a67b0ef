package http

import "testing"

// The pages and the status table cover the same codes, so no native
// envelope links to a page that does not exist.
func TestErrorDocsCoverEveryCode(t *testing.T) {
	for code := range nativeStatus {
		if _, ok := lookupErrorDoc(string(code)); !ok {
			t.Errorf("code %s has a status but no error page", code)
		}
	}
	for _, d := range errorDocs {
		if _, ok := nativeStatus[d.Code]; !ok {
			t.Errorf("error page %s has no status", d.Code)
		}
	}
}
