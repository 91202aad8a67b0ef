package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/domain"
)

// object is a JSON request body decoded one level deep, so that every field
// can be checked by name: unknown fields, wrong types and nulls are all
// reported with the field they concern.
type object map[string]json.RawMessage

// decodeObject reads the request body as one JSON object.
func decodeObject(r *http.Request) (object, error) {
	data, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, domain.Invalid("body", "request body exceeds %d bytes", tooBig.Limit)
	}
	if err != nil {
		return nil, domain.Invalid("body", "could not read the request body")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, domain.Invalid("body", "a JSON object is required")
	}
	var obj object
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&obj); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return nil, domain.Invalid("body", "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
		case errors.As(err, &typ):
			return nil, domain.Invalid("body", "must be a JSON object, not %s", typ.Value)
		default:
			return nil, domain.Invalid("body", "malformed JSON: %s", err.Error())
		}
	}
	if obj == nil {
		return nil, domain.Invalid("body", "must be a JSON object, not null")
	}
	if dec.More() {
		return nil, domain.Invalid("body", "unexpected data after the JSON object")
	}
	return obj, nil
}

// only rejects any field not in allowed.
func (o object) only(allowed ...string) error {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return domain.Invalid(k, "unknown field")
		}
	}
	return nil
}

// str reads an optional string field. present reports whether it was given;
// null counts as given and empty when nullable, and as an error otherwise.
func (o object) str(field string, nullable bool) (value string, present bool, err error) {
	raw, ok := o[field]
	if !ok {
		return "", false, nil
	}
	if string(raw) == "null" {
		if !nullable {
			return "", true, domain.Invalid(field, "must not be null")
		}
		return "", true, nil
	}
	if err := json.Unmarshal(raw, &value); err != nil {
		return "", true, domain.Invalid(field, "must be a string, not %s", jsonKind(raw))
	}
	return value, true, nil
}

// strPtr is str for patches: nil when absent.
func (o object) strPtr(field string, nullable bool) (*string, error) {
	v, present, err := o.str(field, nullable)
	if err != nil || !present {
		return nil, err
	}
	return &v, nil
}

func jsonKind(raw json.RawMessage) string {
	switch b := bytes.TrimSpace(raw); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "an object"
	case b[0] == '[':
		return "an array"
	case b[0] == '"':
		return "a string"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	case b[0] == 'n':
		return "null"
	default:
		return "a number"
	}
}

// listParams are the paging and ordering parameters every native list takes.
type listParams struct {
	page  domain.Page
	order []domain.Order
}

// parseList reads page, limit and order, and rejects any query parameter not
// in extra (the list's own filters) or the common ones.
func parseList(r *http.Request, orderFields []string, extra ...string) (listParams, error) {
	q := r.URL.Query()
	allowed := append([]string{"page", "limit", "order", "consistency_token"}, extra...)
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return listParams{}, domain.Invalid(k, "unknown query parameter (allowed: %s)", strings.Join(allowed, ", "))
		}
		if len(q[k]) > 1 {
			return listParams{}, domain.Invalid(k, "given more than once")
		}
	}
	p := listParams{page: domain.Page{Page: 1, Limit: 10}}
	var err error
	if v := q.Get("page"); v != "" {
		if p.page.Page, err = strconv.Atoi(v); err != nil || p.page.Page < 1 || p.page.Page > 1_000_000 {
			return p, domain.Invalid("page", "must be a whole number from 1 to 1000000")
		}
	}
	if v := q.Get("limit"); v != "" {
		if p.page.Limit, err = strconv.Atoi(v); err != nil || p.page.Limit < 1 || p.page.Limit > 100 {
			return p, domain.Invalid("limit", "must be a whole number from 1 to 100")
		}
	}
	if v, ok := q["order"]; ok {
		if p.order, err = parseOrder(v[0], orderFields); err != nil {
			return p, err
		}
	}
	return p, nil
}

// parseOrder reads "field.asc,other.desc".
func parseOrder(s string, fields []string) ([]domain.Order, error) {
	if len(fields) == 0 {
		return nil, domain.Invalid("order", "this list has one fixed order (see the API description) and takes no order")
	}
	var out []domain.Order
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		field, dir, ok := strings.Cut(strings.TrimSpace(part), ".")
		if !ok || (dir != "asc" && dir != "desc") {
			return nil, domain.Invalid("order", "%q must be field.asc or field.desc", part)
		}
		if !slices.Contains(fields, field) {
			return nil, domain.Invalid("order", "cannot order by %q (allowed: %s)", field, strings.Join(fields, ", "))
		}
		if seen[field] {
			return nil, domain.Invalid("order", "%q is named twice", field)
		}
		seen[field] = true
		out = append(out, domain.Order{Field: field, Desc: dir == "desc"})
	}
	return out, nil
}

// enumParam reads an optional query parameter that must be one of options.
func enumParam(r *http.Request, name string, options []string) (string, error) {
	v := r.URL.Query().Get(name)
	if v != "" && !slices.Contains(options, v) {
		return "", domain.Invalid(name, "must be one of %s", strings.Join(options, ", "))
	}
	return v, nil
}

// parseIfMatch reads the If-Match header: nil when absent or "*".
func parseIfMatch(r *http.Request) (*uint64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return nil, nil
	}
	v = strings.TrimPrefix(v, "W/")
	n, err := strconv.ParseUint(strings.Trim(v, `"`), 10, 64)
	if err != nil || !strings.HasPrefix(v, `"`) || !strings.HasSuffix(v, `"`) {
		return nil, domain.Invalid("If-Match", "must be an ETag this server returned, like \"42\"")
	}
	return &n, nil
}

func etag(version uint64) string { return fmt.Sprintf(`"%d"`, version) }

// boolean reads an optional boolean field: nil when absent. null is refused.
func (o object) boolean(field string) (*bool, error) {
	raw, ok := o[field]
	if !ok {
		return nil, nil
	}
	var v bool
	if string(raw) == "null" || json.Unmarshal(raw, &v) != nil {
		return nil, domain.Invalid(field, "must be true or false, not %s", jsonKind(raw))
	}
	return &v, nil
}

// integer reads an optional whole-number field within [lo, hi]: nil when
// absent. null, fractions and strings are refused.
func (o object) integer(field string, lo, hi int) (*int, error) {
	raw, ok := o[field]
	if !ok {
		return nil, nil
	}
	var v int
	if string(raw) == "null" || json.Unmarshal(raw, &v) != nil || v < lo || v > hi {
		return nil, domain.Invalid(field, "must be a whole number from %d to %d", lo, hi)
	}
	return &v, nil
}

// timestamp reads an optional RFC 3339 time field: nil when absent; with
// nullable, null is the zero time (clear it).
func (o object) timestamp(field string, nullable bool) (*time.Time, error) {
	raw, ok := o[field]
	if !ok {
		return nil, nil
	}
	if string(raw) == "null" && nullable {
		return &time.Time{}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, domain.Invalid(field, "must be an RFC 3339 time like 2026-01-31T17:00:00Z, not %s", jsonKind(raw))
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, domain.Invalid(field, "must be an RFC 3339 time like 2026-01-31T17:00:00Z")
	}
	return &t, nil
}

// ids reads a required list of 1 to max ids, each a valid id, none twice.
func (o object) ids(field string, max int) ([]string, error) {
	raw, ok := o[field]
	if !ok {
		return nil, domain.Invalid(field, "is required")
	}
	var ids []string
	if string(raw) == "null" || json.Unmarshal(raw, &ids) != nil {
		return nil, domain.Invalid(field, "must be an array of ids, not %s", jsonKind(raw))
	}
	if len(ids) == 0 || len(ids) > max {
		return nil, domain.Invalid(field, "must name 1 to %d ids", max)
	}
	for i, id := range ids {
		if !domain.ValidToken(id) {
			return nil, domain.Invalid(field, "%q is not a valid id", id)
		}
		if slices.Contains(ids[:i], id) {
			return nil, domain.Invalid(field, "names %s twice", id)
		}
	}
	return ids, nil
}

// nested reads an optional JSON object field (nil when absent or null) and
// refuses fields of it not in allowed, naming them as field.name.
func (o object) nested(field string, allowed ...string) (object, error) {
	raw, ok := o[field]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var obj object
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil, domain.Invalid(field, "must be an object, not %s", jsonKind(raw))
	}
	if err := obj.only(allowed...); err != nil {
		return nil, domain.Invalid(field+"."+domain.ErrorField(err), "unknown field")
	}
	return obj, nil
}
