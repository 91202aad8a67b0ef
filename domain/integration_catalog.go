package domain

import "slices"

// The integrations catalog is static: which systems Portcullis can connect
// to, and what a connection to each needs. It is code, not data in the log,
// because it changes only with the code that speaks to those systems.

// IntegrationCategory groups applications in the catalog.
type IntegrationCategory struct {
	ID          string
	Name        string
	Description string
}

// Connection field types: what a value of a connection form must be.
const (
	FieldString     = "string"      // free text
	FieldURL        = "url"         // an http(s) URL
	FieldSecret     = "secret"      // text that is sealed before it enters the log and never shown again
	FieldEnum       = "enum"        // one of Enum
	FieldStringList = "string_list" // an array of strings
	FieldBoolean    = "boolean"
	FieldInteger    = "integer" // a whole number within Min…Max
)

// ConnectionField is one input of an application's connection form.
type ConnectionField struct {
	Name        string
	Type        string
	Title       string
	Description string
	Required    bool
	Enum        []string // FieldEnum: the allowed values
	Default     string   // shown to forms; applied when the field is absent
	MaxLength   int      // FieldString, FieldSecret: at most this many characters (0 = 200)
	Min, Max    int64    // FieldInteger bounds
	MaxItems    int      // FieldStringList: at most this many items (0 = 100)
}

// IntegrationApplication is one connectable system.
type IntegrationApplication struct {
	ID          string
	Name        string
	CategoryID  string
	Vendor      string
	Description string
	Fields      []ConnectionField
}

// Application ids of the catalog. They are stable: connections name them.
const (
	AppPortierXML      = "portier-xml"
	AppPortierVision5  = "portier-vision-5"
	AppEntraIDSAML     = "entra-id-sso-saml"
	AppEntraIDSCIM     = "entra-id-scim"
	AppSaltoProAccess  = "salto-proaccess"
	AppWebhook         = "webhook"
	WebhookSecretField = "signing_secret"
)

// IntegrationCategories lists the catalog's categories. A function rather
// than a package variable so that no caller can change the catalog.
func IntegrationCategories() []IntegrationCategory {
	return []IntegrationCategory{
		{ID: "master-key-systems", Name: "Master key systems",
			Description: "Import mechanical master key systems: keys, cylinders and the locking plan."},
		{ID: "identity-providers", Name: "Identity providers",
			Description: "Single sign-on and directory synchronisation of individuals."},
		{ID: "access-control-systems", Name: "Access control systems",
			Description: "Electronic locks and readers that enforce who may open which door."},
		{ID: "developer-tools", Name: "Developer tools",
			Description: "Send every change to your own systems as it happens."},
	}
}

// IntegrationApplications lists the catalog's applications in display order.
func IntegrationApplications() []IntegrationApplication {
	return []IntegrationApplication{
		{ID: AppPortierXML, Name: "portier XML", CategoryID: "master-key-systems", Vendor: "portier",
			Description: "Import a master key system from a portier XML export.",
			Fields: []ConnectionField{
				{Name: "locking_system_name", Type: FieldString, Title: "Locking system", Required: true,
					Description: "Name of the locking system the import creates or updates."},
				{Name: "import_mode", Type: FieldEnum, Title: "Import mode", Enum: []string{"full", "incremental"}, Default: "full",
					Description: "full replaces the locking plan; incremental adds and changes only."},
			}},
		{ID: AppPortierVision5, Name: "portier Vision 5", CategoryID: "master-key-systems", Vendor: "portier",
			Description: "Synchronise a master key system with a portier Vision 5 server.",
			Fields: []ConnectionField{
				{Name: "server_url", Type: FieldURL, Title: "Server URL", Required: true,
					Description: "Base URL of the portier Vision 5 API."},
				{Name: "api_key", Type: FieldSecret, Title: "API key", Required: true, MaxLength: 512,
					Description: "API key of a Vision 5 user with read access to the locking plan."},
				{Name: "locking_system_name", Type: FieldString, Title: "Locking system", Required: true},
				{Name: "sync_interval_minutes", Type: FieldInteger, Title: "Sync interval (minutes)", Default: "60", Min: 5, Max: 1440},
			}},
		{ID: AppEntraIDSAML, Name: "Entra ID SSO SAML", CategoryID: "identity-providers", Vendor: "Microsoft",
			Description: "Sign in to Portcullis with Microsoft Entra ID over SAML 2.0.",
			Fields: []ConnectionField{
				{Name: "directory_tenant_id", Type: FieldString, Title: "Directory (tenant) ID", Required: true, MaxLength: 64},
				{Name: "metadata_url", Type: FieldURL, Title: "App federation metadata URL", Required: true},
				{Name: "entity_id", Type: FieldString, Title: "Identifier (Entity ID)", Required: true, MaxLength: 512},
				{Name: "allowed_domains", Type: FieldStringList, Title: "Allowed email domains",
					Description: "Only users of these domains may sign in; empty allows all."},
			}},
		{ID: AppEntraIDSCIM, Name: "Entra ID Directory Sync SCIM", CategoryID: "identity-providers", Vendor: "Microsoft",
			Description: "Provision and deprovision individuals from Microsoft Entra ID.",
			Fields: []ConnectionField{
				{Name: "directory_tenant_id", Type: FieldString, Title: "Directory (tenant) ID", Required: true, MaxLength: 64},
				{Name: "client_id", Type: FieldString, Title: "Application (client) ID", Required: true, MaxLength: 64},
				{Name: "client_secret", Type: FieldSecret, Title: "Client secret", Required: true, MaxLength: 512},
				{Name: "groups", Type: FieldStringList, Title: "Groups to synchronise",
					Description: "Entra ID group object ids; empty synchronises every assigned user."},
				{Name: "deprovision", Type: FieldBoolean, Title: "Deprovision", Default: "true",
					Description: "Deactivate individuals that leave the directory."},
			}},
		{ID: AppSaltoProAccess, Name: "Salto ProAccess", CategoryID: "access-control-systems", Vendor: "Salto",
			Description: "Push credentials and access rules to a Salto ProAccess SPACE server.",
			Fields: []ConnectionField{
				{Name: "server_url", Type: FieldURL, Title: "Server URL", Required: true},
				{Name: "username", Type: FieldString, Title: "Username", Required: true},
				{Name: "password", Type: FieldSecret, Title: "Password", Required: true, MaxLength: 512},
				{Name: "site_id", Type: FieldString, Title: "Site", MaxLength: 64},
			}},
		{ID: AppWebhook, Name: "Webhook", CategoryID: "developer-tools", Vendor: "Portcullis",
			Description: "Deliver events to an HTTP endpoint, signed per Standard Webhooks. " +
				"The signing secret is generated and shown once, in the connect response.",
			Fields: []ConnectionField{
				{Name: "url", Type: FieldURL, Title: "Endpoint URL", Required: true,
					Description: "Receives a POST per event. Must not resolve to a loopback, private or link-local address."},
				{Name: "event_types", Type: FieldStringList, Title: "Event types", Required: true,
					Description: "Event types to deliver: exact names, \"<prefix>.*\" for every type of a prefix, or \"*\" for all."},
				{Name: "description", Type: FieldString, Title: "Description", MaxLength: 500},
			}},
	}
}

// IntegrationApplicationByID returns one application of the catalog.
func IntegrationApplicationByID(id string) (IntegrationApplication, bool) {
	apps := IntegrationApplications()
	i := slices.IndexFunc(apps, func(a IntegrationApplication) bool { return a.ID == id })
	if i < 0 {
		return IntegrationApplication{}, false
	}
	return apps[i], true
}

// IntegrationCategoryByID returns one category of the catalog.
func IntegrationCategoryByID(id string) (IntegrationCategory, bool) {
	cats := IntegrationCategories()
	i := slices.IndexFunc(cats, func(c IntegrationCategory) bool { return c.ID == id })
	if i < 0 {
		return IntegrationCategory{}, false
	}
	return cats[i], true
}

// Field returns the application's field by name.
func (a IntegrationApplication) Field(name string) (ConnectionField, bool) {
	i := slices.IndexFunc(a.Fields, func(f ConnectionField) bool { return f.Name == name })
	if i < 0 {
		return ConnectionField{}, false
	}
	return a.Fields[i], true
}
