package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/eventstore"
	"github.com/portcullis/portcullis/projections"
)

// The scenario mix of issue 9: a server as serve runs it, driven over HTTP
// by 1, 16, 64 and 256 clients with the commands and reads real clients
// send (assign and return credentials, link and unlink credentials and
// access points, nevisIDM dispatch targets created and deleted, eSystems
// group permissions added and deleted; credential lists, stats and access
// decisions), each slice of time next to a raw fsynced publish slice and a
// no-op handler behind the same router and middleware; then a run paced at
// half the peak command rate for the p99 and the projection lag, beside
// the raw baselines those are judged by.

// benchMixLevels are the client counts of the mix.
func benchMixLevels() []int { return []int{1, 16, 64, 256} }

// benchMixSlots is how many clients the mix has at most; each owns one
// slot (a person, a credential, an access point, an access group), so that
// clients never queue on one aggregate.
const benchMixSlots = 256

// benchMixTime is the default time of one level's command phase
// (--mix-time); the other phases are sized from it. Phases run for a time
// rather than a count, so a slow spell shortens a phase instead of
// stretching the run.
const benchMixTime = 2500 * time.Millisecond

// mixTimes are the phase lengths of one run.
type mixTimes struct{ commands, reads, noop, raw, paced time.Duration }

func newMixTimes(commands time.Duration) mixTimes {
	return mixTimes{commands: commands, reads: commands * 12 / 25, noop: commands * 12 / 25,
		raw: commands * 6 / 25, paced: commands * 8 / 5}
}

// benchMixOps are the mix's command steps in the order a slot cycles
// through them: each step undoes the one before, so a slot can cycle for
// ever.
func benchMixOps() []string {
	return []string{"assign", "return", "link", "unlink", "dt_create", "dt_delete", "perm_delete"}
}

// benchMixReadOps are the mix's reads, cycled through the same way.
func benchMixReadOps() []string { return []string{"credential_list", "credential_stats", "decision"} }

// benchMixFigures are the figures of this file, in report order.
func benchMixFigures() []benchFigureSpec {
	out := []benchFigureSpec{
		{"raw_fsync", "write 300 B + fsync of a file in the data dir, 1 writer", "fsyncs/s"},
		{"raw_publish_serial", "raw JetStream sync publish (fsync before ack), 1 publisher, beside the mix", "events/s"},
		{"raw_bbolt_commit", "raw bbolt transaction of one put (one commit with its fsyncs)", "commits/s"},
	}
	for _, c := range benchMixLevels() {
		out = append(out,
			benchFigureSpec{fmt.Sprintf("mix_commands_c%d", c), fmt.Sprintf("HTTP command mix (assign/return, link/unlink, DT, perm del), %d clients", c), "commands/s"},
			benchFigureSpec{fmt.Sprintf("mix_reads_c%d", c), fmt.Sprintf("HTTP reads (credential list, stats, decision), %d clients", c), "reads/s"},
			benchFigureSpec{fmt.Sprintf("noop_c%d", c), fmt.Sprintf("HTTP no-op handler, same router and middleware, %d clients", c), "requests/s"})
	}
	for _, op := range slices.Concat(benchMixOps(), []string{"perm_restock"}, benchMixReadOps()) {
		out = append(out, benchFigureSpec{"mix_" + op + "_c64", "mix step " + op + ", 64 clients (its share of the mix)", "requests/s"})
	}
	out = append(out,
		benchFigureSpec{"mix_paced", "HTTP command mix paced at half the peak rate, up to 256 clients", "commands/s"},
		benchFigureSpec{"projection_lag", "paced mix: ack of an append → runner committed it (P = lag)", "commands/s"},
		benchFigureSpec{"raw_delivery_paced", "raw ordered consumer at the same pace: publish ack → delivered", "msgs/s"})
	return out
}

// mixSlot is what one client works on, and how far its cycle has come.
type mixSlot struct {
	individual, extID, credential, accessPoint, group string
	step, readStep                                    int
	dtSeq                                             int
	// permIDs are the group's permission records still to delete; when
	// none is left, one sync adds benchMixPerms again (perm_restock).
	permIDs []int64
}

// benchMixPerms is how many permission records a group gets at a time,
// one per eSystems Permission record (a group has one record per role and
// permission). The records' ids come from the tenant's id sequence, which
// every command that adds records waits for in turn, so the mix adds them
// in bulk and measures their deletion, as the issue asks.
const benchMixPerms = 16

// mixEnv is the server under the mix and its clients.
type mixEnv struct {
	m        *Main
	base     string
	token    string
	client   *http.Client
	role     string   // eSystems AccessRole every group permission points at
	perms    []string // eSystems Permission records, benchMixPerms of them
	slots    []*mixSlot
	noopPath string
}

// mixResult is what one client call learned: its consistency token, if a
// mutation answered one, and the body when the caller asked for it.
type mixResult struct {
	token uint64
	body  []byte
}

// call sends one request and checks its status; keep says whether to
// return the body (otherwise it is read and dropped, so the connection goes
// back to the pool).
func (e *mixEnv) call(ctx context.Context, method, path, body string, want int, keep bool) (mixResult, error) {
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, rd)
	if err != nil {
		return mixResult{}, err
	}
	req.Header.Set("Authorization", "Token "+e.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return mixResult{}, err
	}
	defer resp.Body.Close()
	var out mixResult
	if keep || resp.StatusCode != want {
		if out.body, err = io.ReadAll(resp.Body); err != nil {
			return out, err
		}
	} else if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return out, err
	}
	if resp.StatusCode != want {
		return out, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(out.body))
	}
	if v := resp.Header.Get("X-Consistency-Token"); v != "" {
		out.token, _ = strconv.ParseUint(v, 10, 64)
	}
	return out, nil
}

// id reads the id of a created record from a native or eSystems answer.
func (e *mixEnv) create(ctx context.Context, path, body, field string) (string, error) {
	res, err := e.call(ctx, http.MethodPost, path, body, http.StatusCreated, true)
	if err != nil {
		return "", err
	}
	var native struct {
		Data map[string]any `json:"data"`
	}
	var flat map[string]any
	if err := json.Unmarshal(res.body, &native); err == nil && native.Data != nil {
		flat = native.Data
	} else if err := json.Unmarshal(res.body, &flat); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	id, ok := flat[field].(string)
	if !ok || id == "" {
		return "", fmt.Errorf("%s answered without %s: %s", path, field, res.body)
	}
	return id, nil
}

const nevisBase = "/nevisidm/api/core/v1/default/users/"
const esBase = "/Endpoint/rest/api/v1"

// step runs slot's next command and returns which one it was.
func (e *mixEnv) step(ctx context.Context, s *mixSlot) (string, mixResult, error) {
	ops := benchMixOps()
	op := ops[s.step%len(ops)]
	var res mixResult
	var err error
	switch op {
	case "assign":
		res, err = e.call(ctx, http.MethodPost, "/api/v1/access-credentials/assign",
			`{"credential_ids":["`+s.credential+`"],"individual_id":"`+s.individual+`"}`, http.StatusOK, false)
	case "return":
		res, err = e.call(ctx, http.MethodPost, "/api/v1/access-credentials/return",
			`{"credential_ids":["`+s.credential+`"]}`, http.StatusOK, false)
	case "link":
		res, err = e.call(ctx, http.MethodPost, "/api/v1/access-credentials/"+s.credential+"/access-points",
			`{"access_point_ids":["`+s.accessPoint+`"]}`, http.StatusOK, false)
	case "unlink":
		res, err = e.call(ctx, http.MethodDelete, "/api/v1/access-credentials/"+s.credential+"/access-points",
			`{"access_point_ids":["`+s.accessPoint+`"]}`, http.StatusOK, false)
	case "dt_create":
		s.dtSeq++
		dt := "dt-" + s.extID + "-" + strconv.Itoa(s.dtSeq)
		res, err = e.call(ctx, http.MethodPost, nevisBase+s.extID+"/dispatch-targets",
			`{"extId":"`+dt+`","deviceId":"device-`+dt+`","name":"Phone","target":"fcm-`+dt+`","dispatcher":"firebase-cloud-messaging"}`,
			http.StatusCreated, false)
	case "dt_delete":
		res, err = e.call(ctx, http.MethodDelete, nevisBase+s.extID+"/dispatch-targets/dt-"+s.extID+"-"+strconv.Itoa(s.dtSeq),
			"", http.StatusNoContent, false)
	case "perm_delete":
		if len(s.permIDs) == 0 {
			// Restocking is a command of its own; the delete is the next.
			res, err = e.restock(ctx, s)
			if err == nil && res.token == 0 {
				err = errors.New("perm_restock answered without X-Consistency-Token")
			}
			return "perm_restock", res, err
		}
		res, err = e.call(ctx, http.MethodDelete, esBase+"/AccessGroup/"+s.group+"/Permission/"+strconv.FormatInt(s.permIDs[0], 10),
			"", http.StatusOK, false)
		if err == nil {
			s.permIDs = s.permIDs[1:]
		}
	}
	if err != nil {
		return op, res, err
	}
	if res.token == 0 {
		return op, res, fmt.Errorf("%s answered without X-Consistency-Token", op)
	}
	s.step++
	return op, res, nil
}

// restock gives a slot's group one permission record per Permission
// record in one sync, and keeps their ids.
func (e *mixEnv) restock(ctx context.Context, s *mixSlot) (mixResult, error) {
	var body strings.Builder
	body.WriteByte('[')
	for i, p := range e.perms {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{"AccessRoleId":"` + e.role + `","PermissionId":"` + p + `"}`)
	}
	body.WriteByte(']')
	res, err := e.call(ctx, http.MethodPatch, esBase+"/AccessGroup/"+s.group+"/Permissions", body.String(), http.StatusOK, true)
	if err != nil {
		return res, err
	}
	var out struct {
		Inserted []struct {
			ID int64 `json:"Id"`
		} `json:"Inserted"`
	}
	if err := json.Unmarshal(res.body, &out); err != nil {
		return res, err
	}
	if len(out.Inserted) != len(e.perms) {
		return res, fmt.Errorf("permission sync inserted %d records, want %d: %s", len(out.Inserted), len(e.perms), res.body)
	}
	for _, r := range out.Inserted {
		s.permIDs = append(s.permIDs, r.ID)
	}
	return res, nil
}

// read runs slot's next read.
func (e *mixEnv) read(ctx context.Context, s *mixSlot) (string, error) {
	ops := benchMixReadOps()
	op := ops[s.readStep%len(ops)]
	s.readStep++
	var err error
	switch op {
	case "credential_list":
		_, err = e.call(ctx, http.MethodGet, "/api/v1/access-credentials?limit=10", "", http.StatusOK, false)
	case "credential_stats":
		_, err = e.call(ctx, http.MethodGet, "/api/v1/access-credentials/stats", "", http.StatusOK, false)
	case "decision":
		_, err = e.call(ctx, http.MethodGet, "/api/v1/access-decisions?individual_id="+s.individual+"&access_point_id="+s.accessPoint,
			"", http.StatusOK, false)
	}
	return op, err
}

// mix measures the scenario mix on a server of its own, with the raw
// baselines beside it.
func (b *bench) mix(ctx context.Context, rs *eventstore.RawStream) error {
	var tok [24]byte
	_, _ = rand.Read(tok[:])
	// The access log is formatted as serve formats it, then dropped, so
	// the mix pays what logging costs a server without filling the
	// terminal.
	m := &Main{Config: Config{DataDir: filepath.Join(b.dir, "mix"), Listen: "127.0.0.1:0", Sync: b.sync,
		AdminToken: "pcat_" + base64.RawURLEncoding.EncodeToString(tok[:]), NoopRoute: true},
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	if b.stages != nil {
		m.Config.Observe = b.stages.observe
	}
	if err := m.Run(ctx); err != nil {
		return err
	}
	defer m.Close()
	tr := &http.Transport{MaxIdleConns: 2 * benchMixSlots, MaxIdleConnsPerHost: 2 * benchMixSlots, IdleConnTimeout: time.Minute}
	e := &mixEnv{m: m, base: "http://" + m.HTTP.Addr(), token: m.Config.AdminToken,
		client: &http.Client{Transport: tr, Timeout: time.Minute}, noopPath: "/api/v1/bench/noop"}
	defer tr.CloseIdleConnections()
	b.step("mix: %d slots (a person, a credential, an access point, an access group each)", benchMixSlots)
	if err := e.setup(ctx); err != nil {
		return fmt.Errorf("bench: mix setup: %w", err)
	}
	for _, c := range benchMixLevels() {
		b.step("mix: %d clients: raw publish %v, commands %v, reads %v, no-op %v", c, b.mixTimes.raw, b.mixTimes.commands, b.mixTimes.reads, b.mixTimes.noop)
		if err := b.measureFor("raw_publish_serial", func() (int, time.Duration, []time.Duration, error) {
			return rs.PublishFor(ctx, b.mixTimes.raw, 1, benchPayload)
		}); err != nil {
			return err
		}
		perOp, readOps := map[string]*benchSpent{}, map[string]*benchSpent{}
		if err := b.measureFor(fmt.Sprintf("mix_commands_c%d", c), func() (int, time.Duration, []time.Duration, error) {
			return runFor(c, b.mixTimes.commands, func(w int) (string, time.Duration, error) {
				t := time.Now()
				op, _, err := e.step(ctx, e.slots[w])
				return op, time.Since(t), err
			}, perOp)
		}); err != nil {
			return err
		}
		if err := b.measureFor(fmt.Sprintf("mix_reads_c%d", c), func() (int, time.Duration, []time.Duration, error) {
			return runFor(c, b.mixTimes.reads, func(w int) (string, time.Duration, error) {
				t := time.Now()
				op, err := e.read(ctx, e.slots[w])
				return op, time.Since(t), err
			}, readOps)
		}); err != nil {
			return err
		}
		if err := b.measureFor(fmt.Sprintf("noop_c%d", c), func() (int, time.Duration, []time.Duration, error) {
			return runFor(c, b.mixTimes.noop, func(w int) (string, time.Duration, error) {
				t := time.Now()
				_, err := e.call(ctx, http.MethodGet, e.noopPath, "", http.StatusOK, false)
				return "noop", time.Since(t), err
			}, nil)
		}); err != nil {
			return err
		}
		st := m.Store.AppendStats()
		b.step("mix: %d clients: writer so far: %d appends in %d groups (%d atomic batches, %d plain publishes, %d own fsyncs)",
			c, st.Appends, st.Groups, st.Batches, st.Publishes, st.Syncs)
		if c == 64 {
			for op, x := range perOp {
				b.spent["mix_"+op+"_c64"] = x
			}
			for op, x := range readOps {
				b.spent["mix_"+op+"_c64"] = x
			}
		}
	}
	return b.paced(ctx, e, rs)
}

// paced runs the command mix at half the peak rate the levels reached, and
// the raw consumer at the same pace, and times the baselines of the
// latency goals: one fsync and one bbolt commit.
func (b *bench) paced(ctx context.Context, e *mixEnv, rs *eventstore.RawStream) error {
	peak := 0.0
	for _, c := range benchMixLevels() {
		if x := b.spent[fmt.Sprintf("mix_commands_c%d", c)]; x != nil && x.d > 0 {
			peak = max(peak, float64(x.count)/x.d.Seconds())
		}
	}
	rate := max(peak/2, 1)
	if b.pace > 0 {
		rate = b.pace
	}
	b.step("mix: paced at %.0f commands/s (the peak %.0f) for %v, lag to the runner's commit", rate, peak, b.mixTimes.paced)
	type ack struct {
		token uint64
		at    int64
	}
	if b.pacedProfile != "" {
		f, err := os.Create(b.pacedProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		// Lock contention of the same run goes beside it, as <file>.mutex.
		runtime.SetMutexProfileFraction(10)
		defer func() {
			runtime.SetMutexProfileFraction(0)
			if mf, err := os.Create(b.pacedProfile + ".mutex"); err == nil {
				_ = pprof.Lookup("mutex").WriteTo(mf, 0)
				mf.Close()
			}
		}()
	}
	// The watcher notes when the runner's position moves; an append's lag
	// is from its ack to the first position at or past its own.
	type mark struct {
		pos uint64
		at  int64
	}
	var marks []mark
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			cur := e.m.Runner.Position()
			if e.m.Runner.WaitFor(wctx, cur+1) != nil {
				return
			}
			marks = append(marks, mark{e.m.Runner.Position(), time.Now().UnixNano()})
		}
	}()
	total := max(int(rate*b.mixTimes.paced.Seconds()), 1)
	acks := make([]ack, total)
	lat := make([]time.Duration, total)
	var next atomic.Int64
	var before runtimeSample
	if b.stages != nil {
		before = readRuntime()
		b.stages.on.Store(true)
	}
	start := time.Now()
	d, err := drive(benchMixSlots, benchMixSlots, func(w int) error {
		s := e.slots[w]
		for {
			i := next.Add(1) - 1
			if i >= int64(total) {
				return nil
			}
			due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			time.Sleep(time.Until(due))
			t := time.Now()
			_, res, err := e.step(ctx, s)
			if err != nil {
				return err
			}
			now := time.Now()
			lat[i], acks[i] = now.Sub(t), ack{res.token, now.UnixNano()}
			if b.stages != nil {
				b.stages.observe("client_late_start", t.Sub(due))
				b.stages.observe("client_command", now.Sub(t))
				b.stages.observe("client_command_from_due", now.Sub(due))
			}
		}
	})
	if b.pacedProfile != "" {
		pprof.StopCPUProfile()
	}
	if b.stages != nil {
		b.stages.on.Store(false)
		defer b.stages.report(b.log, before, readRuntime(), d)
	}
	if err != nil {
		stopWatch()
		<-watched
		return fmt.Errorf("bench: mix_paced: %w", err)
	}
	last := slices.MaxFunc(acks, func(a, b ack) int { return cmpUint(a.token, b.token) }).token
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	err = e.m.Runner.WaitFor(wait, last)
	cancel()
	// One more turn of the watcher to note the position that covers last.
	time.Sleep(10 * time.Millisecond)
	stopWatch()
	<-watched
	if err != nil {
		return fmt.Errorf("bench: mix_paced: the runner did not reach %d: %w", last, err)
	}
	lags := make([]time.Duration, total)
	for i, a := range acks {
		k, _ := slices.BinarySearchFunc(marks, a.token, func(m mark, t uint64) int { return cmpUint(m.pos, t) })
		if k == len(marks) {
			return fmt.Errorf("bench: projection_lag: no position at or past %d was seen", a.token)
		}
		lags[i] = time.Duration(max(marks[k].at-a.at, 0))
	}
	b.spent["mix_paced"] = &benchSpent{count: total, d: d, lat: lat}
	b.spent["projection_lag"] = &benchSpent{count: total, d: d, lat: lags}

	b.step("raw consumer paced at %.0f msgs/s for %v", rate, b.mixTimes.paced)
	if err := b.measureFor("raw_delivery_paced", func() (int, time.Duration, []time.Duration, error) {
		return rs.PacedDelivery(ctx, rate, b.mixTimes.paced, benchMixSlots, benchPayload)
	}); err != nil {
		return err
	}
	b.step("raw fsync and raw bbolt commits, 300 each")
	if err := b.measureFor("raw_fsync", func() (int, time.Duration, []time.Duration, error) {
		return rawFsyncs(filepath.Join(b.dir, "fsync.raw"), 300)
	}); err != nil {
		return err
	}
	return b.measureFor("raw_bbolt_commit", func() (int, time.Duration, []time.Duration, error) {
		t := time.Now()
		lat, err := projections.RawCommits(filepath.Join(b.dir, "commits.db"), 300, benchPayload)
		return len(lat), time.Since(t), lat, err
	})
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rawFsyncs appends benchPayload bytes to a file and fsyncs it, n times,
// timing each: the cost of one fsync on this disk, which a durable command
// cannot avoid.
func rawFsyncs(path string, n int) (int, time.Duration, []time.Duration, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, 0, nil, err
	}
	defer f.Close()
	buf := make([]byte, benchPayload)
	lat := make([]time.Duration, 0, n)
	start := time.Now()
	for range n {
		t := time.Now()
		if _, err := f.Write(buf); err != nil {
			return 0, 0, nil, err
		}
		if err := f.Sync(); err != nil {
			return 0, 0, nil, err
		}
		lat = append(lat, time.Since(t))
	}
	return n, time.Since(start), lat, nil
}

// measureFor adds a time-sized run (count, duration, latencies) to a figure.
func (b *bench) measureFor(name string, fn func() (int, time.Duration, []time.Duration, error)) error {
	var count int
	err := b.measureEach(name, 0, func() (time.Duration, []time.Duration, error) {
		n, d, lat, err := fn()
		count = n
		return d, lat, err
	})
	if err == nil {
		b.spent[name].count += count
	}
	return err
}

// runFor runs fn from clients goroutines (worker w passes w) until d has
// passed; each call finishes, none starts after. It returns how many calls
// ran, for how long, and each one's latency; perOp, if given, also gets
// each call's count and latency under the name fn returned.
func runFor(clients int, d time.Duration, fn func(w int) (string, time.Duration, error), perOp map[string]*benchSpent) (int, time.Duration, []time.Duration, error) {
	var mu sync.Mutex
	var all []time.Duration
	start := time.Now()
	deadline := start.Add(d)
	elapsed, err := drive(clients, clients, func(w int) error {
		var mine []time.Duration
		var ops []string
		defer func() {
			mu.Lock()
			defer mu.Unlock()
			all = append(all, mine...)
			if perOp == nil {
				return
			}
			for i, op := range ops {
				x := perOp[op]
				if x == nil {
					x = &benchSpent{}
					perOp[op] = x
				}
				x.count++
				x.lat = append(x.lat, mine[i])
			}
		}()
		for time.Now().Before(deadline) {
			op, l, err := fn(w)
			if err != nil {
				return err
			}
			mine = append(mine, l)
			ops = append(ops, op)
		}
		return nil
	})
	for _, x := range perOp {
		x.d = elapsed
	}
	return len(all), elapsed, all, err
}

// setup creates what the slots work on: one place and locking system for
// every access point, one eSystems role and permission record, and per slot
// a person, a credential, an access point and an access group.
func (e *mixEnv) setup(ctx context.Context) error {
	loc, err := e.create(ctx, "/api/v1/locations", `{"name":"Bench site"}`, "id")
	if err != nil {
		return err
	}
	bld, err := e.create(ctx, "/api/v1/buildings", `{"name":"Bench hall","location_id":"`+loc+`"}`, "id")
	if err != nil {
		return err
	}
	// An access point's creation appends to its space and its locking
	// system: 32 of each, and 32 creations at a time, keep them apart.
	const places = 32
	spaces, systems := make([]string, places), make([]string, places)
	if _, err := drive(places, 8, func(i int) (err error) {
		n := strconv.Itoa(i)
		if spaces[i], err = e.create(ctx, "/api/v1/spaces", `{"name":"Bench room `+n+`","building_id":"`+bld+`"}`, "id"); err != nil {
			return err
		}
		systems[i], err = e.create(ctx, "/api/v1/locking-systems", `{"name":"Bench locks `+n+`"}`, "id")
		return err
	}); err != nil {
		return err
	}
	if e.role, err = e.create(ctx, esBase+"/AccessRole", `{"Name":"Bench role","ExternalId":"bench-role"}`, "Id"); err != nil {
		return err
	}
	e.perms = make([]string, benchMixPerms)
	if _, err := drive(benchMixPerms, 8, func(i int) (err error) {
		n := strconv.Itoa(i)
		e.perms[i], err = e.create(ctx, esBase+"/Permission", `{"Name":"Bench door `+n+`","ExternalId":"bench-door-`+n+`"}`, "Id")
		return err
	}); err != nil {
		return err
	}
	e.slots = make([]*mixSlot, benchMixSlots)
	for i := range e.slots {
		e.slots[i] = &mixSlot{extID: "bench-mix-" + strconv.Itoa(i)}
	}
	_, err = drive(benchMixSlots, 64, func(i int) (err error) {
		s, n := e.slots[i], strconv.Itoa(i)
		if s.individual, err = e.create(ctx, "/api/v1/individuals",
			`{"ext_id":"`+s.extID+`","first_name":"Ada","last_name":"Mix`+n+`"}`, "id"); err != nil {
			return err
		}
		if s.credential, err = e.create(ctx, "/api/v1/access-credentials",
			`{"credential_id":"MIX-`+n+`","credential_name":"Key `+n+`","type":"mechanical_key"}`, "id"); err != nil {
			return err
		}
		s.group, err = e.create(ctx, esBase+"/AccessGroup", `{"Name":"Bench group `+n+`","ExternalId":"bench-group-`+n+`"}`, "Id")
		return err
	})
	if err != nil {
		return err
	}
	_, err = drive(benchMixSlots, places, func(i int) (err error) {
		if e.slots[i].accessPoint, err = e.create(ctx, "/api/v1/access-points",
			`{"point_name":"Door `+strconv.Itoa(i)+`","space_id":"`+spaces[i%places]+`","locking_system_id":"`+systems[i%places]+`"}`, "id"); err != nil {
			return err
		}
		_, err = e.restock(ctx, e.slots[i])
		return err
	})
	return err
}
