package http

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

func (s *Server) registerNevisDispatchTargetRoutes(r *mux.Router) {
	const list, one = "/{clientExtId}/users/{userExtId}/dispatch-targets", "/{clientExtId}/users/{userExtId}/dispatch-targets/{dispatchTargetExtId}"
	r.HandleFunc(list, s.nevis([]string{rightDispatchTargetView}, s.handleNevisDispatchTargetList)).Methods("GET")
	r.HandleFunc(list, s.nevis([]string{rightDispatchTargetCreate}, s.handleNevisDispatchTargetCreate)).Methods("POST")
	r.HandleFunc(one, s.nevis([]string{rightDispatchTargetView}, s.handleNevisDispatchTargetView)).Methods("GET")
	// Either right deletes a target, as in nevisIDM, and so does the user
	// themself with an X-Token (SelfAdmin); a refusal names the first right.
	r.HandleFunc(one, s.nevisSelfAdmin([]string{rightCredentialDelete, rightDispatchTargetDelete}, s.handleNevisDispatchTargetDelete)).Methods("DELETE")
	r.HandleFunc("/history/dispatch-targets", s.nevis([]string{rightHistoryView}, s.handleNevisDispatchTargetHistory)).Methods("GET")
}

type nevisDispatchTargetJSON struct {
	ExtID          string                   `json:"extId"`
	Type           string                   `json:"type"`
	DeviceID       string                   `json:"deviceId"`
	Target         *string                  `json:"target"`
	Dispatcher     *string                  `json:"dispatcher"`
	Name           string                   `json:"name"`
	State          string                   `json:"state"`
	EncryptionKey  *string                  `json:"encryptionKey"`
	SigningKey     *string                  `json:"signingKey"`
	AppAttestation *nevisAppAttestationJSON `json:"appAttestation"`
	Created        time.Time                `json:"created"`
	LastModified   time.Time                `json:"lastModified"`
	Version        int64                    `json:"version"`
}

type nevisAppAttestationJSON struct {
	Name    string  `json:"name"`
	Counter int64   `json:"counter"`
	Receipt *string `json:"receipt"`
}

func nevisDispatchTarget(f domain.DispatchTargetFields, att *domain.AppAttestation, version int64, created, modified time.Time) nevisDispatchTargetJSON {
	out := nevisDispatchTargetJSON{ExtID: f.ExtID, Type: f.Type, DeviceID: f.DeviceID, Target: nullable(f.Target),
		Dispatcher: nullable(f.Dispatcher), Name: f.Name, State: f.State, EncryptionKey: nullable(f.EncryptionKey),
		SigningKey: nullable(f.SigningKey), Created: nevisTime(created), LastModified: nevisTime(modified), Version: version}
	if att != nil {
		out.AppAttestation = &nevisAppAttestationJSON{Name: att.Name, Counter: att.Counter, Receipt: nullable(att.Receipt)}
	}
	return out
}

func nevisDispatchTargetFromView(t projections.DispatchTarget) nevisDispatchTargetJSON {
	return nevisDispatchTarget(t.DispatchTargetFields, t.AppAttestation, t.Version, t.Created, t.LastModified)
}

func nevisDispatchTargetFromState(t domain.DispatchTarget) nevisDispatchTargetJSON {
	return nevisDispatchTarget(t.DispatchTargetFields, t.AppAttestation, t.Version, t.Created, t.LastModified)
}

// nevisUserView finds a user of the client in the read models.
func (s *Server) nevisUserView(c nevisCall, userExtID string) (projections.Individual, error) {
	v, ok, err := s.db.IndividualByExtID(c.ClientExtID, userExtID)
	if err != nil {
		return v, err
	}
	if !ok {
		return v, c.userNotFound(userExtID)
	}
	return v, nil
}

func (s *Server) handleNevisDispatchTargetList(w http.ResponseWriter, r *http.Request, c nevisCall) error {
	p, err := parseNevisPage(r)
	if err != nil {
		return err
	}
	user, err := s.nevisUserView(c, nevisPathVar(r, "userExtId"))
	if err != nil {
		return err
	}
	items, more, err := s.db.DispatchTargets(c.ClientExtID, user.ID, p.After, p.Limit)
	if err != nil {
		return err
	}
	out := make([]nevisDispatchTargetJSON, len(items))
	var last uint64
	for i, t := range items {
		out[i] = nevisDispatchTargetFromView(t)
		last = t.CreatedSeq
	}
	writeNevisList(w, out, p, more, last)
	return nil
}

func (s *Server) handleNevisDispatchTargetView(w http.ResponseWriter, r *http.Request, c nevisCall) error {
	userExtID, extID := nevisPathVar(r, "userExtId"), nevisPathVar(r, "dispatchTargetExtId")
	user, err := s.nevisUserView(c, userExtID)
	if err != nil {
		return err
	}
	t, ok, err := s.db.DispatchTarget(c.ClientExtID, user.ID, extID)
	if err != nil {
		return err
	}
	if !ok {
		return c.complete(domain.DispatchTargetNotFound(extID), userExtID)
	}
	version, err := s.db.NevisUserVersion(c.ClientExtID, user.ID)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(version))
	writeJSON(w, http.StatusOK, nevisDispatchTargetFromView(t))
	return nil
}

var nevisDispatchTargetBodyFields = []string{"extId", "type", "deviceId", "target", "dispatcher", "name", "state",
	"encryptionKey", "signingKey", "appAttestation"}

func (s *Server) handleNevisDispatchTargetCreate(w http.ResponseWriter, r *http.Request, c nevisCall) error {
	userExtID := nevisPathVar(r, "userExtId")
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := nevisBody(r, nevisDispatchTargetBodyFields...)
	if err != nil {
		return err
	}
	var in domain.DispatchTargetFields
	for _, f := range []struct {
		name     string
		dst      *string
		nullable bool
	}{
		{"extId", &in.ExtID, true}, {"type", &in.Type, true}, {"deviceId", &in.DeviceID, false},
		{"target", &in.Target, true}, {"dispatcher", &in.Dispatcher, true}, {"name", &in.Name, false},
		{"state", &in.State, true}, {"encryptionKey", &in.EncryptionKey, true}, {"signingKey", &in.SigningKey, true},
	} {
		if *f.dst, _, err = nevisStr(obj, "", f.name, f.nullable); err != nil {
			return err
		}
	}
	var att *domain.AppAttestation
	if a, ok, err := nested(obj, "appAttestation", "name", "counter", "receipt"); err != nil {
		return err
	} else if ok {
		att = &domain.AppAttestation{}
		if att.Name, _, err = nevisStr(a, "appAttestation.", "name", false); err != nil {
			return err
		}
		if att.Counter, _, err = nevisInt(a, "appAttestation.", "counter"); err != nil {
			return err
		}
		if att.Receipt, _, err = nevisStr(a, "appAttestation.", "receipt", true); err != nil {
			return err
		}
	}
	res, err := s.cmd.CreateDispatchTarget(r.Context(), m, userExtID, in, att)
	if err != nil {
		return c.complete(err, userExtID)
	}
	w.Header().Set("Location", nevisBase+"/"+c.ClientExtID+"/users/"+userExtID+"/dispatch-targets/"+res.Target.ExtID)
	nevisVersionHeaders(w, res.Version, res.Position)
	writeJSON(w, http.StatusCreated, nevisDispatchTargetFromState(res.Target))
	return nil
}

// handleNevisDispatchTargetDelete deletes a target with everything that
// depends on it in one atomic append (commands.DeleteDispatchTarget) and
// answers 204, as nevisIDM does.
func (s *Server) handleNevisDispatchTargetDelete(w http.ResponseWriter, r *http.Request, c nevisCall) error {
	userExtID, extID := nevisPathVar(r, "userExtId"), nevisPathVar(r, "dispatchTargetExtId")
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.DeleteDispatchTarget(r.Context(), m, userExtID, extID)
	if err != nil {
		return c.complete(err, userExtID)
	}
	nevisVersionHeaders(w, 0, res.Position)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// nevisDispatchTargetVersionJSON is one row of the dispatch-target history:
// the target as it stood after the change, with nevisIDM's version columns.
type nevisDispatchTargetVersionJSON struct {
	nevisDispatchTargetJSON
	UserExtID     string    `json:"userExtId"`
	OrigID        string    `json:"origId"`
	VersionDate   time.Time `json:"versionDate"`
	VersionNumber int64     `json:"versionNumber"`
	TransactionID string    `json:"transactionId"`
	Operation     string    `json:"operation"`
	ModifiedBy    string    `json:"modifiedBy"`
}

func (s *Server) handleNevisDispatchTargetHistory(w http.ResponseWriter, r *http.Request, c nevisCall) error {
	p, err := parseNevisPage(r, "clientExtId")
	if err != nil {
		return err
	}
	rows, more, err := s.db.DispatchTargetHistory(c.ClientExtID, p.After, p.Limit)
	if err != nil {
		return err
	}
	out := make([]nevisDispatchTargetVersionJSON, len(rows))
	var last uint64
	for i, v := range rows {
		out[i] = nevisDispatchTargetVersionJSON{
			nevisDispatchTargetJSON: nevisDispatchTargetFromView(v.Target),
			UserExtID:               v.Target.UserExtID,
			// The target's identity across its versions: extIds are
			// unique per user only, and the user's id is fixed for life.
			OrigID:      v.Target.UserID + "/" + v.Target.ExtID,
			VersionDate: nevisTime(v.VersionDate), VersionNumber: v.VersionNumber,
			TransactionID: v.TransactionID, Operation: v.Operation, ModifiedBy: v.ModifiedBy,
		}
		last = v.Sequence
	}
	writeNevisList(w, out, p, more, last)
	return nil
}
