package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

// Assignment and return of access credentials. Each route names several
// credentials and changes them, and the people who hold them, in one atomic
// append; the answer lists the credentials as they are afterwards, in the
// order the request named them.

// metadata reads the optional {"condition","notes"} object of a body.
func metadata(obj object) (condition, notes string, err error) {
	md, err := obj.nested("metadata", "condition", "notes")
	if err != nil || md == nil {
		return "", "", err
	}
	if condition, _, err = md.str("condition", true); err != nil {
		return "", "", prefixField("metadata", err)
	}
	if notes, _, err = md.str("notes", true); err != nil {
		return "", "", prefixField("metadata", err)
	}
	return condition, notes, nil
}

// writeCredentials answers a command on several credentials.
func writeCredentials(w http.ResponseWriter, msg string, res commands.CredentialsResult) {
	out := make([]credentialJSON, len(res.Credentials))
	for i, c := range res.Credentials {
		out[i] = credentialFromState(c)
	}
	writeMutation(w, http.StatusOK, msg, res.Result, out)
}

func (s *Server) handleCredentialAssign(w http.ResponseWriter, r *http.Request) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only("credential_ids", "individual_id", "due_date", "due_reason", "metadata", "confirmation"); err != nil {
		return err
	}
	ids, err := obj.ids("credential_ids", domain.MaxCredentialBatch)
	if err != nil {
		return err
	}
	var a domain.Assignment
	if a.IndividualID, _, err = obj.str("individual_id", false); err != nil {
		return err
	}
	if a.IndividualID == "" {
		return domain.Invalid("individual_id", "is required")
	}
	if !domain.ValidToken(a.IndividualID) {
		return domain.Invalid("individual_id", "is not a valid id")
	}
	due, err := obj.timestamp("due_date", true)
	if err != nil {
		return err
	}
	if due != nil {
		a.DueDate = *due
	}
	if a.DueReason, _, err = obj.str("due_reason", true); err != nil {
		return err
	}
	if a.Condition, a.Notes, err = metadata(obj); err != nil {
		return err
	}
	conf, err := obj.nested("confirmation", "type", "destination")
	if err != nil {
		return err
	}
	if conf != nil {
		a.Confirmation = &domain.Confirmation{}
		if a.Confirmation.Type, _, err = conf.str("type", false); err != nil {
			return prefixField("confirmation", err)
		}
		if a.Confirmation.Destination, _, err = conf.str("destination", true); err != nil {
			return prefixField("confirmation", err)
		}
	}
	res, err := s.cmd.AssignCredentials(r.Context(), m, ids, a)
	if err != nil {
		return err
	}
	msg := "access credentials assigned"
	if a.Confirmation != nil {
		msg = "access credentials reserved until the individual confirms receipt"
	}
	writeCredentials(w, msg, res)
	return nil
}

// handleCredentialConfirm confirms receipt of reserved credentials. An
// individual signed in through self-service (X-Token) confirms their own;
// anyone else needs access-credentials:write.
func (s *Server) handleCredentialConfirm(w http.ResponseWriter, r *http.Request) error {
	self := caller(r.Context()).Self
	if self == "" {
		if err := require(r, "access-credentials:write"); err != nil {
			return err
		}
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only("credential_ids"); err != nil {
		return err
	}
	ids, err := obj.ids("credential_ids", domain.MaxCredentialBatch)
	if err != nil {
		return err
	}
	res, err := s.cmd.ConfirmCredentials(r.Context(), m, ids, self)
	if err != nil {
		return err
	}
	writeCredentials(w, "receipt of access credentials confirmed", res)
	return nil
}

func (s *Server) handleCredentialReturn(w http.ResponseWriter, r *http.Request) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only("credential_ids", "metadata"); err != nil {
		return err
	}
	ids, err := obj.ids("credential_ids", domain.MaxCredentialBatch)
	if err != nil {
		return err
	}
	condition, notes, err := metadata(obj)
	if err != nil {
		return err
	}
	res, err := s.cmd.ReturnCredentials(r.Context(), m, ids, condition, notes)
	if err != nil {
		return err
	}
	writeCredentials(w, "access credentials returned", res)
	return nil
}

// assignmentJSON is one credential with its assignment status: who holds it
// since when, until when and why, in what condition it was handed over,
// how receipt is confirmed, and how it last came back.
type assignmentJSON struct {
	Credential       credentialJSON    `json:"credential"`
	StatusAssignment string            `json:"status_assignment"`
	IndividualID     *string           `json:"individual_id"`
	DueDate          *time.Time        `json:"due_date"`
	DueReason        *string           `json:"due_reason"`
	Overdue          bool              `json:"overdue"`
	Metadata         *metadataJSON     `json:"metadata"`
	Confirmation     *confirmationJSON `json:"confirmation"`
	AssignedAt       *time.Time        `json:"assigned_at"`
	ConfirmedAt      *time.Time        `json:"confirmed_at"`
	LastReturn       *returnJSON       `json:"last_return"`
}

type metadataJSON struct {
	Condition *string `json:"condition"`
	Notes     *string `json:"notes"`
}

type confirmationJSON struct {
	Type        string  `json:"type"`
	Destination *string `json:"destination"`
}

type returnJSON struct {
	IndividualID string        `json:"individual_id"`
	ReturnedAt   time.Time     `json:"returned_at"`
	Metadata     *metadataJSON `json:"metadata"`
}

func metadataOf(condition, notes string) *metadataJSON {
	if condition == "" && notes == "" {
		return nil
	}
	return &metadataJSON{Condition: nullable(condition), Notes: nullable(notes)}
}

func assignmentFromView(v projections.Credential, now time.Time) assignmentJSON {
	out := assignmentJSON{Credential: credentialFromView(v), StatusAssignment: v.AssignmentStatus,
		IndividualID: nullable(v.AssignedTo), DueDate: nullableTime(v.DueDate), DueReason: nullable(v.DueReason),
		Overdue:  v.AssignedTo != "" && !v.DueDate.IsZero() && v.DueDate.Before(now),
		Metadata: metadataOf(v.Condition, v.Notes), AssignedAt: nullableTime(v.AssignedAt), ConfirmedAt: nullableTime(v.ConfirmedAt)}
	if c := v.Confirmation; c != nil {
		out.Confirmation = &confirmationJSON{Type: c.Type, Destination: nullable(c.Destination)}
	}
	if !v.ReturnedAt.IsZero() {
		out.LastReturn = &returnJSON{IndividualID: v.ReturnedBy, ReturnedAt: v.ReturnedAt.UTC(),
			Metadata: metadataOf(v.ReturnCondition, v.ReturnNotes)}
	}
	return out
}

// handleCredentialAssignments lists credentials with their assignment
// status: every credential unless filtered by status_assignment,
// individual_id (who holds it) or overdue=true (held past its due date).
func (s *Server) handleCredentialAssignments(w http.ResponseWriter, r *http.Request) error {
	lp, err := parseList(r, projections.CredentialOrderFields, "status_assignment", "individual_id", "overdue", "as_of")
	if err != nil {
		return err
	}
	var f projections.CredentialFilter
	if f.Assignment, err = enumParam(r, "status_assignment", domain.AssignmentStatuses); err != nil {
		return err
	}
	if f.Holder, err = idParam(r, "individual_id"); err != nil {
		return err
	}
	if v := r.URL.Query().Get("overdue"); v != "" {
		if f.Overdue, err = strconv.ParseBool(v); err != nil || (v != "true" && v != "false") {
			return domain.Invalid("overdue", "must be true or false")
		}
	}
	f.Now = now(r)
	items, total, err := s.credentials(w, r, f, lp)
	if err != nil {
		return err
	}
	out := make([]assignmentJSON, len(items))
	for i, v := range items {
		out[i] = assignmentFromView(v, f.Now)
	}
	writeNativeList(w, "access credential assignments", out, lp.page, total)
	return nil
}
