package domain

// The faces a mutation can come through. The audit log names the face so an
// auditor can tell a change made by an eSystems sync from one made in the
// native admin UI, even when the same service user made both.
const (
	FaceNative   = "native"   // /api/v1
	FaceNevisIDM = "nevisidm" // /nevisidm/api/core/v1
	FaceESystems = "esystems" // /Endpoint/rest/api/v1
	// FaceSystem is the process itself: bootstrap at first start, never a
	// request.
	FaceSystem = "system"
)

// Faces lists every face, for filters and documentation.
var Faces = []string{FaceNative, FaceNevisIDM, FaceESystems, FaceSystem}
