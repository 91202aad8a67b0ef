package http

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

// A nevisIDM user is the native individual: userExtId is the individual's
// ext_id, and both faces read and change the same record. The mapping:
//
//	extId               ext_id (fixed for life)
//	loginId             login_id (optional, unique per tenant ignoring case)
//	name.firstName      first_name
//	name.familyName     last_name
//	contacts.email      email (unique per tenant)
//	contacts.mobile     mobile_phone
//	userState           status: active ↔ active, disabled ↔ inactive, locked ↔ suspended
//
// The native department has no nevisIDM field and is left alone here.

func (s *Server) registerNevisUserRoutes(r *mux.Router) {
	r.HandleFunc("/{clientExtId}/users", s.nevis([]string{rightUserCreate}, s.handleNevisUserCreate)).Methods("POST")
	r.HandleFunc("/{clientExtId}/users/{userExtId}", s.nevis([]string{rightUserView}, s.handleNevisUserView)).Methods("GET")
	r.HandleFunc("/{clientExtId}/users/{userExtId}", s.nevis([]string{rightUserModify}, s.handleNevisUserUpdate)).Methods("PATCH")
	r.HandleFunc("/{clientExtId}/users/{userExtId}", s.nevis([]string{rightUserDelete}, s.handleNevisUserDelete)).Methods("DELETE")
}

// userStates maps nevisIDM's userState to the individual's status.
var userStates = map[string]string{
	"active":   domain.IndividualActive,
	"disabled": domain.IndividualInactive,
	"locked":   domain.IndividualSuspended,
}

// userStateNames lists the userStates, for messages and docs.
var userStateNames = []string{"active", "disabled", "locked"}

func userStateOf(status string) string {
	for k, v := range userStates {
		if v == status {
			return k
		}
	}
	return status
}

// parseUserState reads a userState, ignoring case as nevisIDM's enums do.
func parseUserState(v string) (string, error) {
	st, ok := userStates[strings.ToLower(strings.TrimSpace(v))]
	if !ok {
		return "", nevisInvalid("userState", "must be one of %s", strings.Join(userStateNames, ", "))
	}
	return st, nil
}

type nevisUserJSON struct {
	ExtID     string            `json:"extId"`
	LoginID   *string           `json:"loginId"`
	Name      nevisNameJSON     `json:"name"`
	Contacts  nevisContactsJSON `json:"contacts"`
	UserState string            `json:"userState"`
}

type nevisNameJSON struct {
	FirstName  string `json:"firstName"`
	FamilyName string `json:"familyName"`
}

type nevisContactsJSON struct {
	Email  *string `json:"email"`
	Mobile *string `json:"mobile"`
}

func nevisUserFromView(v projections.Individual) nevisUserJSON {
	return nevisUserJSON{ExtID: v.ExtID, LoginID: nullable(v.LoginID),
		Name:      nevisNameJSON{FirstName: v.FirstName, FamilyName: v.LastName},
		Contacts:  nevisContactsJSON{Email: nullable(v.Email), Mobile: nullable(v.MobilePhone)},
		UserState: userStateOf(v.Status)}
}

func nevisUserFromState(i domain.Individual) nevisUserJSON {
	return nevisUserJSON{ExtID: i.ExtID, LoginID: nullable(i.LoginID),
		Name:      nevisNameJSON{FirstName: i.FirstName, FamilyName: i.LastName},
		Contacts:  nevisContactsJSON{Email: nullable(i.Email), Mobile: nullable(i.MobilePhone)},
		UserState: userStateOf(i.Status)}
}

// nevisUserFields maps the individual's fields, as its decisions name them,
// to the nevisIDM user's.
var nevisUserFields = map[string]string{
	"ext_id": "extId", "login_id": "loginId", "first_name": "name.firstName", "last_name": "name.familyName",
	"email": "contacts.email", "mobile_phone": "contacts.mobile", "status": "userState",
}

// nevisUserError speaks an individual's decision errors in nevisIDM's
// words: its field names and, where nevisIDM has one, its finer code.
func nevisUserError(err error) error {
	var e *domain.Error
	if !errors.As(err, &e) || e.Detail != "" || e.Field == "" {
		return err
	}
	field, ok := nevisUserFields[e.Field]
	if !ok {
		return err
	}
	out := &domain.Error{Code: e.Code, Field: field, Message: field + ": " + e.Message}
	switch {
	case e.Code == domain.CodeInvalid && field == "name.firstName" && strings.Contains(e.Message, "required"):
		out.Detail = nevisErrUserFirstNameNull
	case e.Code == domain.CodeInvalid && field == "name.familyName" && strings.Contains(e.Message, "required"):
		out.Detail = nevisErrUserNameNull
	case e.Code == domain.CodeInvalid && field == "contacts.email":
		out.Detail = nevisErrUserEmailFormat
	case e.Code == domain.CodeInvalid:
		out.Detail = domain.NevisErrInvalidParameter
	case e.Code == domain.CodeConflict && field == "contacts.email":
		out.Detail = nevisErrDuplicateEmail
	case e.Code == domain.CodeConflict:
		out.Detail = domain.NevisErrDuplicateValue
	default:
		return err
	}
	return out
}

var nevisUserBodyFields = []string{"extId", "loginId", "name", "contacts", "userState"}

func (s *Server) handleNevisUserCreate(w http.ResponseWriter, r *http.Request, c nevisCall) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := nevisBody(r, nevisUserBodyFields...)
	if err != nil {
		return err
	}
	var in domain.IndividualFields
	if in.ExtID, _, err = nevisStr(obj, "", "extId", true); err != nil {
		return err
	}
	if in.LoginID, _, err = nevisStr(obj, "", "loginId", true); err != nil {
		return err
	}
	name, ok, err := nested(obj, "name", "firstName", "familyName")
	if err != nil {
		return err
	}
	if !ok {
		return &domain.Error{Code: domain.CodeInvalid, Field: "name", Detail: nevisErrUserNameNull,
			Message: "Mandatory parameter 'name' is missing"}
	}
	if in.FirstName, _, err = nevisStr(name, "name.", "firstName", false); err != nil {
		return err
	}
	if in.LastName, _, err = nevisStr(name, "name.", "familyName", false); err != nil {
		return err
	}
	contacts, _, err := nested(obj, "contacts", "email", "mobile")
	if err != nil {
		return err
	}
	if contacts != nil {
		if in.Email, _, err = nevisStr(contacts, "contacts.", "email", true); err != nil {
			return err
		}
		if in.MobilePhone, _, err = nevisStr(contacts, "contacts.", "mobile", true); err != nil {
			return err
		}
	}
	if st, present, err := nevisStr(obj, "", "userState", false); err != nil {
		return err
	} else if present {
		if in.Status, err = parseUserState(st); err != nil {
			return err
		}
	}
	res, err := s.cmd.CreateIndividual(r.Context(), m, in)
	if err != nil {
		return nevisUserError(err)
	}
	w.Header().Set("Location", nevisBase+"/"+c.ClientExtID+"/users/"+res.Individual.ExtID)
	nevisVersionHeaders(w, res.Version, res.Position)
	writeJSON(w, http.StatusCreated, nevisUserFromState(res.Individual))
	return nil
}

func (s *Server) handleNevisUserView(w http.ResponseWriter, r *http.Request, c nevisCall) error {
	userExtID := nevisPathVar(r, "userExtId")
	v, ok, err := s.db.IndividualByExtID(c.ClientExtID, userExtID)
	if err != nil {
		return err
	}
	if !ok {
		return c.userNotFound(userExtID)
	}
	w.Header().Set("ETag", etag(v.Version))
	writeJSON(w, http.StatusOK, nevisUserFromView(v))
	return nil
}

func (s *Server) handleNevisUserUpdate(w http.ResponseWriter, r *http.Request, c nevisCall) error {
	userExtID := nevisPathVar(r, "userExtId")
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := nevisBody(r, nevisUserBodyFields...)
	if err != nil {
		return err
	}
	if v, present, err := nevisStr(obj, "", "extId", true); err != nil {
		return err
	} else if present && v != userExtID {
		return &domain.Error{Code: domain.CodeInvalid, Field: "extId", Detail: nevisErrModifyExtID,
			Message: "The extId of a user cannot be changed"}
	}
	var p domain.IndividualPatch
	if p.LoginID, err = nevisStrPtr(obj, "", "loginId", true); err != nil {
		return err
	}
	if name, _, err := nested(obj, "name", "firstName", "familyName"); err != nil {
		return err
	} else if name != nil {
		if p.FirstName, err = nevisStrPtr(name, "name.", "firstName", false); err != nil {
			return err
		}
		if p.LastName, err = nevisStrPtr(name, "name.", "familyName", false); err != nil {
			return err
		}
	}
	if contacts, _, err := nested(obj, "contacts", "email", "mobile"); err != nil {
		return err
	} else if contacts != nil {
		if p.Email, err = nevisStrPtr(contacts, "contacts.", "email", true); err != nil {
			return err
		}
		if p.MobilePhone, err = nevisStrPtr(contacts, "contacts.", "mobile", true); err != nil {
			return err
		}
	}
	if st, err := nevisStrPtr(obj, "", "userState", false); err != nil {
		return err
	} else if st != nil {
		status, err := parseUserState(*st)
		if err != nil {
			return err
		}
		p.Status = &status
	}
	id, err := s.cmd.ResolveUser(r.Context(), c.ClientExtID, userExtID)
	if err != nil {
		return c.complete(err, userExtID)
	}
	res, err := s.cmd.UpdateIndividual(r.Context(), m, id, p)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return c.userNotFound(userExtID) // deleted since it was resolved
	}
	if err != nil {
		return nevisUserError(err)
	}
	nevisVersionHeaders(w, res.Version, res.Position)
	writeJSON(w, http.StatusOK, nevisUserFromState(res.Individual))
	return nil
}

func (s *Server) handleNevisUserDelete(w http.ResponseWriter, r *http.Request, c nevisCall) error {
	userExtID := nevisPathVar(r, "userExtId")
	m, err := meta(r)
	if err != nil {
		return err
	}
	id, err := s.cmd.ResolveUser(r.Context(), c.ClientExtID, userExtID)
	if err != nil {
		return c.complete(err, userExtID)
	}
	res, err := s.cmd.DeleteIndividual(r.Context(), m, id)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return c.userNotFound(userExtID)
	}
	if domain.ErrorCode(err) == domain.CodeConflict && domain.ErrorField(err) == "credentials" {
		// The person still holds access credentials: nevisIDM's word for a
		// record that other records depend on.
		return &domain.Error{Code: domain.CodeConflict, Detail: nevisErrUndeletedDependencies,
			Message: "The user with extId '" + userExtID + "' cannot be deleted: " + domain.ErrorMessage(err)}
	}
	if err != nil {
		return err
	}
	nevisVersionHeaders(w, 0, res.Position)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
