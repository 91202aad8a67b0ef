package http

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

func (s *Server) registerNevisFidoUafRoutes(r *mux.Router) {
	const list, one = "/{clientExtId}/users/{userExtId}/fido-uaf-credentials", "/{clientExtId}/users/{userExtId}/fido-uaf-credentials/{credentialExtId}"
	r.HandleFunc(list, s.nevis([]string{rightCredentialView}, s.handleNevisFidoUafList)).Methods("GET")
	r.HandleFunc(list, s.nevis([]string{rightCredentialCreate}, s.handleNevisFidoUafCreate)).Methods("POST")
	r.HandleFunc(one, s.nevis([]string{rightCredentialView}, s.handleNevisFidoUafView)).Methods("GET")
	r.HandleFunc(one, s.nevis([]string{rightCredentialDelete}, s.handleNevisFidoUafDelete)).Methods("DELETE")
}

type nevisFidoUafJSON struct {
	ExtID                string    `json:"extId"`
	AAID                 string    `json:"aaid"`
	KeyID                string    `json:"keyId"`
	AuthVersion          string    `json:"authVersion"`
	PublicKeyAlgorithm   string    `json:"publicKeyAlgorithm"`
	PublicKey            string    `json:"publicKey"`
	DispatchTargetExtIDs []string  `json:"dispatchTargetExtIds"`
	Created              time.Time `json:"created"`
	LastModified         time.Time `json:"lastModified"`
	Version              int64     `json:"version"`
}

func nevisFidoUaf(f domain.FidoUafCredentialFields, version int64, created, modified time.Time) nevisFidoUafJSON {
	ids := f.DispatchTargetExtIDs
	if ids == nil {
		ids = []string{}
	}
	return nevisFidoUafJSON{ExtID: f.ExtID, AAID: f.AAID, KeyID: f.KeyID, AuthVersion: f.AuthVersion,
		PublicKeyAlgorithm: f.PublicKeyAlgorithm, PublicKey: f.PublicKey, DispatchTargetExtIDs: ids,
		Created: nevisTime(created), LastModified: nevisTime(modified), Version: version}
}

func nevisFidoUafFromView(c projections.FidoUafCredential) nevisFidoUafJSON {
	return nevisFidoUaf(c.FidoUafCredentialFields, c.Version, c.Created, c.LastModified)
}

func (s *Server) handleNevisFidoUafList(w http.ResponseWriter, r *http.Request, c nevisCall) error {
	p, err := parseNevisPage(r)
	if err != nil {
		return err
	}
	user, err := s.nevisUserView(c, nevisPathVar(r, "userExtId"))
	if err != nil {
		return err
	}
	items, more, err := s.db.FidoUafCredentials(c.ClientExtID, user.ID, p.After, p.Limit)
	if err != nil {
		return err
	}
	out := make([]nevisFidoUafJSON, len(items))
	var last uint64
	for i, cred := range items {
		out[i] = nevisFidoUafFromView(cred)
		last = cred.CreatedSeq
	}
	writeNevisList(w, out, p, more, last)
	return nil
}

func (s *Server) handleNevisFidoUafView(w http.ResponseWriter, r *http.Request, c nevisCall) error {
	userExtID, extID := nevisPathVar(r, "userExtId"), nevisPathVar(r, "credentialExtId")
	user, err := s.nevisUserView(c, userExtID)
	if err != nil {
		return err
	}
	cred, ok, err := s.db.FidoUafCredential(c.ClientExtID, user.ID, extID)
	if err != nil {
		return err
	}
	if !ok {
		return c.complete(domain.FidoUafCredentialNotFound(extID), userExtID)
	}
	version, err := s.db.NevisUserVersion(c.ClientExtID, user.ID)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(version))
	writeJSON(w, http.StatusOK, nevisFidoUafFromView(cred))
	return nil
}

var nevisFidoUafBodyFields = []string{"extId", "aaid", "keyId", "authVersion", "publicKeyAlgorithm", "publicKey", "dispatchTargetExtIds"}

func (s *Server) handleNevisFidoUafCreate(w http.ResponseWriter, r *http.Request, c nevisCall) error {
	userExtID := nevisPathVar(r, "userExtId")
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := nevisBody(r, nevisFidoUafBodyFields...)
	if err != nil {
		return err
	}
	var in domain.FidoUafCredentialFields
	for _, f := range []struct {
		name     string
		dst      *string
		nullable bool
	}{
		{"extId", &in.ExtID, true}, {"aaid", &in.AAID, false}, {"keyId", &in.KeyID, false},
		{"authVersion", &in.AuthVersion, false}, {"publicKeyAlgorithm", &in.PublicKeyAlgorithm, false},
		{"publicKey", &in.PublicKey, false},
	} {
		if *f.dst, _, err = nevisStr(obj, "", f.name, f.nullable); err != nil {
			return err
		}
	}
	if in.DispatchTargetExtIDs, err = nevisStrings(obj, "dispatchTargetExtIds"); err != nil {
		return err
	}
	res, err := s.cmd.CreateFidoUafCredential(r.Context(), m, userExtID, in)
	if err != nil {
		return c.complete(err, userExtID)
	}
	cred := res.Credential
	w.Header().Set("Location", nevisBase+"/"+c.ClientExtID+"/users/"+userExtID+"/fido-uaf-credentials/"+cred.ExtID)
	nevisVersionHeaders(w, res.Version, res.Position)
	writeJSON(w, http.StatusCreated, nevisFidoUaf(cred.FidoUafCredentialFields, cred.Version, cred.Created, cred.LastModified))
	return nil
}

func (s *Server) handleNevisFidoUafDelete(w http.ResponseWriter, r *http.Request, c nevisCall) error {
	userExtID, extID := nevisPathVar(r, "userExtId"), nevisPathVar(r, "credentialExtId")
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.cmd.DeleteFidoUafCredential(r.Context(), m, userExtID, extID)
	if err != nil {
		return c.complete(err, userExtID)
	}
	nevisVersionHeaders(w, 0, res.Position)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
