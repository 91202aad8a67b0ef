package commands

import (
	"context"
)

// unlinkFromAccessPoints decides, for a credential that is going away, the
// end of its links on the side of each access point it opened.
func (c *Commands) unlinkFromAccessPoints(ctx context.Context, tenant, credentialID string, accessPointIDs []string) ([]change, error) {
	return nil, nil
}
