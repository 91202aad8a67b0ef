package domain

import (
	"slices"
	"strings"
)

// A permission is one string in one of three families, so that each face
// checks the rights its clients know by name:
//   - native:   "<resource>:<read|write|delete>", e.g. "individuals:write"
//   - nevisIDM: "AccessControl.<Right>", e.g. "AccessControl.DispatchTargetDelete"
//   - eSystems: "<AccessManager|AccessUser>:<Scope>", e.g. "AccessManager:Delete"
//
// A role is a named set of them; every caller acts with exactly one role.

// NativeResources are the resources of the native face that permissions name.
var NativeResources = []string{
	"tenants", "individuals", "locations", "buildings", "spaces", "locking-systems", "access-points",
	"access-credentials", "access-rules", "access-decisions", "stats", "audit-logs", "integrations",
	"webhooks", "events", "settings", "service-users", "oauth-clients", "roles",
}

// NativeActions are what a native permission allows on its resource.
var NativeActions = []string{"read", "write", "delete"}

// NevisRights are the nevisIDM function rights, by their nevisIDM names.
var NevisRights = []string{
	"AccessControl.UserView", "AccessControl.UserCreate", "AccessControl.UserModify", "AccessControl.UserDelete",
	"AccessControl.CredentialView", "AccessControl.CredentialCreate", "AccessControl.CredentialModify",
	"AccessControl.CredentialDelete", "AccessControl.DispatchTargetView", "AccessControl.DispatchTargetCreate",
	"AccessControl.DispatchTargetModify", "AccessControl.DispatchTargetDelete", "AccessControl.HistoryView",
}

// ESystemsScopes are the eSystems OAuth scopes, by their eSystems names.
var ESystemsScopes = []string{
	"AccessManager:Read", "AccessManager:Create", "AccessManager:Update", "AccessManager:Delete", "AccessManager:Import",
	"AccessUser:Read", "AccessUser:Create", "AccessUser:Update", "AccessUser:Delete", "AccessUser:Import",
}

// Built-in role names. They cannot be redefined or deleted.
const (
	RoleAdmin    = "admin"
	RoleOperator = "operator"
	RoleAuditor  = "auditor"
	RoleViewer   = "viewer"
)

// ValidPermission reports whether p is a permission of one of the families.
func ValidPermission(p string) bool {
	if slices.Contains(NevisRights, p) || slices.Contains(ESystemsScopes, p) {
		return true
	}
	res, act, ok := strings.Cut(p, ":")
	return ok && slices.Contains(NativeResources, res) && slices.Contains(NativeActions, act)
}

// adminOnly are the resources whose writes manage who may do what; only
// admin holds them, so no other role can grant itself more.
var adminOnly = []string{"tenants", "service-users", "oauth-clients", "roles", "settings"}

// BuiltinRole returns the permissions of a built-in role, sorted.
func BuiltinRole(name string) ([]string, bool) {
	var out []string
	native := func(keep func(res, act string) bool) {
		for _, res := range NativeResources {
			for _, act := range NativeActions {
				if keep(res, act) {
					out = append(out, res+":"+act)
				}
			}
		}
	}
	views := func(p string) bool { return strings.HasSuffix(p, "View") || strings.HasSuffix(p, ":Read") }
	switch name {
	case RoleAdmin:
		native(func(string, string) bool { return true })
		out = append(append(out, NevisRights...), ESystemsScopes...)
	case RoleOperator:
		native(func(res, act string) bool {
			return !slices.Contains(adminOnly, res) && (res != "audit-logs" || act == "read")
		})
		out = append(append(out, NevisRights...), ESystemsScopes...)
	case RoleAuditor:
		native(func(res, act string) bool { return act == "read" && res != "tenants" })
		for _, p := range append(slices.Clone(NevisRights), ESystemsScopes...) {
			if views(p) {
				out = append(out, p)
			}
		}
	case RoleViewer:
		native(func(res, act string) bool {
			return act == "read" && res != "audit-logs" && !slices.Contains(adminOnly, res)
		})
		for _, p := range append(slices.Clone(NevisRights), ESystemsScopes...) {
			if views(p) && p != "AccessControl.HistoryView" {
				out = append(out, p)
			}
		}
	default:
		return nil, false
	}
	slices.Sort(out)
	return out, true
}

// Can reports whether a holder of perms may exercise any of wanted: the
// decision is a pure function of its inputs, so every face asks it the same
// way and a test can enumerate it.
func Can(perms []string, wanted ...string) bool {
	for _, w := range wanted {
		if _, found := slices.BinarySearch(perms, w); found {
			return true
		}
	}
	return false
}
