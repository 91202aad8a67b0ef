package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The demo site: what POST /settings/tenant-demo creates in a tenant, as a
// plan of ordinary inputs (the same fields clients send) that the commands
// carry out one by one. Records refer to each other by their index in the
// plan, since their ids exist only once created. The plan is the same for
// every tenant except for the dates, which are relative to when it is
// made: some due dates are already past (overdue returns), some credentials
// have expired.

// UniqueTenantDemo is the unique value a tenant's demo data claims once it
// is complete: a second fill of the same tenant finds it taken.
const UniqueTenantDemo = "tenant.demo_data"

// DemoPlan is the demo site.
type DemoPlan struct {
	Location    LocationFields
	Buildings   []string // names; all in the location
	Spaces      []DemoSpace
	Systems     []LockingSystemFields
	Doors       []DemoDoor
	People      []IndividualFields
	Credentials []CredentialFields
	// Links are, per door (same index as Doors), the credentials that
	// open it.
	Links       [][]int
	Assignments []DemoAssignment
	// Returns are credentials handed out and then taken back, for history:
	// each is assigned to Person and returned at once.
	Returns []DemoReturn
	Rules   []DemoRules
	// Example is a person and a door for which the access decision says
	// yes during office hours (Monday to Friday, 07:00–19:00 in the
	// location's zone).
	Example DemoExample
}

// DemoSpace is a space of the plan; Parent is -1 at the top of its
// building. Parents come before their children.
type DemoSpace struct {
	Name     string
	Building int
	Parent   int
}

// DemoDoor is an access point of the plan.
type DemoDoor struct {
	Fields AccessPointFields // without space and locking system
	Space  int
	System int
}

// DemoAssignment hands credentials to a person in one command.
type DemoAssignment struct {
	Person      int
	Credentials []int
	Assignment  Assignment // without the individual
}

// DemoReturn is a credential handed out and taken back.
type DemoReturn struct {
	Person     int
	Credential int
	Condition  string
	Notes      string
}

// DemoRules are the access rules of one space.
type DemoRules struct {
	Space int
	Rules []DemoRule
}

// DemoRule is an access rule naming people by their index in the plan.
type DemoRule struct {
	People      []int
	Departments []string
	Schedule    []TimeWindow
	ValidFrom   string
	ValidUntil  string
}

// DemoExample names, by index, a person and a door the person may open
// during office hours.
type DemoExample struct {
	Person int
	Door   int
}

// Demo departments and the spaces (by index in demoSpaces) each works in.
var demoDepartments = []struct {
	name   string
	size   int
	spaces []int
}{
	{"Management", 6, []int{5, 6, 9, 10}},
	{"Finance", 10, []int{5, 6, 7}},
	{"Sales", 12, []int{5, 6, 9}},
	{"Engineering", 16, []int{6, 9, 16}},
	{"IT", 6, []int{11, 14}},
	{"Facilities", 8, []int{3, 13, 14, 17, 18, 21}},
	{"Production", 16, []int{15, 16, 17, 18, 19, 20, 21}},
	{"Reception", 6, []int{1, 2, 3}},
}

var demoSpaces = []DemoSpace{
	{"Ground Floor", 0, -1}, {"Lobby", 0, 0}, {"Reception", 0, 0}, {"Mail Room", 0, 0},
	{"First Floor", 0, -1}, {"Open Office East", 0, 4}, {"Meeting Room Alps", 0, 4}, {"Finance Office", 0, 4},
	{"Second Floor", 0, -1}, {"Open Office West", 0, 8}, {"Executive Suite", 0, 8}, {"Server Room", 0, 8},
	{"Basement", 0, -1}, {"Archive", 0, 12}, {"Technical Room", 0, 12},
	{"Workshop Hall", 1, -1}, {"Assembly", 1, 15}, {"Paint Shop", 1, 15}, {"Tool Store", 1, 15},
	{"Warehouse", 1, -1}, {"Loading Dock", 1, 19}, {"Storage", 1, 19},
}

// The two locking systems of the demo, by index.
const (
	demoMechanical = 0
	demoElectronic = 1
)

// demoDoors: name, space, system, status.
var demoDoors = []struct {
	name   string
	space  int
	system int
	area   string
}{
	{"Main Entrance", 1, demoElectronic, "public"}, {"Side Entrance", 1, demoElectronic, "public"},
	{"Reception Door", 2, demoElectronic, "office"}, {"Stairwell Ground Floor", 0, demoElectronic, "circulation"},
	{"Stairwell First Floor", 4, demoElectronic, "circulation"}, {"Stairwell Second Floor", 8, demoElectronic, "circulation"},
	{"Open Office East", 5, demoElectronic, "office"}, {"Open Office West", 9, demoElectronic, "office"},
	{"Executive Suite", 10, demoElectronic, "restricted"}, {"Server Room", 11, demoElectronic, "restricted"},
	{"Server Cage", 11, demoElectronic, "restricted"}, {"Workshop Gate", 15, demoElectronic, "production"},
	{"Assembly Door", 16, demoElectronic, "production"}, {"Warehouse Gate", 19, demoElectronic, "logistics"},
	{"Loading Dock Gate", 20, demoElectronic, "logistics"}, {"Basement Stairs", 12, demoElectronic, "circulation"},
	{"Mail Room", 3, demoMechanical, "office"}, {"Meeting Room Alps", 6, demoMechanical, "office"},
	{"Finance Office", 7, demoMechanical, "office"}, {"Finance Safe Room", 7, demoMechanical, "restricted"},
	{"Executive Office 1", 10, demoMechanical, "restricted"}, {"Executive Office 2", 10, demoMechanical, "restricted"},
	{"Archive", 13, demoMechanical, "storage"}, {"Archive Cabinet Room", 13, demoMechanical, "storage"},
	{"Technical Room", 14, demoMechanical, "technical"}, {"Electrical Cabinet", 14, demoMechanical, "technical"},
	{"Paint Shop", 17, demoMechanical, "production"}, {"Paint Storage", 17, demoMechanical, "production"},
	{"Tool Store", 18, demoMechanical, "production"}, {"Storage A", 21, demoMechanical, "storage"},
	{"Storage B", 21, demoMechanical, "storage"}, {"Cleaning Closet Ground Floor", 0, demoMechanical, "technical"},
	{"Cleaning Closet First Floor", 4, demoMechanical, "technical"}, {"Cleaning Closet Second Floor", 8, demoMechanical, "technical"},
	{"Emergency Exit North", 0, demoMechanical, "circulation"}, {"Emergency Exit South", 15, demoMechanical, "circulation"},
	{"Roof Access", 8, demoMechanical, "technical"}, {"Bike Room", 12, demoMechanical, "storage"},
	{"Assembly Back Door", 16, demoMechanical, "production"}, {"Loading Dock Office", 20, demoMechanical, "logistics"},
}

var demoFirstNames = []string{"Anna", "Luca", "Mia", "Noah", "Lea", "Elias", "Emma", "Leon", "Lina", "David",
	"Sara", "Jonas", "Laura", "Nico", "Julia", "Tim", "Nina", "Marco", "Lara", "Simon"}

var demoLastNames = []string{"Meier", "Keller", "Huber", "Frei", "Baumann", "Brunner", "Fischer", "Weber",
	"Schmid", "Gerber", "Moser", "Graf", "Wyss", "Roth", "Steiner", "Suter", "Bachmann", "Zimmermann"}

// Office hours and the other windows the demo's rules use.
var (
	demoWeekdays  = []string{"mon", "tue", "wed", "thu", "fri"}
	demoOffice    = []TimeWindow{{Days: demoWeekdays, From: "07:00", To: "19:00"}}
	demoExtended  = []TimeWindow{{Days: []string{"mon", "tue", "wed", "thu", "fri", "sat"}, From: "06:00", To: "22:00"}}
	demoShifts    = []TimeWindow{{Days: demoWeekdays, From: "06:00", To: "18:00"}, {Days: []string{"sat"}, From: "07:00", To: "12:00"}}
	demoReception = []TimeWindow{{Days: demoWeekdays, From: "06:30", To: "20:00"}}
)

// NewDemoPlan makes the demo site, with dates relative to now.
func NewDemoPlan(now time.Time) DemoPlan {
	now = now.UTC().Truncate(time.Minute)
	p := DemoPlan{
		Location:  LocationFields{Name: "Demo Campus Zurich", Address: "Hardstrasse 201, 8005 Zürich", TimeZone: "Europe/Zurich"},
		Buildings: []string{"Main Building", "Workshop"},
		Spaces:    demoSpaces,
		Systems: []LockingSystemFields{
			{Name: "Master key system", Brand: "Acme Locks", SystemType: SystemMechanical, SystemTechnology: "pin tumbler", RevisionNumber: "R3"},
			{Name: "Electronic access", Brand: "Acme Access", SystemType: SystemElectronic, SystemTechnology: "RFID DESFire EV3", RevisionNumber: "2.1"},
		},
	}
	for _, d := range demoDoors {
		p.Doors = append(p.Doors, DemoDoor{Space: d.space, System: d.system, Fields: AccessPointFields{
			PointName: d.name, Label: fmt.Sprintf("%s (%s)", d.name, demoSpaces[d.space].Name), Area: d.area,
			OutsideA: "corridor", InsideB: strings.ToLower(demoSpaces[d.space].Name), Status: AccessPointActive}})
	}
	p.Links = make([][]int, len(p.Doors))

	// People, department by department.
	deptOf := []int{}
	for d, dept := range demoDepartments {
		for range dept.size {
			i := len(p.People)
			first, last := demoFirstNames[i%len(demoFirstNames)], demoLastNames[(i*7)%len(demoLastNames)]
			status := IndividualActive
			if i%29 == 17 {
				status = IndividualInactive
			}
			p.People = append(p.People, IndividualFields{FirstName: first, LastName: last,
				Email:       fmt.Sprintf("%s.%s.%02d@demo.example", strings.ToLower(first), strings.ToLower(last), i+1),
				MobilePhone: fmt.Sprintf("+41 79 555 %02d %02d", i/100, i%100), Department: dept.name, Status: status})
			deptOf = append(deptOf, d)
		}
	}
	// doorsOf are the doors of a system in a department's spaces.
	doorsOf := func(d, system int) []int {
		var out []int
		for i, door := range p.Doors {
			if door.System == system && slices.Contains(demoDepartments[d].spaces, door.Space) {
				out = append(out, i)
			}
		}
		return out
	}
	shared := []int{0, 1, 3, 4, 5, 15} // entrances, stairwells, basement stairs: every personal card
	link := func(cred int, doors ...int) {
		for _, door := range doors {
			p.Links[door] = append(p.Links[door], cred)
		}
	}
	addCredential := func(f CredentialFields) int {
		if f.Status == "" {
			f.Status = CredentialActive
		}
		if f.Source == "" {
			f.Source = CredentialManual
		}
		p.Credentials = append(p.Credentials, f)
		return len(p.Credentials) - 1
	}
	held := make([][]int, len(p.People)) // credentials each person gets

	// 120 cards: one per person (shared doors and their department's
	// electronic doors), 20 visitor cards, 20 spares (some out of order).
	for i := range p.People {
		c := addCredential(CredentialFields{CredentialID: fmt.Sprintf("C-%04d", 1001+i), Type: CredentialCard,
			CredentialName: "Staff card " + demoDepartments[deptOf[i]].name, Source: CredentialImported})
		link(c, shared...)
		link(c, doorsOf(deptOf[i], demoElectronic)...)
		held[i] = append(held[i], c)
	}
	spareStatus := []string{CredentialDisabled, CredentialLost, CredentialStolen, CredentialDamaged}
	for v := range 40 {
		f := CredentialFields{CredentialID: fmt.Sprintf("C-%04d", 1081+v), Type: CredentialCard, CredentialName: "Visitor card"}
		switch {
		case v < 20 && v%4 == 3:
			f.ValidUntil = now.AddDate(0, 0, -(v + 1)) // expired
		case v < 20:
			f.ValidUntil = now.AddDate(0, 6, 0)
		case v%2 == 0:
			f.CredentialName, f.Status = "Spare card", spareStatus[(v/2)%len(spareStatus)]
		default:
			f.CredentialName = "Spare card"
		}
		c := addCredential(f)
		if v < 20 {
			link(c, 0, 1, 2)
		}
	}
	// 150 mechanical keys: 4 master keys for Facilities (every mechanical
	// door), one department key per person whose department has
	// mechanical doors, the rest spares.
	key := 0
	addKey := func(name string, status string) int {
		key++
		return addCredential(CredentialFields{CredentialID: fmt.Sprintf("K-%04d", key), Type: CredentialMechanicalKey,
			CredentialName: name, Status: status, Counter: key % 3})
	}
	var mechanical []int
	for i, d := range p.Doors {
		if d.System == demoMechanical {
			mechanical = append(mechanical, i)
		}
	}
	facilities := 0
	for i := range p.People {
		if demoDepartments[deptOf[i]].name == "Facilities" && facilities < 4 {
			c := addKey("Master key", CredentialActive)
			p.Credentials[c].DeleteProtected = true
			link(c, mechanical...)
			held[i] = append(held[i], c)
			facilities++
		}
	}
	for i := range p.People {
		doors := doorsOf(deptOf[i], demoMechanical)
		if len(doors) == 0 {
			continue
		}
		c := addKey("Group key "+demoDepartments[deptOf[i]].name, CredentialActive)
		link(c, doors...)
		held[i] = append(held[i], c)
	}
	var spares []int // active spare keys
	for key < 150 {
		status := CredentialActive
		if key%9 == 4 {
			status = spareStatus[key%len(spareStatus)]
		}
		c := addKey("Spare key", status)
		if key%3 == 0 {
			link(c, 31, 32, 33) // cleaning closets
		}
		if status == CredentialActive {
			spares = append(spares, c)
		}
	}
	// 20 fobs for Production (warehouse gates), 10 phones for IT and
	// Management.
	fob, phone := 0, 0
	for i := range p.People {
		switch name := demoDepartments[deptOf[i]].name; {
		case name == "Production" && fob < 20:
			fob++
			c := addCredential(CredentialFields{CredentialID: fmt.Sprintf("F-%04d", fob), Type: CredentialFob, CredentialName: "Gate fob"})
			link(c, 11, 13, 14)
			held[i] = append(held[i], c)
		case (name == "IT" || name == "Management") && phone < 10:
			phone++
			c := addCredential(CredentialFields{CredentialID: fmt.Sprintf("M-%04d", phone), Type: CredentialMobile,
				CredentialName: "Mobile key " + first(p.People[i].FirstName)})
			link(c, shared...)
			link(c, doorsOf(deptOf[i], demoElectronic)...)
			held[i] = append(held[i], c)
		}
	}
	for fob < 20 {
		fob++
		addCredential(CredentialFields{CredentialID: fmt.Sprintf("F-%04d", fob), Type: CredentialFob, CredentialName: "Spare fob"})
	}

	// Hand out what each person holds: some wait to confirm receipt
	// (pending), some were due back already (overdue), some are due later.
	for i, creds := range held {
		a := Assignment{Condition: "new", Notes: "issued at onboarding"}
		switch {
		case i%11 == 5:
			a.DueDate, a.DueReason = now.AddDate(0, 0, -(3+i%7)), "contract ended"
		case i%5 == 0:
			a.DueDate, a.DueReason = now.AddDate(0, 1, i%20), "temporary contract"
		}
		if i%7 == 3 {
			a.Confirmation = &Confirmation{Type: ConfirmationDigital, Destination: p.People[i].Email}
		}
		p.Assignments = append(p.Assignments, DemoAssignment{Person: i, Credentials: creds, Assignment: a})
	}
	// A few spare keys went out and came back.
	for r := range 5 {
		p.Returns = append(p.Returns, DemoReturn{Person: r * 13, Credential: spares[len(spares)-1-r*3],
			Condition: "good", Notes: "returned after a site visit"})
	}

	// Access rules: office hours by department on each floor, round the
	// clock for Facilities, the server room for IT and two named people,
	// and a contractor admitted by name for a fortnight.
	byDept := func(names ...string) []string { return names }
	p.Rules = []DemoRules{
		{Space: 0, Rules: []DemoRule{
			{Departments: byDept("Management", "Finance", "Sales", "Engineering", "IT", "Production"), Schedule: demoOffice},
			{Departments: byDept("Reception"), Schedule: demoReception},
			{Departments: byDept("Facilities")}}},
		{Space: 4, Rules: []DemoRule{
			{Departments: byDept("Management", "Finance", "Sales", "Engineering"), Schedule: demoOffice},
			{Departments: byDept("Facilities")}}},
		{Space: 8, Rules: []DemoRule{
			{Departments: byDept("Management", "Sales", "Engineering"), Schedule: demoOffice},
			{Departments: byDept("IT"), Schedule: demoExtended},
			{Departments: byDept("Facilities")}}},
		{Space: 10, Rules: []DemoRule{{Departments: byDept("Management")}}},
		{Space: 11, Rules: []DemoRule{{Departments: byDept("IT")}, {People: []int{44, 45}}}},
		{Space: 12, Rules: []DemoRule{{Departments: byDept("Facilities", "IT"), Schedule: demoExtended}}},
		{Space: 15, Rules: []DemoRule{
			{Departments: byDept("Production"), Schedule: demoShifts},
			{Departments: byDept("Engineering"), Schedule: demoOffice},
			{Departments: byDept("Facilities")},
			{People: []int{30}, Schedule: demoOffice, ValidFrom: now.Format(time.DateOnly),
				ValidUntil: now.AddDate(0, 0, 14).Format(time.DateOnly)}}},
		{Space: 19, Rules: []DemoRule{{Departments: byDept("Production", "Facilities"), Schedule: demoExtended}}},
	}
	p.Example = p.example(deptOf)
	return p
}

// example finds a Sales person whose card is assigned outright and the
// door of their open office.
func (p DemoPlan) example(deptOf []int) DemoExample {
	door := 6 // Open Office East, inside the First Floor
	for i, a := range p.Assignments {
		if demoDepartments[deptOf[a.Person]].name == "Sales" && a.Assignment.Confirmation == nil &&
			p.People[a.Person].Status == IndividualActive && a.Assignment.DueDate.IsZero() {
			return DemoExample{Person: p.Assignments[i].Person, Door: door}
		}
	}
	return DemoExample{Door: door}
}

// first is a name's first word.
func first(name string) string {
	f, _, _ := strings.Cut(name, " ")
	return f
}
