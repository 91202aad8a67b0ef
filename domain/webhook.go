package domain

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// internalEventPrefixes are the event types that are plumbing, not facts a
// downstream system can act on: claims of unique values (hashes of emails)
// and id allocations. They are never delivered to webhooks or the live feed.
var internalEventPrefixes = []string{"unique_value.", "id_sequence."}

// PublicEventType reports whether events of typ go to webhooks and the live
// feed.
func PublicEventType(typ string) bool {
	for _, p := range internalEventPrefixes {
		if strings.HasPrefix(typ, p) {
			return false
		}
	}
	return true
}

// ValidateWebhookEventTypes checks a webhook's event type filters and
// returns them sorted without repeats. A filter is an exact public event
// type, "<prefix>.*" (every type whose name starts with "<prefix>.", where
// at least one such public type exists), or "*" (every public type).
func ValidateWebhookEventTypes(filters []string) ([]string, error) {
	if len(filters) == 0 {
		return nil, Invalid("event_types", "must name at least one event type")
	}
	known := map[string]bool{}
	prefixes := map[string]bool{}
	for _, d := range EventTypes() {
		if t := d.EventType(); PublicEventType(t) {
			known[t] = true
			for i := range t {
				if t[i] == '.' {
					prefixes[t[:i]] = true
				}
			}
		}
	}
	out := slices.Clone(filters)
	for i, f := range out {
		field := fmt.Sprintf("event_types[%d]", i)
		switch {
		case f == "*":
		case strings.HasSuffix(f, ".*"):
			if !prefixes[strings.TrimSuffix(f, ".*")] {
				return nil, Invalid(field, "%q matches no event type", f)
			}
		case !PublicEventType(f):
			return nil, Invalid(field, "%q is internal and never delivered", f)
		case !known[f]:
			return nil, Invalid(field, "%q is not an event type (see docs/events.md)", f)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// MatchEventType reports whether a public event type passes any of the
// filters ValidateWebhookEventTypes accepted.
func MatchEventType(filters []string, typ string) bool {
	if !PublicEventType(typ) {
		return false
	}
	for _, f := range filters {
		if f == "*" || f == typ || (strings.HasSuffix(f, ".*") && strings.HasPrefix(typ, f[:len(f)-1])) {
			return true
		}
	}
	return false
}

// Address ranges an outbound request must never reach besides those netip
// classifies itself: shared address space (carrier-grade NAT), "this
// network", benchmarking, IPv4/IPv6 translation and the discard prefix.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// CheckEndpointAddr decides whether an outbound webhook request may go to
// ip: never to private, link-local, multicast, unspecified or otherwise
// reserved addresses (SSRF: a tenant must not reach the operator's own
// network through us); to loopback only when the operator allowed it for
// local receivers.
func CheckEndpointAddr(ip netip.Addr, allowLoopback bool) error {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return fmt.Errorf("not an IP address")
	case ip.IsLoopback():
		if allowLoopback {
			return nil
		}
		return fmt.Errorf("%s is a loopback address", ip)
	case ip.IsPrivate():
		return fmt.Errorf("%s is a private address", ip)
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return fmt.Errorf("%s is a link-local address", ip)
	case ip.IsUnspecified(), ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return fmt.Errorf("%s is not a unicast address", ip)
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return fmt.Errorf("%s is in the reserved range %s", ip, p)
		}
	}
	return nil
}

// DefaultRetrySchedule is how long a failed webhook delivery waits before
// each further attempt (the last step repeats until the endpoint is
// disabled). It follows the shape of Svix's schedule.
var DefaultRetrySchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour}

// ParseRetrySchedule reads "5s,5m,30m,2h" into a schedule.
func ParseRetrySchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("retry schedule %q: %q is not a positive duration", s, part)
		}
		out = append(out, d)
	}
	return out, nil
}

// RetryDelay is the wait before attempt number next (2 for the first
// retry), with jitter: u in [0,1) moves it by up to ±20%, so endpoints that
// fail together are not retried in lockstep.
func RetryDelay(schedule []time.Duration, next int, u float64) time.Duration {
	if len(schedule) == 0 {
		schedule = DefaultRetrySchedule
	}
	i := min(max(next-2, 0), len(schedule)-1)
	d := schedule[i]
	return d + time.Duration((u*0.4-0.2)*float64(d))
}

// EventReadPermission is the native permission a caller needs to see an
// event on the live feed: the read permission of the resource the event is
// about. Event types with no resource of their own (authentication
// failures, and any type this table does not know yet) need
// "audit-logs:read", the right to read everything that happened.
func EventReadPermission(e Event) string {
	switch e.Aggregate.Type {
	case AggregateIndividual, AggregateNevisUser, AggregateSelfService:
		return "individuals:read"
	case AggregateServiceUser:
		return "service-users:read"
	case AggregateOAuthClient:
		return "oauth-clients:read"
	case AggregateTenant:
		return "tenants:read"
	case AggregateIntegrationConnection:
		return "integrations:read"
	case AggregateRole:
		return "roles:read"
	case AggregateAccessGroup, AggregateAccessRole, AggregateAccessPermission:
		// eSystems access groups and their permissions are access rules.
		return "access-rules:read"
	}
	// A resource of the native face named like its aggregate type
	// (access_credential → access-credentials).
	res := strings.ReplaceAll(e.Aggregate.Type, "_", "-") + "s"
	if slices.Contains(NativeResources, res) {
		return res + ":read"
	}
	return "audit-logs:read"
}
