package http

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/portcullis/portcullis/domain"
)

// What the place resources (locations, buildings, spaces, locking systems,
// access points) share on the native face: the reading of nested request
// bodies and of the parents they name.

// optBool reads an optional boolean field: nil when absent; null is
// refused.
func optBool(o object, field string) (*bool, error) {
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

// nestedObject reads a JSON value that sits inside a body (an array entry, a
// field of an object in an array) as an object; field is its full name,
// e.g. rules[2].
func nestedObject(raw json.RawMessage, field string) (object, error) {
	var o object
	if string(raw) == "null" || json.Unmarshal(raw, &o) != nil {
		return nil, domain.Invalid(field, "must be an object, not %s", jsonKind(raw))
	}
	return o, nil
}

// jsonArray reads a JSON array; absent or null is an empty one when optional.
func jsonArray(o object, field, name string, optional bool) ([]json.RawMessage, error) {
	raw, ok := o[field]
	if !ok || string(raw) == "null" {
		if optional {
			return nil, nil
		}
		return nil, domain.Invalid(name, "is required")
	}
	var out []json.RawMessage
	if json.Unmarshal(raw, &out) != nil {
		return nil, domain.Invalid(name, "must be an array, not %s", jsonKind(raw))
	}
	return out, nil
}

// stringArray reads an array of strings, naming a wrong entry with its index.
func stringArray(o object, field, name string, optional bool) ([]string, error) {
	raws, err := jsonArray(o, field, name, optional)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(raws))
	for i, raw := range raws {
		if json.Unmarshal(raw, &out[i]) != nil {
			return nil, domain.Invalid(fmt.Sprintf("%s[%d]", name, i), "must be a string, not %s", jsonKind(raw))
		}
	}
	return out, nil
}

// fieldWithin names a nested field's error by its full name: field "from" of
// prefix "rules[2].schedule[0]" is rules[2].schedule[0].from.
func fieldWithin(prefix string, err error) error {
	var e *domain.Error
	if errors.As(err, &e) && e.Field != "" {
		c := *e
		c.Field = prefix + "." + e.Field
		return &c
	}
	return err
}

// placeRef renders a place id a record names; "" (none) is null.
func placeRef(id string) *string { return nullable(id) }

// idList reads a list of record ids the body names, such as
// access_point_ids; the commands check each id.
func idList(o object, field string) ([]string, error) {
	return stringArray(o, field, field, false)
}

// viewOrNotFound turns a read-model miss into NOT_FOUND naming the record.
func viewOrNotFound[T any](v T, found bool, err error, what, id string) (T, error) {
	if err == nil && !found {
		err = domain.Errorf(domain.CodeNotFound, "%s %s not found", what, id)
	}
	return v, err
}
