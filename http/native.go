package http

import (
	"net/http"

	"github.com/gorilla/mux"
	"strconv"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
)

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// native adapts a handler to the native face: the caller must hold perm
// (a native "<resource>:<action>" permission; empty for routes that check
// for themselves), and the handler's error becomes the native envelope.
func (s *Server) native(perm string, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := require(r, perm)
		if perm == "" {
			err = nil
		}
		if err == nil {
			r, err = s.nativeAsOf(w, r)
		}
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			s.writeNativeError(w, r, err)
		}
	}
}

// nativeNow is native for the GET routes where a past instant means
// nothing (the live feed, signing the chain's head now): they refuse
// as_of, naming it, instead of answering as of it.
func (s *Server) nativeNow(perm, why string, h handlerFunc) http.HandlerFunc {
	next := s.native(perm, h)
	return func(w http.ResponseWriter, r *http.Request) {
		if err := refuseAsOf(r, why); err != nil {
			s.writeNativeError(w, r, err)
			return
		}
		next(w, r)
	}
}

// nativeOwn is native for routes an individual may also use on their own
// record through self-service: the caller holds perm, or is the individual
// named by the route's {id}.
func (s *Server) nativeOwn(perm string, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if self := caller(r.Context()).Self; self != "" && self == mux.Vars(r)["id"] {
			r, err := s.nativeAsOf(w, r)
			if err == nil {
				err = h(w, r)
			}
			if err != nil {
				s.writeNativeError(w, r, err)
			}
			return
		}
		s.native(perm, h)(w, r)
	}
}

type nativeItem struct {
	Msg  string `json:"msg"`
	Data any    `json:"data"`
}

type nativeList struct {
	Msg  string         `json:"msg"`
	Data any            `json:"data"`
	Meta nativeListMeta `json:"meta"`
}

type nativeListMeta struct {
	Pagination nativePagination `json:"pagination"`
}

type nativePagination struct {
	CurrentCount int `json:"current_count"`
	CurrentPage  int `json:"current_page"`
	PerPage      int `json:"per_page"`
	TotalPages   int `json:"total_pages"`
	TotalItems   int `json:"total_items"`
}

// writeNativeList answers with one page of a list.
func writeNativeList[T any](w http.ResponseWriter, msg string, items []T, page domain.Page, total int) {
	if items == nil {
		items = []T{}
	}
	writeJSON(w, http.StatusOK, nativeList{Msg: msg, Data: items, Meta: nativeListMeta{Pagination: nativePagination{
		CurrentCount: len(items), CurrentPage: page.Page, PerPage: page.Limit,
		TotalPages: (total + page.Limit - 1) / page.Limit, TotalItems: total,
	}}})
}

// writeMutation answers a successful command with its positions: ETag for the
// record's version and the consistency token for reads that must see it.
func writeMutation(w http.ResponseWriter, status int, msg string, res commands.Result, data any) {
	if res.Version > 0 {
		w.Header().Set("ETag", etag(res.Version))
	}
	w.Header().Set("X-Consistency-Token", strconv.FormatUint(res.Position, 10))
	writeJSON(w, status, nativeItem{Msg: msg, Data: data})
}

// nullable renders an empty optional string as JSON null.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
