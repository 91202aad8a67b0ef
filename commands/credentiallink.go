package commands

import (
	"context"
	"errors"
	"slices"

	"github.com/portcullis/portcullis/domain"
)

// Links between access credentials and access points are recorded on both
// sides, the credential's access_credential.access_points_(un)linked and
// each access point's access_point.credentials_(un)linked, in one atomic
// append with an expectation on every aggregate: whichever route a client
// takes, both views agree, and a link cannot land on a credential or an
// access point that was deleted meanwhile.

// LinkAccessPoints links the credential id to access points (the
// credential's route). If-Match applies to the credential. An unknown
// access point is NOT_FOUND naming access_point_ids; ones already linked
// are left alone.
func (c *Commands) LinkAccessPoints(ctx context.Context, meta Meta, id string, accessPointIDs []string) (Placed[domain.Credential], error) {
	return c.linkFromCredential(ctx, meta, id, accessPointIDs, true)
}

// UnlinkAccessPoints ends links of the credential id. An access point that
// is not linked to it is BAD_REQUEST naming access_point_ids.
func (c *Commands) UnlinkAccessPoints(ctx context.Context, meta Meta, id string, accessPointIDs []string) (Placed[domain.Credential], error) {
	return c.linkFromCredential(ctx, meta, id, accessPointIDs, false)
}

// LinkCredentials links access credentials to the access point id (the
// access point's route). If-Match applies to the access point. An unknown
// credential is NOT_FOUND naming credential_ids.
func (c *Commands) LinkCredentials(ctx context.Context, meta Meta, id string, credentialIDs []string) (Placed[domain.AccessPoint], error) {
	return c.linkFromAccessPoint(ctx, meta, id, credentialIDs, true)
}

// UnlinkCredentials ends links of the access point id. A credential that is
// not linked to it is BAD_REQUEST naming credential_ids.
func (c *Commands) UnlinkCredentials(ctx context.Context, meta Meta, id string, credentialIDs []string) (Placed[domain.AccessPoint], error) {
	return c.linkFromAccessPoint(ctx, meta, id, credentialIDs, false)
}

func (c *Commands) linkFromCredential(ctx context.Context, meta Meta, id string, apIDs []string, link bool) (Placed[domain.Credential], error) {
	apIDs, err := checkLinkBatch("access_point_ids", apIDs)
	if err != nil {
		return Placed[domain.Credential]{}, err
	}
	ref := credentialRef(id)
	return decidePlace(ctx, c, meta, ref, ref, "access credential", true,
		func(ctx context.Context, s snap[domain.Credential]) ([]domain.EventData, []change, error) {
			var data []domain.EventData
			var err error
			if link {
				data, err = s.State.LinkAccessPoints(apIDs)
			} else {
				data, err = s.State.UnlinkAccessPoints(apIDs)
			}
			if err != nil || len(data) == 0 {
				return nil, nil, err
			}
			var others []change
			for _, apID := range apIDs {
				ap, err := loadParent[domain.AccessPoint](ctx, c, meta.Tenant, accessPointRef(apID))
				if err != nil {
					return nil, nil, err
				}
				if !ap.State.Exists() {
					return nil, nil, &domain.Error{Code: domain.CodeNotFound, Field: "access_point_ids", Message: "access point " + apID + " not found"}
				}
				var apData []domain.EventData
				if link {
					apData, err = ap.State.LinkCredentials([]string{id})
				} else {
					apData, err = ap.State.UnlinkCredentials([]string{id})
				}
				if err != nil {
					return nil, nil, err
				}
				if len(apData) > 0 {
					others = append(others, decide(c, meta.Tenant, accessPointRef(apID), ap, apData, nil))
				}
			}
			return data, others, nil
		})
}

func (c *Commands) linkFromAccessPoint(ctx context.Context, meta Meta, id string, credIDs []string, link bool) (Placed[domain.AccessPoint], error) {
	credIDs, err := checkLinkBatch("credential_ids", credIDs)
	if err != nil {
		return Placed[domain.AccessPoint]{}, err
	}
	ref := accessPointRef(id)
	return decidePlace(ctx, c, meta, ref, ref, "access point", true,
		func(ctx context.Context, s snap[domain.AccessPoint]) ([]domain.EventData, []change, error) {
			var others []change
			for _, credID := range credIDs {
				cr, err := loadParent[domain.Credential](ctx, c, meta.Tenant, credentialRef(credID))
				if err != nil {
					return nil, nil, err
				}
				if !cr.State.Exists() {
					return nil, nil, &domain.Error{Code: domain.CodeNotFound, Field: "credential_ids", Message: "access credential " + credID + " not found"}
				}
				var crData []domain.EventData
				if link {
					crData, err = cr.State.LinkAccessPoints([]string{id})
				} else {
					crData, err = cr.State.UnlinkAccessPoints([]string{id})
				}
				if err != nil {
					return nil, nil, renameField(err, "access_point_ids", "credential_ids")
				}
				if len(crData) > 0 {
					others = append(others, decide(c, meta.Tenant, credentialRef(credID), cr, crData, nil))
				}
			}
			var data []domain.EventData
			var err error
			if link {
				data, err = s.State.LinkCredentials(credIDs)
			} else {
				data, err = s.State.UnlinkCredentials(credIDs)
			}
			return data, others, err
		})
}

// unlinkFromAccessPoints decides, for a credential that is going away, the
// end of its links on the side of each access point it opened.
func (c *Commands) unlinkFromAccessPoints(ctx context.Context, tenant, credentialID string, accessPointIDs []string) ([]change, error) {
	var changes []change
	for _, apID := range accessPointIDs {
		ap, err := load[domain.AccessPoint](ctx, c, tenant, accessPointRef(apID))
		if err != nil {
			return nil, err
		}
		if !ap.State.Exists() || !ap.State.Credentials.Has(credentialID) {
			continue
		}
		data, err := ap.State.UnlinkCredentials([]string{credentialID})
		if err != nil {
			return nil, err
		}
		changes = append(changes, decide(c, tenant, accessPointRef(apID), ap, data, nil))
	}
	return changes, nil
}

// checkLinkBatch refuses an empty, oversized or malformed list of ids and
// returns it without repeats: each aggregate gets one change per append.
func checkLinkBatch(field string, ids []string) ([]string, error) {
	if len(ids) == 0 || len(ids) > domain.MaxCredentialBatch {
		return nil, domain.Invalid(field, "must name 1 to %d ids", domain.MaxCredentialBatch)
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !domain.ValidToken(id) {
			return nil, domain.Invalid(field, "%q is not a valid id", id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// renameField reports a decision's bad-input error against the field the
// request named: the same fact reads "access_point_ids" on one route and
// "credential_ids" on the other.
func renameField(err error, from, to string) error {
	var e *domain.Error
	if errors.As(err, &e) && e.Field == from {
		out := *e
		out.Field = to
		return &out
	}
	return err
}
