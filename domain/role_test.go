package domain_test

import (
	"testing"

	"github.com/portcullis/portcullis/domain"
)

func TestBuiltinRoles(t *testing.T) {
	perms := func(role string) []string {
		p, ok := domain.BuiltinRole(role)
		if !ok {
			t.Fatalf("no built-in role %q", role)
		}
		return p
	}
	for _, c := range []struct {
		role string
		perm string
		want bool
	}{
		{"admin", "service-users:write", true},
		{"admin", "AccessControl.DispatchTargetDelete", true},
		{"admin", "AccessManager:Delete", true},
		{"operator", "individuals:write", true},
		{"operator", "access-credentials:delete", true},
		{"operator", "service-users:write", false},
		{"operator", "roles:write", false},
		{"operator", "audit-logs:read", true},
		{"operator", "AccessControl.CredentialDelete", true},
		{"auditor", "audit-logs:read", true},
		{"auditor", "individuals:read", true},
		{"auditor", "individuals:write", false},
		{"auditor", "AccessControl.HistoryView", true},
		{"auditor", "AccessControl.DispatchTargetDelete", false},
		{"auditor", "AccessUser:Read", true},
		{"auditor", "AccessUser:Delete", false},
		{"viewer", "spaces:read", true},
		{"viewer", "audit-logs:read", false},
		{"viewer", "AccessControl.HistoryView", false},
		{"viewer", "AccessControl.UserView", true},
		{"viewer", "AccessManager:Read", true},
	} {
		if got := domain.Can(perms(c.role), c.perm); got != c.want {
			t.Errorf("%s can %s = %v, want %v", c.role, c.perm, got, c.want)
		}
	}
	if _, ok := domain.BuiltinRole("root"); ok {
		t.Error("an unknown role name resolved")
	}
}

func TestCanAnyOf(t *testing.T) {
	p, _ := domain.BuiltinRole(domain.RoleOperator)
	if !domain.Can(p, "AccessControl.CredentialDelete", "AccessControl.DispatchTargetDelete") {
		t.Fatal("either right should suffice")
	}
	if domain.Can(nil, "individuals:read") {
		t.Fatal("no permissions allowed something")
	}
}

func TestValidPermission(t *testing.T) {
	for p, want := range map[string]bool{
		"individuals:read": true, "individuals:admin": false, "doors:read": false,
		"AccessControl.HistoryView": true, "AccessControl.Everything": false,
		"AccessManager:Import": true, "AccessManager:Purge": false, "": false,
	} {
		if got := domain.ValidPermission(p); got != want {
			t.Errorf("ValidPermission(%q) = %v, want %v", p, got, want)
		}
	}
	for _, role := range []string{"admin", "operator", "auditor", "viewer"} {
		perms, _ := domain.BuiltinRole(role)
		for _, p := range perms {
			if !domain.ValidPermission(p) {
				t.Errorf("built-in role %s holds invalid permission %q", role, p)
			}
		}
	}
}
