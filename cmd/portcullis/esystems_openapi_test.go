package main

import (
	"net/http"
	"testing"
)

// Every route of the eSystems face, with its successes and its refusals,
// answers as docs/openapi/esystems.yaml says.
func TestESystemsResponsesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	m := mustRunFresh(t)
	c := esBearer(t, m, "", "admin", esAllScopes...)
	s := newFaceSpecChecker(t, m, "esystems.yaml", esPath)
	s.c = c
	reader := esBearer(t, m, "", "admin", "AccessUser:Read")
	anon := as(m.c, "")
	anon.bearer = "not-a-token"

	// Referenced records.
	r := s.do(nil, "POST", "/AccessRole", esRecordBody("Bob Normal", "role-normal"))
	requireStatus(t, r, http.StatusCreated)
	role := decode[esRecord](t, r)
	r = s.do(nil, "POST", "/Permission", map[string]any{"Name": "Door 12", "ExternalId": "door-12", "Description": "North"})
	requireStatus(t, r, http.StatusCreated)
	perm := decode[esRecord](t, r)
	s.do(nil, "POST", "/Permission", esRecordBody("Door 12 again", "DOOR-12"))
	s.do(nil, "POST", "/AccessRole", map[string]any{"Name": ""})
	s.do(reader, "POST", "/AccessRole", esRecordBody("x", ""))
	s.do(anon, "POST", "/AccessRole", esRecordBody("x", ""))
	tok := r.header.Get("X-Consistency-Token")
	requireStatus(t, s.do(nil, "GET", "/AccessRoles?Orders=Name%20DESC", nil, "X-Consistency-Token", tok), http.StatusOK)
	requireStatus(t, s.do(reader, "GET", "/Permissions?Fields=Id,Name&PageSize=1", nil, "X-Consistency-Token", tok), http.StatusOK)
	s.do(nil, "GET", "/Permissions?PageSize=0", nil)
	s.do(anon, "GET", "/Permissions", nil)
	requireStatus(t, s.do(nil, "GET", "/AccessRole/"+role.ID, nil, "X-Consistency-Token", tok), http.StatusOK)
	requireStatus(t, s.do(nil, "GET", "/Permission/door-12?Name=ExternalId", nil, "X-Consistency-Token", tok), http.StatusOK)
	s.do(nil, "GET", "/Permission/nothing?Name=ExternalId", nil)
	s.do(nil, "GET", "/AccessRole/"+role.ID+"?Name=Color", nil)

	// Access groups.
	r = s.do(nil, "POST", "/AccessGroup", esRecordBody("Main entrance", "grp-main"))
	requireStatus(t, r, http.StatusCreated)
	group := decode[esRecord](t, r)
	s.do(nil, "POST", "/AccessGroup", esRecordBody("Main entrance", "grp-main"))
	s.do(nil, "POST", "/AccessGroup", `{"Name":`)
	s.do(reader, "POST", "/AccessGroup", esRecordBody("x", ""))
	s.do(anon, "POST", "/AccessGroup", esRecordBody("x", ""))
	requireStatus(t, s.do(nil, "PATCH", "/AccessGroup", map[string]any{"Name": "Side door", "ExternalId": "grp-side"}), http.StatusCreated)
	requireStatus(t, s.do(nil, "PATCH", "/AccessGroup?Name=ExternalId", map[string]any{"ExternalId": "grp-side", "Description": "East"}), http.StatusOK)
	s.do(nil, "PATCH", "/AccessGroup", map[string]any{"Id": "nothing", "Name": "x"})
	s.do(nil, "PATCH", "/AccessGroup", map[string]any{"Description": "x"})
	r = s.do(nil, "PUT", "/AccessGroup/"+group.ID, map[string]any{"Description": "Front"})
	requireStatus(t, r, http.StatusOK)
	etag, tok := r.header.Get("ETag"), r.header.Get("X-Consistency-Token")
	s.do(nil, "PUT", "/AccessGroup/"+group.ID, map[string]any{"Description": "x"}, "If-Match", `"1"`)
	s.do(nil, "PUT", "/AccessGroup/"+group.ID, map[string]any{"ExternalId": "grp-side"})
	s.do(nil, "PUT", "/AccessGroup/nothing", map[string]any{"Description": "x"})
	requireStatus(t, s.do(nil, "GET", "/AccessGroup/grp-main?Name=ExternalId", nil, "X-Consistency-Token", tok), http.StatusOK)
	requireStatus(t, s.do(nil, "GET", "/AccessGroup/"+esB64("Main entrance")+"?Name=Name", nil, "X-Consistency-Token", tok), http.StatusOK)
	requireStatus(t, s.do(nil, "GET", "/AccessGroups?Filters=Name%20Like%20Main%25&Orders=CreatedOn", nil, "X-Consistency-Token", tok), http.StatusOK)
	s.do(nil, "GET", "/AccessGroups?Filters=Name%20%3D", nil)
	s.do(nil, "GET", "/AccessGroup/nothing", nil)
	s.do(reader, "DELETE", "/AccessGroup/"+group.ID, nil)

	// A group's permission records.
	gp := "/AccessGroup/" + group.ID
	r = s.do(nil, "POST", gp+"/Permission", map[string]any{"AccessRoleId": map[string]any{"Field": "ExternalId", "Value": "role-normal"},
		"PermissionId": perm.ID}, "If-Match", etag)
	requireStatus(t, r, http.StatusCreated)
	requireStatus(t, s.do(nil, "POST", gp+"/Permission", map[string]any{"AccessRoleId": role.ID, "PermissionId": perm.ID, "Is_Active": false}), http.StatusOK)
	s.do(nil, "POST", gp+"/Permission", map[string]any{"AccessRoleId": role.ID})
	s.do(nil, "POST", gp+"/Permission", map[string]any{"AccessRoleId": role.ID, "PermissionId": "nothing"})
	s.do(nil, "POST", gp+"/Permission", map[string]any{"AccessRoleId": role.ID, "PermissionId": perm.ID}, "If-Match", etag)
	r = s.do(nil, "PATCH", gp+"/Permissions?DeleteNotExists=true", []any{
		map[string]any{"AccessRoleId": role.ID, "PermissionId": map[string]any{"Field": "Name", "Value": "Door 12"}, "Is_Active": true}})
	requireStatus(t, r, http.StatusOK)
	tok = r.header.Get("X-Consistency-Token")
	s.do(nil, "PATCH", gp+"/Permissions", map[string]any{})
	s.do(reader, "PATCH", gp+"/Permissions", []any{})
	requireStatus(t, s.do(nil, "GET", gp+"/Permissions?Filters=AccessRoleId.Name%20%3D%20%27Bob%20Normal%27", nil, "X-Consistency-Token", tok), http.StatusOK)
	requireStatus(t, s.do(nil, "GET", gp+"/Permissions?Fields=Id,PermissionId.Name", nil, "X-Consistency-Token", tok), http.StatusOK)
	s.do(nil, "GET", gp+"/Permissions?Orders=Color", nil)
	s.do(nil, "DELETE", gp+"/Permission/abc", nil)
	s.do(nil, "DELETE", gp+"/Permission/9", nil)
	s.do(reader, "DELETE", gp+"/Permission/1", nil)
	s.do(anon, "DELETE", gp+"/Permission/1", nil)
	s.do(nil, "DELETE", gp+"/Permission/1", nil, "If-Match", `"1"`)
	requireStatus(t, s.do(nil, "DELETE", gp+"/Permission/1", nil), http.StatusOK)
	requireStatus(t, s.do(nil, "DELETE", "/AccessGroup/grp-main?Name=ExternalId", nil), http.StatusOK)
	s.do(nil, "DELETE", "/AccessGroup/grp-main?Name=ExternalId", nil)

	for _, want := range []string{
		"DELETE /AccessGroup/{Id}/Permission/{SubId} 200", "DELETE /AccessGroup/{Id}/Permission/{SubId} 400",
		"DELETE /AccessGroup/{Id}/Permission/{SubId} 401", "DELETE /AccessGroup/{Id}/Permission/{SubId} 403",
		"DELETE /AccessGroup/{Id}/Permission/{SubId} 404", "DELETE /AccessGroup/{Id}/Permission/{SubId} 412",
		"PATCH /AccessGroup/{Id}/Permissions 200", "POST /AccessGroup/{Id}/Permission 201", "GET /AccessGroups 200",
	} {
		if !s.seen[want] {
			t.Errorf("not exercised: %s", want)
		}
	}
}
