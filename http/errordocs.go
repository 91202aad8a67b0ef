package http

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
)

// errorDoc is the page a native error envelope links to in error.docs: what
// went wrong, in terms a client developer can act on, and what to do.
type errorDoc struct {
	Code     domain.Code `json:"code"`
	Status   int         `json:"status"`
	Title    string      `json:"title"`
	Problem  string      `json:"problem"`
	Solution string      `json:"solution"`
}

// errorDocs holds one page per native code, in the order of the contract's
// table. A test keeps it and nativeStatus in step: every code a native
// envelope can carry has a page, and every page a code.
var errorDocs = []errorDoc{
	{Code: domain.CodeInvalid, Title: "Bad request",
		Problem: "The request could not be accepted as sent: its JSON is malformed, a field has the wrong type or an " +
			"unknown value, a required field is missing, an id is not a valid id, a list parameter (page, limit, " +
			"order or a filter) is out of range or unknown, or the body is larger than the server accepts. The " +
			"message names the field (also in error.field) and nothing was changed.",
		Solution: "Correct the named field and send the request again. List endpoints accept page ≥ 1, limit between " +
			"1 and 100, and order as field.asc or field.desc over the fields the endpoint documents."},
	{Code: domain.CodeUnauthorized, Title: "Unauthorized",
		Problem: "The request carries no credentials, or credentials the server does not accept: an unknown or " +
			"revoked personal access token, an access token with a bad signature, or a malformed Authorization header.",
		Solution: "Send Authorization: Token <PAT> for a service user, Authorization: Bearer <access_token> for an " +
			"OAuth2 client (from POST /oAuth/rest/v2/Token), or X-Token for self-service. Ask an administrator for a " +
			"new token if yours was revoked."},
	{Code: domain.CodeForbidden, Title: "Forbidden",
		Problem: "The caller is known but may not act here at all, for example a self-service token used on another " +
			"individual's record or an endpoint reserved for the system administrator.",
		Solution: "Use credentials that belong to the record's owner or to a service user of the right tenant."},
	{Code: domain.CodeInsufficientPermissions, Title: "Insufficient permissions",
		Problem: "The caller's role lacks the permission this endpoint needs (a <resource>:<read|write|delete> " +
			"permission on the native face). The message names the permission.",
		Solution: "GET /api/v1/permissions lists what the caller holds. Ask an administrator to give the service " +
			"user or OAuth client a role that carries the named permission."},
	{Code: domain.CodeNotFound, Title: "Not found",
		Problem: "No record with this id exists in the caller's tenant, or the route itself does not exist. Records " +
			"of other tenants are reported the same way, so nothing about them can be learned.",
		Solution: "Check the id and the path. A record that was just created may be read with the " +
			"X-Consistency-Token its creation answered, so the read waits until the record is visible."},
	{Code: domain.CodeConflict, Title: "Conflict",
		Problem: "The change contradicts the current state: a value that must be unique in the tenant is taken " +
			"(an email, a credential_id), a place still holds buildings, spaces or access points, a credential is " +
			"already assigned, or the record kept changing while the command was retried. The message names what " +
			"is in the way.",
		Solution: "Resolve what the message names (choose another value, move or delete the children, return the " +
			"credential first) and send the request again."},
	{Code: domain.CodeDeleteProtected, Title: "Delete protected",
		Problem: "The record has delete_protected set, so it cannot be deleted.",
		Solution: "If the record really must go, first PATCH it with \"delete_protected\": false, then delete it. " +
			"Both steps are recorded in the audit log."},
	{Code: domain.CodeDisabled, Title: "Disabled",
		Problem: "The credential is not in a state that allows this action: it is disabled, lost, stolen or damaged.",
		Solution: "Set the credential's status back to active (PATCH status) if it is usable again, or choose " +
			"another credential."},
	{Code: domain.CodeExpired, Title: "Expired",
		Problem: "Something needed for this request is past its validity: a credential outside its valid_from / " +
			"valid_until window, an expired personal access token, or an expired one-time code.",
		Solution: "Extend the credential's validity window, issue a new token (POST /api/v1/service-users/{id}/tokens), " +
			"or request a new one-time code."},
	{Code: domain.CodePreconditionFailed, Title: "Precondition failed",
		Problem: "The request carried If-Match with a version that is no longer the record's current one: someone " +
			"changed the record since it was read.",
		Solution: "GET the record again, take its new ETag, reapply the change to the fresh state and send it with " +
			"the new If-Match."},
	{Code: domain.CodeTooManyRequests, Title: "Too many requests",
		Problem: "The caller sent more requests than its rate limit allows. Token and one-time-code endpoints have " +
			"stricter limits than the rest.",
		Solution: "Wait the number of seconds in the Retry-After header before the next request, and spread " +
			"requests out."},
	{Code: domain.CodeUnavailable, Title: "Service unavailable",
		Problem: "The server could not confirm the write in time (the event log did not acknowledge it), or it is " +
			"not ready to serve. A write answered this way may or may not have been applied.",
		Solution: "Retry after Retry-After seconds with the same Idempotency-Key: the server then answers the first " +
			"outcome without applying the change twice."},
	{Code: domain.CodeInternal, Title: "Internal server error",
		Problem: "The server failed in a way that is not the client's doing. The detail is in the server's log under " +
			"the request id (error.req_id).",
		Solution: "Retry later. If it persists, report the req_id to the operators of the server."},
}

func (s *Server) registerErrorDocRoutes(r *mux.Router) {
	r.HandleFunc("/docs/errors", s.handleErrorDocIndex).Methods("GET")
	r.HandleFunc("/docs/errors/{code}", s.handleErrorDoc).Methods("GET")
}

// lookupErrorDoc returns the page of a code with its status filled in from
// the one status table.
func lookupErrorDoc(code string) (errorDoc, bool) {
	for _, d := range errorDocs {
		if string(d.Code) == code {
			d.Status = nativeStatus[d.Code]
			return d, true
		}
	}
	return errorDoc{}, false
}

// wantsJSON reports whether a client asked for JSON rather than a page.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json") || r.URL.Query().Get("format") == "json"
}

func (s *Server) handleErrorDoc(w http.ResponseWriter, r *http.Request) {
	code := mux.Vars(r)["code"]
	d, ok := lookupErrorDoc(code)
	if !ok {
		s.writeNativeError(w, r, domain.Errorf(domain.CodeNotFound, "there is no error code %q; GET /docs/errors lists them", code))
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, nativeItem{Msg: "error " + string(d.Code), Data: d})
		return
	}
	writeErrorDocPage(w, []errorDoc{d})
}

func (s *Server) handleErrorDocIndex(w http.ResponseWriter, r *http.Request) {
	all := make([]errorDoc, len(errorDocs))
	for i, d := range errorDocs {
		all[i], _ = lookupErrorDoc(string(d.Code))
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, nativeItem{Msg: "error codes", Data: all})
		return
	}
	writeErrorDocPage(w, all)
}

var errorDocPage = template.Must(template.New("errors").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Portcullis errors{{if eq (len .) 1}}: {{(index . 0).Code}}{{end}}</title></head>
<body>
{{range .}}<section id="{{.Code}}">
<h1>{{.Code}} <small>{{.Status}} {{.Title}}</small></h1>
<h2>Problem</h2>
<p>{{.Problem}}</p>
<h2>Solution</h2>
<p>{{.Solution}}</p>
</section>
{{end}}</body></html>
`))

func writeErrorDocPage(w http.ResponseWriter, docs []errorDoc) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = errorDocPage.Execute(w, docs)
}
