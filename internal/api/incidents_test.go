package api_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pinguin-dev/pinguin/internal/api"
	"github.com/pinguin-dev/pinguin/internal/auth"
	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// The alerting pipeline writes incidents, their events and deliveries; it
// is not this file's subject, so its rows are inserted with plain SQL.

// alertT0 is when the test incidents start; alertNow is the API's clock.
var (
	alertT0  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	alertNow = alertT0.Add(3 * time.Hour)
)

func setupAlerting(t *testing.T) *env {
	t.Helper()
	return setupWith(t, api.Options{Now: func() time.Time { return alertNow }})
}

func (e *env) alertMonitor(t *testing.T, name string) int64 {
	t.Helper()
	m := monitor.Defaults()
	m.Name, m.URL = name, "https://example.com/"
	out, err := e.store.CreateMonitor(context.Background(), m)
	if err != nil {
		t.Fatalf("create monitor: %v", err)
	}
	return out.ID
}

// alertIncident inserts an incident of monitorID that started at started
// and, unless resolved is zero, recovered then.
func (e *env) alertIncident(t *testing.T, monitorID int64, started, resolved time.Time) int64 {
	t.Helper()
	var resolvedAt *time.Time
	var resolution *string
	if !resolved.IsZero() {
		r := "recovered"
		resolvedAt, resolution = &resolved, &r
	}
	var id int64
	err := e.store.Pool().QueryRow(context.Background(), `
		INSERT INTO incidents (monitor_id, started_at, resolved_at, resolution, error, status_code, failed_checks)
		VALUES ($1, $2, $3, $4, 'HTTP 503', 503, 3)
		RETURNING id`, monitorID, started, resolvedAt, resolution).Scan(&id)
	if err != nil {
		t.Fatalf("insert incident: %v", err)
	}
	return id
}

func (e *env) alertEvent(t *testing.T, incidentID int64, at time.Time, kind string, channelID *int64, message string) {
	t.Helper()
	_, err := e.store.Pool().Exec(context.Background(), `
		INSERT INTO incident_events (incident_id, at, kind, channel_id, message) VALUES ($1, $2, $3, $4, $5)`,
		incidentID, at, kind, channelID, message)
	if err != nil {
		t.Fatalf("insert event: %v", err)
	}
}

func (e *env) alertChannel(t *testing.T, name string) int64 {
	t.Helper()
	var id int64
	err := e.store.Pool().QueryRow(context.Background(), `
		INSERT INTO channels (name, type) VALUES ($1, 'webhook') RETURNING id`, name).Scan(&id)
	if err != nil {
		t.Fatalf("insert channel: %v", err)
	}
	return id
}

// alertDelivery inserts a down delivery in state, created at alertT0, that
// made attempts, the last answered with HTTP 500.
func (e *env) alertDelivery(t *testing.T, channelID, monitorID int64, incidentID *int64, state string, attempts int) int64 {
	t.Helper()
	var id int64
	err := e.store.Pool().QueryRow(context.Background(), `
		INSERT INTO deliveries (idempotency_key, channel_id, monitor_id, incident_id, kind, payload, state,
			attempts, next_attempt_at, last_status, last_error, created_at)
		VALUES (gen_random_uuid()::text, $1, $2, $3, 'down', '{"monitor_name":"API"}', $4, $5, $6, 500, 'HTTP 500', $6)
		RETURNING id`, channelID, monitorID, incidentID, state, attempts, alertT0).Scan(&id)
	if err != nil {
		t.Fatalf("insert delivery: %v", err)
	}
	return id
}

func idText(id int64) string { return strconv.FormatInt(id, 10) }

// alertListIDs returns the ids of the objects under key in a list response.
func alertListIDs(t *testing.T, r response, key string) []string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	items, ok := r.body[key].([]any)
	if !ok {
		t.Fatalf("%s is not an array: %s", key, r.raw)
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.(map[string]any)["id"].(string)
	}
	return out
}

// alertFields compares the fields of got named in want.
func alertFields(t *testing.T, what string, got map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: no field %s", what, k)
			continue
		}
		if m, isMap := v.(map[string]any); isMap {
			alertFields(t, what+"."+k, g.(map[string]any), m)
		} else if g != v {
			t.Errorf("%s: %s = %v (%T), want %v (%T)", what, k, g, g, v, v)
		}
	}
}

func TestListIncidentsFilters(t *testing.T) {
	e := setupAlerting(t)
	a, b := e.alertMonitor(t, "API"), e.alertMonitor(t, "Web")
	a1 := e.alertIncident(t, a, alertT0, alertT0.Add(5*time.Minute))
	b1 := e.alertIncident(t, b, alertT0.Add(30*time.Minute), alertT0.Add(40*time.Minute))
	a2 := e.alertIncident(t, a, alertT0.Add(time.Hour), alertT0.Add(70*time.Minute))
	a3 := e.alertIncident(t, a, alertT0.Add(2*time.Hour), time.Time{})
	ids := func(ids ...int64) []string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = idText(id)
		}
		return out
	}
	at := func(d time.Duration) string { return url.QueryEscape(alertT0.Add(d).Format(time.RFC3339)) }

	cases := []struct {
		name, path string
		want       []string
	}{
		{"all", "/api/v1/incidents", ids(a3, a2, b1, a1)},
		{"monitor", "/api/v1/incidents?monitor=" + idText(a), ids(a3, a2, a1)},
		{"unknown monitor", "/api/v1/incidents?monitor=999999", ids()},
		{"open", "/api/v1/incidents?state=open", ids(a3)},
		{"resolved", "/api/v1/incidents?state=resolved", ids(a2, b1, a1)},
		{"from", "/api/v1/incidents?from=" + at(30*time.Minute), ids(a3, a2, b1)},
		{"to", "/api/v1/incidents?to=" + at(time.Hour), ids(b1, a1)},
		{"window", "/api/v1/incidents?from=" + at(time.Minute) + "&to=" + at(2*time.Hour), ids(a2, b1)},
		{"window in another zone", "/api/v1/incidents?from=" + url.QueryEscape("2026-03-01T13:31:00+01:00") + "&to=" + at(2*time.Hour), ids(a2)},
		{"monitor, state and window", "/api/v1/incidents?monitor=" + idText(a) + "&state=resolved&from=" + at(time.Minute), ids(a2)},
		{"monitor route", "/api/v1/monitors/" + idText(a) + "/incidents", ids(a3, a2, a1)},
		{"monitor route, resolved before", "/api/v1/monitors/" + idText(a) + "/incidents?state=resolved&to=" + at(time.Hour), ids(a1)},
		{"monitor route ignores monitor", "/api/v1/monitors/" + idText(b) + "/incidents?monitor=" + idText(a), ids(b1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := alertListIDs(t, e.do(t, "GET", c.path, "", ""), "incidents"); !slices.Equal(got, c.want) {
				t.Fatalf("ids = %v, want %v", got, c.want)
			}
		})
	}

	r := e.do(t, "GET", "/api/v1/incidents?monitor="+idText(a)+"&limit=2", "", "")
	list := r.body["incidents"].([]any)
	alertFields(t, "open incident", list[0].(map[string]any), map[string]any{
		"id": idText(a3), "monitor": map[string]any{"id": idText(a), "name": "API"}, "state": "open",
		"started_at": "2026-03-01T14:00:00Z", "resolved_at": nil, "duration_seconds": 3600.0, "resolution": nil,
		"error": "HTTP 503", "status_code": 503.0, "failed_checks": 3.0, "acknowledged_at": nil, "acknowledged_by": nil,
	})
	alertFields(t, "resolved incident", list[1].(map[string]any), map[string]any{
		"id": idText(a2), "state": "resolved", "started_at": "2026-03-01T13:00:00Z", "resolved_at": "2026-03-01T13:10:00Z",
		"duration_seconds": 600.0, "resolution": "recovered",
	})
	for _, k := range []string{"timeline", "deliveries"} {
		if _, ok := list[0].(map[string]any)[k]; ok {
			t.Errorf("a listed incident has %s", k)
		}
	}
	if len(list[0].(map[string]any)) != 12 {
		t.Errorf("an incident has %d fields, want 12: %v", len(list[0].(map[string]any)), list[0])
	}
}

func TestIncidentPages(t *testing.T) {
	e := setupAlerting(t)
	m := e.alertMonitor(t, "API")
	var want []string
	for i := range 5 {
		start := alertT0.Add(time.Duration(i) * time.Minute)
		want = append([]string{idText(e.alertIncident(t, m, start, start.Add(30*time.Second)))}, want...)
	}
	other := e.alertMonitor(t, "Web")
	e.alertIncident(t, other, alertT0, time.Time{}) // on another monitor: never listed below

	for _, base := range []string{"/api/v1/incidents?monitor=" + idText(m) + "&state=resolved&limit=2", "/api/v1/monitors/" + idText(m) + "/incidents?limit=2"} {
		var got []string
		path := base
		for page := 1; ; page++ {
			r := e.do(t, "GET", path, "", "")
			ids := alertListIDs(t, r, "incidents")
			got = append(got, ids...)
			next, _ := r.body["next_cursor"].(string)
			if page < 3 && (len(ids) != 2 || next == "") {
				t.Fatalf("%s: page %d = %v, next %q; want 2 and a cursor", base, page, ids, next)
			}
			if page == 3 {
				if len(ids) != 1 || r.body["next_cursor"] != nil {
					t.Fatalf("%s: last page = %v, next %v; want 1 and null", base, ids, r.body["next_cursor"])
				}
				break
			}
			path = base + "&cursor=" + next
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: pages hold %v, want %v", base, got, want)
		}
	}
	// An exactly full last page has no next cursor.
	r := e.do(t, "GET", "/api/v1/incidents?monitor="+idText(m)+"&limit=5", "", "")
	if len(alertListIDs(t, r, "incidents")) != 5 || r.body["next_cursor"] != nil {
		t.Fatalf("full page: %s", r.raw)
	}
}

func TestGetIncident(t *testing.T) {
	e := setupAlerting(t)
	m := e.alertMonitor(t, "API")
	ops, dev := e.alertChannel(t, "ops"), e.alertChannel(t, "dev")
	inc := e.alertIncident(t, m, alertT0, time.Time{})
	e.alertEvent(t, inc, alertT0, "opened", nil, "HTTP 503")
	e.alertEvent(t, inc, alertT0.Add(time.Minute), "notified", &ops, "")
	e.alertEvent(t, inc, alertT0.Add(2*time.Minute), "notify_failed", &dev, "HTTP 500")
	delivered := e.alertDelivery(t, ops, m, &inc, "delivered", 1)
	dead := e.alertDelivery(t, dev, m, &inc, "dead", 10)
	older := e.alertIncident(t, m, alertT0.Add(-time.Hour), alertT0.Add(-50*time.Minute))
	e.alertDelivery(t, ops, m, &older, "delivered", 1) // another incident's

	r := e.do(t, "GET", "/api/v1/incidents/"+idText(inc), "", "")
	if r.status != http.StatusOK {
		t.Fatalf("get = %d %s", r.status, r.raw)
	}
	alertFields(t, "incident", r.body, map[string]any{"id": idText(inc), "state": "open", "duration_seconds": 10800.0})
	timeline := r.body["timeline"].([]any)
	want := []map[string]any{
		{"at": "2026-03-01T12:00:00Z", "kind": "opened", "message": "HTTP 503"},
		{"at": "2026-03-01T12:01:00Z", "kind": "notified", "channel": idText(ops), "message": ""},
		{"at": "2026-03-01T12:02:00Z", "kind": "notify_failed", "channel": idText(dev), "message": "HTTP 500"},
	}
	if len(timeline) != len(want) {
		t.Fatalf("timeline = %v", timeline)
	}
	for i, ev := range timeline {
		if len(ev.(map[string]any)) != len(want[i]) {
			t.Errorf("event %d = %v, want %v", i, ev, want[i])
		}
		alertFields(t, "event "+strconv.Itoa(i), ev.(map[string]any), want[i])
	}
	if got := alertListIDs(t, r, "deliveries"); !slices.Equal(got, []string{idText(dead), idText(delivered)}) {
		t.Fatalf("deliveries = %v, want %v", got, []string{idText(dead), idText(delivered)})
	}
	alertFields(t, "dead delivery", r.body["deliveries"].([]any)[0].(map[string]any), map[string]any{
		"id": idText(dead), "incident": idText(inc), "monitor": idText(m), "channel": idText(dev), "kind": "down", "state": "dead",
		"attempts": 10.0, "next_attempt_at": "2026-03-01T12:00:00Z", "last_status": 500.0, "last_error": "HTTP 500",
		"created_at": "2026-03-01T12:00:00Z", "delivered_at": nil,
	})

	// Without events or deliveries: empty arrays, not null.
	r = e.do(t, "GET", "/api/v1/incidents/"+idText(e.alertIncident(t, e.alertMonitor(t, "Web"), alertT0, time.Time{})), "", "")
	if r.status != http.StatusOK || len(r.body["timeline"].([]any)) != 0 || len(r.body["deliveries"].([]any)) != 0 {
		t.Fatalf("bare incident = %d %s", r.status, r.raw)
	}

	for _, id := range []string{"999999", "abc", "0" + idText(inc), "-1", "99999999999999999999"} {
		if r := e.do(t, "GET", "/api/v1/incidents/"+id, "", ""); r.status != http.StatusNotFound || r.body["detail"] != "No incident has this id." {
			t.Errorf("get incident %s = %d %s, want 404", id, r.status, r.raw)
		}
	}
}

func TestAcknowledgeIncident(t *testing.T) {
	e := setupAlerting(t)
	m := e.alertMonitor(t, "API")
	inc := e.alertIncident(t, m, alertT0, time.Time{})
	e.alertEvent(t, inc, alertT0, "opened", nil, "")
	path := "/api/v1/incidents/" + idText(inc) + "/acknowledge"

	e.token = e.tokens[auth.Read]
	if r := e.do(t, "POST", path, "", ""); r.status != http.StatusForbidden {
		t.Fatalf("acknowledge with a read token = %d %s, want 403", r.status, r.raw)
	}

	e.token = e.tokens[auth.Write]
	r := e.do(t, "POST", path, "", "")
	if r.status != http.StatusOK {
		t.Fatalf("acknowledge = %d %s", r.status, r.raw)
	}
	alertFields(t, "acknowledged", r.body, map[string]any{
		"state": "open", "acknowledged_at": "2026-03-01T15:00:00Z", "acknowledged_by": "write token",
	})
	timeline := r.body["timeline"].([]any)
	if len(timeline) != 2 {
		t.Fatalf("timeline = %v, want opened and acknowledged", timeline)
	}
	alertFields(t, "acknowledged event", timeline[1].(map[string]any), map[string]any{
		"at": "2026-03-01T15:00:00Z", "kind": "acknowledged", "message": "acknowledged by write token",
	})
	var reminder *time.Time
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT next_reminder_at FROM incidents WHERE id = $1`, inc).Scan(&reminder); err != nil || reminder != nil {
		t.Fatalf("next_reminder_at = %v (%v), want NULL", reminder, err)
	}

	// Again, with another token: nothing changes.
	e.token = e.tokens[auth.Admin]
	r = e.do(t, "POST", path, "application/json", `{}`)
	if r.status != http.StatusOK || r.body["acknowledged_by"] != "write token" || len(r.body["timeline"].([]any)) != 2 {
		t.Fatalf("second acknowledge = %d %s", r.status, r.raw)
	}
	if r := e.do(t, "GET", "/api/v1/incidents/"+idText(inc), "", ""); len(r.body["timeline"].([]any)) != 2 {
		t.Fatalf("timeline after two acknowledgements: %s", r.raw)
	}

	resolved := e.alertIncident(t, m, alertT0.Add(-time.Hour), alertT0.Add(-50*time.Minute))
	r = e.do(t, "POST", "/api/v1/incidents/"+idText(resolved)+"/acknowledge", "", "")
	if r.status != http.StatusConflict || r.body["detail"] != "The incident is resolved; only open incidents can be acknowledged." {
		t.Fatalf("acknowledge resolved = %d %s, want 409", r.status, r.raw)
	}
	if r := e.do(t, "GET", "/api/v1/incidents/"+idText(resolved), "", ""); r.body["acknowledged_at"] != nil || len(r.body["timeline"].([]any)) != 0 {
		t.Fatalf("refused acknowledgement changed the incident: %s", r.raw)
	}
	for _, id := range []string{"999999", "x"} {
		if r := e.do(t, "POST", "/api/v1/incidents/"+id+"/acknowledge", "", ""); r.status != http.StatusNotFound {
			t.Errorf("acknowledge %s = %d %s, want 404", id, r.status, r.raw)
		}
	}
}

func TestMonitorIncidentsOfUnknownMonitor(t *testing.T) {
	e := setupAlerting(t)
	for _, id := range []string{"999999", "abc"} {
		r := e.do(t, "GET", "/api/v1/monitors/"+id+"/incidents", "", "")
		if r.status != http.StatusNotFound || r.body["detail"] != "No monitor has this id." {
			t.Errorf("incidents of monitor %s = %d %s, want 404", id, r.status, r.raw)
		}
	}
	m := e.alertMonitor(t, "API")
	r := e.do(t, "GET", "/api/v1/monitors/"+idText(m)+"/incidents", "", "")
	if ids := alertListIDs(t, r, "incidents"); len(ids) != 0 || r.body["next_cursor"] != nil {
		t.Fatalf("incidents of a monitor without any: %s", r.raw)
	}
}

func TestDeliveriesListAndRetry(t *testing.T) {
	e := setupAlerting(t)
	m := e.alertMonitor(t, "API")
	ops, dev := e.alertChannel(t, "ops"), e.alertChannel(t, "dev")
	inc := e.alertIncident(t, m, alertT0, time.Time{})
	dead1 := e.alertDelivery(t, ops, m, &inc, "dead", 10)
	delivered := e.alertDelivery(t, dev, m, &inc, "delivered", 1)
	dead2 := e.alertDelivery(t, dev, m, &inc, "dead", 10)
	cert := e.alertDelivery(t, ops, m, nil, "pending", 0)

	cases := []struct {
		name, query string
		want        []int64
	}{
		{"all", "", []int64{cert, dead2, delivered, dead1}},
		{"dead", "?state=dead", []int64{dead2, dead1}},
		{"delivered", "?state=delivered", []int64{delivered}},
		{"incident", "?incident=" + idText(inc), []int64{dead2, delivered, dead1}},
		{"channel", "?channel=" + idText(ops), []int64{cert, dead1}},
		{"dead to dev", "?state=dead&channel=" + idText(dev), []int64{dead2}},
		{"unknown incident", "?incident=999999", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := make([]string, len(c.want))
			for i, id := range c.want {
				want[i] = idText(id)
			}
			if got := alertListIDs(t, e.do(t, "GET", "/api/v1/deliveries"+c.query, "", ""), "deliveries"); !slices.Equal(got, want) {
				t.Fatalf("ids = %v, want %v", got, want)
			}
		})
	}
	r := e.do(t, "GET", "/api/v1/deliveries?state=pending", "", "")
	alertFields(t, "certificate delivery", r.body["deliveries"].([]any)[0].(map[string]any), map[string]any{"incident": nil})

	// Pages.
	r = e.do(t, "GET", "/api/v1/deliveries?limit=3", "", "")
	next, _ := r.body["next_cursor"].(string)
	if got := alertListIDs(t, r, "deliveries"); len(got) != 3 || next == "" {
		t.Fatalf("page 1 = %s", r.raw)
	}
	r = e.do(t, "GET", "/api/v1/deliveries?limit=3&cursor="+next, "", "")
	if got := alertListIDs(t, r, "deliveries"); !slices.Equal(got, []string{idText(dead1)}) || r.body["next_cursor"] != nil {
		t.Fatalf("page 2 = %s", r.raw)
	}

	e.token = e.tokens[auth.Read]
	if r := e.do(t, "POST", "/api/v1/deliveries/"+idText(dead1)+"/retry", "", ""); r.status != http.StatusForbidden {
		t.Fatalf("retry with a read token = %d %s, want 403", r.status, r.raw)
	}
	e.token = e.tokens[auth.Write]
	r = e.do(t, "POST", "/api/v1/deliveries/"+idText(dead1)+"/retry", "", "")
	if r.status != http.StatusOK {
		t.Fatalf("retry = %d %s", r.status, r.raw)
	}
	alertFields(t, "retried", r.body, map[string]any{
		"id": idText(dead1), "state": "pending", "attempts": 0.0, "last_status": 500.0, "last_error": "HTTP 500",
	})
	if got := alertListIDs(t, e.do(t, "GET", "/api/v1/deliveries?state=dead", "", ""), "deliveries"); !slices.Equal(got, []string{idText(dead2)}) {
		t.Fatalf("dead after retry = %v, want %v", got, []string{idText(dead2)})
	}
	for name, id := range map[string]int64{"retried": dead1, "delivered": delivered, "pending": cert} {
		r := e.do(t, "POST", "/api/v1/deliveries/"+idText(id)+"/retry", "", "")
		if r.status != http.StatusConflict || r.body["detail"] != "The delivery is not dead (it is pending or was delivered); only dead deliveries can be retried." {
			t.Errorf("retry %s = %d %s, want 409", name, r.status, r.raw)
		}
	}
	for _, id := range []string{"999999", "abc"} {
		if r := e.do(t, "POST", "/api/v1/deliveries/"+id+"/retry", "", ""); r.status != http.StatusNotFound {
			t.Errorf("retry %s = %d %s, want 404", id, r.status, r.raw)
		}
	}
}

func TestIncidentBadParameters(t *testing.T) {
	e := setupAlerting(t)
	id := e.alertMonitor(t, "API")
	e.alertIncident(t, id, alertT0, alertT0.Add(time.Minute))
	e.alertIncident(t, id, alertT0.Add(time.Hour), alertT0.Add(61*time.Minute))
	inc, del := "/api/v1/incidents", "/api/v1/deliveries"
	mon := "/api/v1/monitors/" + idText(id) + "/incidents"
	incCursor, ok := e.do(t, "GET", inc+"?limit=1", "", "").body["next_cursor"].(string)
	if !ok {
		t.Fatal("no cursor on a page of one of two incidents")
	}
	cases := []struct {
		name, path, field, message string
	}{
		{"state", inc + "?state=closed", "state", "must be open or resolved"},
		{"monitor route state", mon + "?state=OPEN", "state", "must be open or resolved"},
		{"monitor", inc + "?monitor=abc", "monitor", "must be a monitor id as the API shows it, such as 42"},
		{"monitor zero", inc + "?monitor=0", "monitor", "must be a monitor id as the API shows it, such as 42"},
		{"from", inc + "?from=yesterday", "from", "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"},
		{"to", mon + "?to=2026-13-01T00:00:00Z", "to", "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"},
		{"from after to", inc + "?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from", "must be before to"},
		{"from equals to", mon + "?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from", "must be before to"},
		{"limit", inc + "?limit=0", "limit", "must be a whole number from 1 to 1000"},
		{"cursor", inc + "?cursor=zzz", "cursor", "is not a cursor this list returned"},
		{"monitors cursor", inc + "?cursor=bTE", "cursor", "is not a cursor this list returned"},
		{"delivery state", del + "?state=failed", "state", "must be pending, delivered or dead"},
		{"delivery incident", del + "?incident=x", "incident", "must be an incident id as the API shows it, such as 42"},
		{"delivery channel", del + "?channel=-1", "channel", "must be a channel id as the API shows it, such as 42"},
		{"delivery limit", del + "?limit=1001", "limit", "must be a whole number from 1 to 1000"},
		{"incidents cursor on deliveries", del + "?cursor=" + incCursor, "cursor", "is not a cursor this list returned"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, "GET", c.path, "", "")
			if r.status != http.StatusBadRequest || r.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status = %d (%s), want a 400 problem: %s", r.status, r.header.Get("Content-Type"), r.raw)
			}
			errs, _ := r.body["errors"].([]any)
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one", r.body["errors"])
			}
			if got := errs[0].(map[string]any); got["field"] != c.field || got["message"] != c.message {
				t.Fatalf("error = %v, want %s %q", got, c.field, c.message)
			}
		})
	}
}
