package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pinguin-dev/pinguin/internal/api"
	"github.com/pinguin-dev/pinguin/internal/auth"
)

// maintenanceNow is the API's clock in the maintenance tests: Friday,
// 1 May 2026, 22:30 UTC.
var maintenanceNow = time.Date(2026, 5, 1, 22, 30, 0, 0, time.UTC)

func setupMaintenance(t *testing.T) *env {
	t.Helper()
	return setupWith(t, api.Options{Now: func() time.Time { return maintenanceNow }})
}

func (e *env) createWindow(t *testing.T, body string) map[string]any {
	t.Helper()
	r := e.do(t, "POST", "/api/v1/maintenance", "application/json", body)
	if r.status != http.StatusCreated {
		t.Fatalf("create window = %d %s", r.status, r.raw)
	}
	return r.body
}

// wantFields compares the fields of a JSON object with want, values as
// encoding/json decodes them.
func wantFields(t *testing.T, what string, got map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s: %s = %v, want %v", what, k, got[k], v)
		}
	}
}

func TestMaintenanceWindowCRUD(t *testing.T) {
	e := setupMaintenance(t)
	m1 := e.create(t, `{"name":"a","url":"https://a.example"}`)["id"].(string)
	m2 := e.create(t, `{"name":"b","url":"https://b.example"}`)["id"].(string)

	r := e.do(t, "POST", "/api/v1/maintenance", "application/json",
		`{"name":" db upgrade ","monitors":["`+m2+`","`+m1+`","`+m2+`"],"starts_at":"2026-05-02T00:00:00+02:00","ends_at":"2026-05-01T23:30:00Z"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create one-off = %d %s", r.status, r.raw)
	}
	oneOff := r.body
	id := oneOff["id"].(string)
	if r.header.Get("Location") != "/api/v1/maintenance/"+id {
		t.Fatalf("Location = %q", r.header.Get("Location"))
	}
	wantFields(t, "one-off", oneOff, map[string]any{
		"name": "db upgrade", "monitors": []any{m1, m2}, "all_monitors": false,
		"starts_at": "2026-05-01T22:00:00Z", "ends_at": "2026-05-01T23:30:00Z", "time_zone": "UTC",
		"duration_seconds": 0.0, "active": true,
		"current_start": "2026-05-01T22:00:00Z", "current_end": "2026-05-01T23:30:00Z",
	})
	if _, ok := oneOff["cron"]; ok {
		t.Errorf("a one-off window shows cron: %s", r.raw)
	}

	// Every Sunday at 02:00 in Berlin: next on 3 May, 00:00 UTC.
	recurring := e.createWindow(t, `{"name":"nightly","all_monitors":true,"cron":"0 2 * * 0","time_zone":"Europe/Berlin","duration_seconds":7200}`)
	wantFields(t, "recurring", recurring, map[string]any{
		"monitors": []any{}, "all_monitors": true, "starts_at": nil, "ends_at": nil, "cron": "0 2 * * 0",
		"time_zone": "Europe/Berlin", "duration_seconds": 7200.0, "active": false,
		"current_start": "2026-05-03T00:00:00Z", "current_end": "2026-05-03T02:00:00Z",
	})
	// A one-off window in the past is history: accepted, with no occurrence.
	past := e.createWindow(t, `{"name":"last year","monitors":["`+m1+`"],"starts_at":"2025-05-01T00:00:00Z","ends_at":"2025-05-02T00:00:00Z"}`)
	wantFields(t, "past", past, map[string]any{"active": false, "current_start": nil, "current_end": nil})

	r = e.do(t, "GET", "/api/v1/maintenance/"+id, "", "")
	if r.status != 200 || r.body["name"] != "db upgrade" || r.body["active"] != true {
		t.Fatalf("get = %d %s", r.status, r.raw)
	}
	r = e.do(t, "GET", "/api/v1/maintenance", "", "")
	list, _ := r.body["windows"].([]any)
	if r.status != 200 || len(list) != 3 || list[0].(map[string]any)["id"] != id || list[1].(map[string]any)["id"] != recurring["id"] {
		t.Fatalf("list = %d %s", r.status, r.raw)
	}

	r = e.do(t, "PATCH", "/api/v1/maintenance/"+id, "application/json", `{"name":"db upgrade, take two","ends_at":"2026-05-02T00:30:00Z"}`)
	if r.status != 200 {
		t.Fatalf("patch = %d %s", r.status, r.raw)
	}
	wantFields(t, "patched", r.body, map[string]any{
		"name": "db upgrade, take two", "monitors": []any{m1, m2}, "ends_at": "2026-05-02T00:30:00Z", "current_end": "2026-05-02T00:30:00Z",
	})
	// Into a recurring window, every day at 22:00 UTC for an hour.
	r = e.do(t, "PATCH", "/api/v1/maintenance/"+id, "application/json",
		`{"starts_at":null,"ends_at":null,"cron":"0 22 * * *","duration_seconds":3600,"monitors":["`+m1+`"]}`)
	if r.status != 200 {
		t.Fatalf("patch to recurring = %d %s", r.status, r.raw)
	}
	wantFields(t, "patched to recurring", r.body, map[string]any{
		"starts_at": nil, "ends_at": nil, "cron": "0 22 * * *", "duration_seconds": 3600.0, "monitors": []any{m1},
		"active": true, "current_start": "2026-05-01T22:00:00Z", "current_end": "2026-05-01T23:00:00Z",
	})
	// And back.
	r = e.do(t, "PATCH", "/api/v1/maintenance/"+id, "application/json",
		`{"cron":"","duration_seconds":0,"starts_at":"2026-06-01T00:00:00Z","ends_at":"2026-06-01T01:00:00Z"}`)
	if r.status != 200 || r.body["active"] != false || r.body["current_start"] != "2026-06-01T00:00:00Z" {
		t.Fatalf("patch back to one-off = %d %s", r.status, r.raw)
	}

	if r := e.do(t, "DELETE", "/api/v1/maintenance/"+id, "", ""); r.status != http.StatusNoContent {
		t.Fatalf("delete = %d %s", r.status, r.raw)
	}
	for _, method := range []string{"GET", "PATCH", "DELETE"} {
		r := e.do(t, method, "/api/v1/maintenance/"+id, "application/json", `{"name":"x"}`)
		if r.status != 404 || r.body["detail"] != "No maintenance window has this id." {
			t.Fatalf("%s after delete = %d %s", method, r.status, r.raw)
		}
	}
	if r := e.do(t, "GET", "/api/v1/maintenance", "", ""); len(r.body["windows"].([]any)) != 2 {
		t.Fatalf("list after delete = %s", r.raw)
	}
}

func TestMaintenanceBadRequests(t *testing.T) {
	e := setupMaintenance(t)
	m := e.create(t, `{"name":"a","url":"https://a.example"}`)["id"].(string)
	id := e.createWindow(t, `{"name":"w","monitors":["`+m+`"],"starts_at":"2026-05-01T22:00:00Z","ends_at":"2026-05-01T23:00:00Z"}`)["id"].(string)
	coll := "/api/v1/maintenance"
	one := coll + "/" + id
	oneOff := func(extra string) string {
		return `{"name":"w","monitors":["` + m + `"],"starts_at":"2026-05-01T22:00:00Z","ends_at":"2026-05-01T23:00:00Z"` + extra + `}`
	}
	recurring := func(extra string) string {
		return `{"name":"w","all_monitors":true,"cron":"0 2 * * *","duration_seconds":3600` + extra + `}`
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		field, message           string // the field named in errors, and its message; "" for none
	}{
		{"no name", "POST", coll, `{"monitors":["` + m + `"],"starts_at":"2026-05-01T22:00:00Z","ends_at":"2026-05-01T23:00:00Z"}`, 400, "name", "is required"},
		{"blank name", "POST", coll, oneOff(`,"name":"  "`), 400, "name", "is required"}, // a repeated key: the last counts
		{"long name", "POST", coll, recurring(`,"name":"` + strings.Repeat("x", 201) + `"`), 400, "name", "must be at most 200 characters"},
		{"null name", "POST", coll, `{"name":null}`, 400, "name", "must not be null"},
		{"no monitors", "POST", coll, `{"name":"w","starts_at":"2026-05-01T22:00:00Z","ends_at":"2026-05-01T23:00:00Z"}`, 400, "monitors", "must list at least one monitor id, or set all_monitors"},
		{"monitors and all", "POST", coll, oneOff(`,"all_monitors":true`), 400, "monitors", "must be empty when all_monitors is set"},
		{"unknown monitors", "POST", coll, `{"name":"w","monitors":["` + m + `","999998","999999","999998"],"starts_at":"2026-05-01T22:00:00Z","ends_at":"2026-05-01T23:00:00Z"}`,
			400, "monitors", `holds ids of no monitor: "999998", "999999"`},
		{"malformed monitor id", "POST", coll, `{"name":"w","monitors":["abc"]}`, 400, "monitors", `holds "abc", which is not a monitor id`},
		{"monitor ids as numbers", "POST", coll, `{"name":"w","monitors":[1]}`, 400, "monitors", `must be a list of monitor ids such as ["3"]`},
		{"all_monitors as string", "POST", coll, `{"name":"w","all_monitors":"yes"}`, 400, "all_monitors", "must be true or false"},
		{"no start", "POST", coll, `{"name":"w","all_monitors":true,"ends_at":"2026-05-01T23:00:00Z"}`, 400, "starts_at", "is required (RFC 3339), or give cron and duration_seconds for a recurring window"},
		{"no end", "POST", coll, `{"name":"w","all_monitors":true,"starts_at":"2026-05-01T23:00:00Z"}`, 400, "ends_at", "is required (RFC 3339)"},
		{"start without zone", "POST", coll, oneOff(`,"starts_at":"2026-05-01T22:00:00"`), 400, "starts_at", "must be an RFC 3339 time such as 2026-01-02T15:04:05Z, or null"},
		{"start before 1970", "POST", coll, oneOff(`,"starts_at":"1969-12-31T23:00:00Z"`), 400, "starts_at", "must be between the years 1970 and 9999"},
		{"end before start", "POST", coll, oneOff(`,"ends_at":"2026-05-01T21:00:00Z"`), 400, "ends_at", "must be after starts_at"},
		{"duration on one-off", "POST", coll, oneOff(`,"duration_seconds":60`), 400, "duration_seconds", "is for recurring windows; a one-off window has starts_at and ends_at"},
		{"start on recurring", "POST", coll, recurring(`,"starts_at":"2026-05-01T22:00:00Z"`), 400, "starts_at", "is for one-off windows; a recurring window has cron, time_zone and duration_seconds"},
		{"bad cron", "POST", coll, recurring(`,"cron":"at two"`), 400, "cron", "is not a cron expression (minute hour day-of-month month day-of-week, or @daily): expected exactly 5 fields, found 2: [at two]"},
		{"cron never fires", "POST", coll, recurring(`,"cron":"0 2 31 2 *"`), 400, "cron", "never fires"},
		{"cron naming a zone", "POST", coll, recurring(`,"cron":"TZ=UTC"`), 400, "cron", "must not name a time zone (TZ=); set time_zone instead"},
		{"cron as number", "POST", coll, recurring(`,"cron":5`), 400, "cron", `must be a string such as "0 2 * * 0"`},
		{"bad time zone", "POST", coll, recurring(`,"time_zone":"Mars/Olympus"`), 400, "time_zone", `"Mars/Olympus" is not a known time zone (an IANA name such as Europe/Berlin or UTC)`},
		{"duration too short", "POST", coll, recurring(`,"duration_seconds":59`), 400, "duration_seconds", "must be between 60 and 604800"},
		{"duration huge", "POST", coll, recurring(`,"duration_seconds":9000000000000000000`), 400, "duration_seconds", "must be between 60 and 604800"},
		{"duration negative", "POST", coll, recurring(`,"duration_seconds":-9000000000000000000`), 400, "duration_seconds", "must be between 60 and 604800"},
		{"duration fractional", "POST", coll, recurring(`,"duration_seconds":1.5`), 400, "duration_seconds", "must be a whole number"},
		{"unknown field", "POST", coll, recurring(`,"colour":"red"`), 400, "colour", "is not a known field"},
		{"read-only field", "POST", coll, recurring(`,"active":true`), 400, "active", "is read-only"},
		{"id field", "POST", coll, recurring(`,"id":"7"`), 400, "id", "is read-only"},
		{"malformed json", "POST", coll, `{"name":`, 400, "", ""},
		{"array body", "POST", coll, `[]`, 400, "", ""},
		{"patch bad field", "PATCH", one, `{"ends_at":"2026-05-01T21:00:00Z"}`, 400, "ends_at", "must be after starts_at"},
		{"patch to recurring without clearing", "PATCH", one, `{"cron":"0 2 * * *","duration_seconds":60}`, 400, "starts_at", "is for one-off windows; a recurring window has cron, time_zone and duration_seconds"},
		{"patch unknown monitors", "PATCH", one, `{"monitors":["999999"]}`, 400, "monitors", `holds ids of no monitor: "999999"`},
		{"patch unknown field", "PATCH", one, `{"colour":"red"}`, 400, "colour", "is not a known field"},
		{"patch unknown id", "PATCH", coll + "/999999", `{"name":"x"}`, 404, "", ""},
		{"get unknown id", "GET", coll + "/999999", ``, 404, "", ""},
		{"malformed id", "GET", coll + "/abc", ``, 404, "", ""},
		{"id with leading zero", "DELETE", coll + "/0" + id, ``, 404, "", ""},
		{"wrong method", "PUT", one, `{}`, 405, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, c.method, c.path, "application/json", c.body)
			if r.status != c.status {
				t.Fatalf("status = %d, want %d: %s", r.status, c.status, r.raw)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type = %q, want application/problem+json", ct)
			}
			if c.field == "" {
				return
			}
			errs, _ := r.body["errors"].([]any)
			for _, fe := range errs {
				if f := fe.(map[string]any); f["field"] == c.field {
					if f["message"] != c.message {
						t.Fatalf("%s: message %q, want %q", c.field, f["message"], c.message)
					}
					return
				}
			}
			t.Fatalf("errors do not name %s: %s", c.field, r.raw)
		})
	}
	// None of them changed anything.
	r := e.do(t, "GET", coll, "", "")
	list := r.body["windows"].([]any)
	if len(list) != 1 {
		t.Fatalf("after bad requests: %s", r.raw)
	}
	wantFields(t, "after bad requests", list[0].(map[string]any), map[string]any{
		"name": "w", "monitors": []any{m}, "starts_at": "2026-05-01T22:00:00Z", "ends_at": "2026-05-01T23:00:00Z",
	})
}

func TestMaintenanceScopes(t *testing.T) {
	e := setupMaintenance(t)
	id := e.createWindow(t, `{"name":"w","all_monitors":true,"cron":"@daily","duration_seconds":600}`)["id"].(string)
	e.token = e.tokens[auth.Read]
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/v1/maintenance", `{"name":"w","all_monitors":true,"cron":"@daily","duration_seconds":600}`},
		{"PATCH", "/api/v1/maintenance/" + id, `{"name":"x"}`},
		{"DELETE", "/api/v1/maintenance/" + id, ``},
	} {
		if r := e.do(t, c.method, c.path, "application/json", c.body); r.status != http.StatusForbidden {
			t.Errorf("%s %s with a read token = %d %s, want 403", c.method, c.path, r.status, r.raw)
		}
	}
	for _, path := range []string{"/api/v1/maintenance", "/api/v1/maintenance/" + id} {
		if r := e.do(t, "GET", path, "", ""); r.status != http.StatusOK {
			t.Errorf("GET %s with a read token = %d %s", path, r.status, r.raw)
		}
	}
	e.token = e.tokens[auth.Write]
	if r := e.do(t, "PATCH", "/api/v1/maintenance/"+id, "application/json", `{"name":"x"}`); r.status != http.StatusOK || r.body["name"] != "x" {
		t.Fatalf("PATCH with a write token = %d %s", r.status, r.raw)
	}
}

// TestUptimeLeavesMaintenanceOut stores, with SQL as the batch writer
// does, two hours of one check a minute from 00:00, of which 00:20 to
// 01:00 are in maintenance and all fail; outside, every 10th fails.
func TestUptimeLeavesMaintenanceOut(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	id := e.create(t, `{"name":"h","url":"https://example.com"}`)["id"].(string)
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	_, err := e.store.Pool().Exec(ctx, `
		INSERT INTO check_results (time, monitor_id, ok, latency_ms, worker, maintenance)
		SELECT @base::timestamptz + i * interval '1 minute', @id,
			CASE WHEN i >= 20 AND i < 60 THEN false ELSE i % 10 <> 0 END, 100, 'w', i >= 20 AND i < 60
		FROM generate_series(0, 119) AS i`, pgx.NamedArgs{"base": base, "id": mustID(t, id)})
	if err != nil {
		t.Fatalf("insert results: %v", err)
	}
	_, err = e.store.Pool().Exec(ctx, `
		INSERT INTO check_rollups_hourly (monitor_id, bucket, checks, failures, latency_sum_ms,
			latency_min_ms, latency_max_ms, latency_hist, maintenance, maintenance_failures)
		SELECT monitor_id, date_trunc('hour', time), count(*), count(*) FILTER (WHERE NOT ok),
			coalesce(sum(latency_ms) FILTER (WHERE ok), 0), min(latency_ms) FILTER (WHERE ok),
			max(latency_ms) FILTER (WHERE ok), array_fill(0, ARRAY[29]),
			count(*) FILTER (WHERE maintenance), count(*) FILTER (WHERE maintenance AND NOT ok)
		FROM check_results WHERE monitor_id = $1
		GROUP BY 1, 2`, mustID(t, id))
	if err != nil {
		t.Fatalf("insert rollups: %v", err)
	}

	// 120 checks, 40 in maintenance; of the 80 outside, 8 failed: 90%.
	for _, bucket := range []string{"20m", "1h"} {
		r := e.do(t, "GET", "/api/v1/monitors/"+id+"/uptime?from=2026-03-01T00:00:00Z&to=2026-03-01T02:00:00Z&bucket="+bucket, "", "")
		if r.status != 200 {
			t.Fatalf("uptime %s = %d %s", bucket, r.status, r.raw)
		}
		wantFields(t, "uptime "+bucket, r.body, map[string]any{
			"checks": 120.0, "failures": 48.0, "maintenance_checks": 40.0, "uptime_percent": 90.0,
		})
		buckets := r.body["buckets"].([]any)
		want := map[string][]map[string]any{
			// 00:00, 00:20 (in maintenance), 00:40 (in maintenance), 01:00, 01:20, 01:40.
			"20m": {
				{"checks": 20.0, "failures": 2.0, "maintenance_checks": 0.0, "uptime_percent": 90.0},
				{"checks": 20.0, "failures": 20.0, "maintenance_checks": 20.0, "uptime_percent": nil},
				{"checks": 20.0, "failures": 20.0, "maintenance_checks": 20.0, "uptime_percent": nil},
				{"checks": 20.0, "failures": 2.0, "maintenance_checks": 0.0, "uptime_percent": 90.0},
				{"checks": 20.0, "failures": 2.0, "maintenance_checks": 0.0, "uptime_percent": 90.0},
				{"checks": 20.0, "failures": 2.0, "maintenance_checks": 0.0, "uptime_percent": 90.0},
			},
			"1h": {
				{"checks": 60.0, "failures": 42.0, "maintenance_checks": 40.0, "uptime_percent": 90.0},
				{"checks": 60.0, "failures": 6.0, "maintenance_checks": 0.0, "uptime_percent": 90.0},
			},
		}[bucket]
		if len(buckets) != len(want) {
			t.Fatalf("uptime %s: %d buckets, want %d", bucket, len(buckets), len(want))
		}
		for i, b := range buckets {
			wantFields(t, fmt.Sprintf("uptime %s bucket %d", bucket, i), b.(map[string]any), want[i])
		}
	}

	r := e.do(t, "GET", "/api/v1/monitors/"+id+"/checks?limit=1000&from=2026-03-01T00:00:00Z&to=2026-03-01T02:00:00Z", "", "")
	checks := r.body["checks"].([]any)
	if r.status != 200 || len(checks) != 120 {
		t.Fatalf("checks = %d, %d checks", r.status, len(checks))
	}
	flagged := 0
	for _, c := range checks {
		c := c.(map[string]any)
		at, _ := time.Parse(time.RFC3339, c["time"].(string))
		minute := int(at.Sub(base) / time.Minute)
		if want := minute >= 20 && minute < 60; c["maintenance"] != want {
			t.Fatalf("check at %s: maintenance = %v, want %v", c["time"], c["maintenance"], want)
		}
		if c["maintenance"] == true {
			flagged++
		}
	}
	if flagged != 40 {
		t.Fatalf("%d checks shown in maintenance, want 40", flagged)
	}
}
