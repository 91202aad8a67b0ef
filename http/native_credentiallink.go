package http

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
)

// Links between access credentials and access points, from either side.
// Both routes append both sides' events in one atomic batch (see
// commands/credentiallink.go), so the credential's linked_to and the access
// point's credential_ids always agree. Unlinking is DELETE with a body
// naming what to unlink; linking what is linked changes nothing, unlinking
// what is not linked is 400 naming the list.

func (s *Server) registerCredentialLinkRoutes(r *mux.Router) {
	r.HandleFunc("/access-credentials/{id}/access-points", s.native("access-credentials:write", s.handleCredentialLink)).Methods("POST")
	r.HandleFunc("/access-credentials/{id}/access-points", s.native("access-credentials:write", s.handleCredentialUnlink)).Methods("DELETE")
	r.HandleFunc("/access-points/{id}/access-credentials", s.native("access-points:write", s.handleAccessPointLink)).Methods("POST")
	r.HandleFunc("/access-points/{id}/access-credentials", s.native("access-points:write", s.handleAccessPointUnlink)).Methods("DELETE")
}

// linkBody reads {"<field>":[…]} of a link or unlink request.
func linkBody(r *http.Request, field string) ([]string, error) {
	obj, err := decodeObject(r)
	if err != nil {
		return nil, err
	}
	if err := obj.only(field); err != nil {
		return nil, err
	}
	return obj.ids(field, domain.MaxCredentialBatch)
}

func (s *Server) handleCredentialLink(w http.ResponseWriter, r *http.Request) error {
	return s.credentialLink(w, r, true)
}

func (s *Server) handleCredentialUnlink(w http.ResponseWriter, r *http.Request) error {
	return s.credentialLink(w, r, false)
}

func (s *Server) credentialLink(w http.ResponseWriter, r *http.Request, link bool) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	ids, err := linkBody(r, "access_point_ids")
	if err != nil {
		return err
	}
	cmd, msg := s.cmd.LinkAccessPoints, "access points linked to the access credential"
	if !link {
		cmd, msg = s.cmd.UnlinkAccessPoints, "access points unlinked from the access credential"
	}
	res, err := cmd(r.Context(), m, id, ids)
	if err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, msg, res.Result, credentialFromState(res.Record))
	return nil
}

func (s *Server) handleAccessPointLink(w http.ResponseWriter, r *http.Request) error {
	return s.accessPointLink(w, r, true)
}

func (s *Server) handleAccessPointUnlink(w http.ResponseWriter, r *http.Request) error {
	return s.accessPointLink(w, r, false)
}

func (s *Server) accessPointLink(w http.ResponseWriter, r *http.Request, link bool) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	ids, err := linkBody(r, "credential_ids")
	if err != nil {
		return err
	}
	cmd, msg := s.cmd.LinkCredentials, "access credentials linked to the access point"
	if !link {
		cmd, msg = s.cmd.UnlinkCredentials, "access credentials unlinked from the access point"
	}
	res, err := cmd(r.Context(), m, id, ids)
	if err != nil {
		return err
	}
	writeMutation(w, http.StatusOK, msg, res.Result, accessPointFromState(res.Record))
	return nil
}
