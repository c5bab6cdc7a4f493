package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pinguin-dev/pinguin/internal/api"
	"github.com/pinguin-dev/pinguin/internal/auth"
	"github.com/pinguin-dev/pinguin/internal/schedule"
	"github.com/pinguin-dev/pinguin/internal/store"
	"github.com/pinguin-dev/pinguin/internal/testenv"
)

type env struct {
	srv    *httptest.Server
	sched  *schedule.Schedule
	store  *store.Store
	tokens map[auth.Scope]string
	token  string // sent by do; the admin token unless a test changes it
}

func setup(t *testing.T) *env {
	t.Helper()
	return setupWith(t, api.Options{})
}

func setupWith(t *testing.T, opts api.Options) *env {
	t.Helper()
	t.Parallel()
	st, _ := testenv.Store(t)
	client, prefix := testenv.Redis(t)
	sched := schedule.New(client, prefix)
	srv := httptest.NewServer(api.New(st, sched, prometheus.NewRegistry(), testenv.Logger(t), opts).Handler())
	t.Cleanup(srv.Close)
	e := &env{srv: srv, sched: sched, store: st, tokens: map[auth.Scope]string{}}
	for _, scope := range []auth.Scope{auth.Read, auth.Write, auth.Admin} {
		e.tokens[scope] = newToken(t, st, scope, nil)
	}
	e.token = e.tokens[auth.Admin]
	return e
}

func newToken(t *testing.T, st *store.Store, scope auth.Scope, expires *time.Time) string {
	t.Helper()
	secret := auth.Generate()
	if _, err := st.CreateToken(context.Background(), string(scope)+" token", scope, auth.Hash(secret), auth.Hint(secret), expires); err != nil {
		t.Fatal(err)
	}
	return secret
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) do(t *testing.T, method, path, contentType, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, path, err, raw)
		}
	}
	return r
}

func (e *env) create(t *testing.T, body string) map[string]any {
	t.Helper()
	r := e.do(t, "POST", "/api/v1/monitors", "application/json", body)
	if r.status != http.StatusCreated {
		t.Fatalf("create = %d %s", r.status, r.raw)
	}
	return r.body
}

func TestCreateGetListPatchDelete(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	r := e.do(t, "POST", "/api/v1/monitors", "application/json",
		`{"name":" Example ","url":"https://example.com/health","method":"head","headers":{"X-Token":"a"},"interval_seconds":30}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create = %d %s", r.status, r.raw)
	}
	m := r.body
	id := m["id"].(string)
	if r.header.Get("Location") != "/api/v1/monitors/"+id {
		t.Fatalf("Location = %q", r.header.Get("Location"))
	}
	want := map[string]any{
		"name": "Example", "method": "HEAD", "interval_seconds": 30.0, "timeout_ms": 10000.0,
		"expected_status": "200-299", "follow_redirects": true, "verify_tls": true, "enabled": true,
		"status": "pending", "last_check_at": nil, "body": "",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("created %s = %v, want %v", k, m[k], v)
		}
	}
	// Scheduled at once, within one interval.
	due, ok, err := e.sched.Due(ctx, mustID(t, id))
	if err != nil || !ok || time.Until(due) > 30*time.Second {
		t.Fatalf("schedule after create: due %s ok %v err %v", due, ok, err)
	}

	if r := e.do(t, "GET", "/api/v1/monitors/"+id, "", ""); r.status != 200 || r.body["url"] != "https://example.com/health" {
		t.Fatalf("get = %d %s", r.status, r.raw)
	}

	r = e.do(t, "PATCH", "/api/v1/monitors/"+id, "application/json", `{"enabled":false}`)
	if r.status != 200 || r.body["status"] != "paused" || r.body["name"] != "Example" {
		t.Fatalf("pause = %d %s", r.status, r.raw)
	}
	if _, ok, _ := e.sched.Due(ctx, mustID(t, id)); ok {
		t.Fatal("paused monitor is still scheduled")
	}
	r = e.do(t, "PATCH", "/api/v1/monitors/"+id, "application/json", `{"enabled":true,"interval_seconds":5,"timeout_ms":2000}`)
	if r.status != 200 || r.body["status"] != "pending" || r.body["interval_seconds"] != 5.0 {
		t.Fatalf("resume = %d %s", r.status, r.raw)
	}
	if due, ok, _ := e.sched.Due(ctx, mustID(t, id)); !ok || time.Until(due) > 5*time.Second {
		t.Fatalf("resumed monitor due %s (scheduled %v), want within 5s", due, ok)
	}

	for range 3 {
		e.create(t, `{"name":"n","url":"http://example.com"}`)
	}
	r = e.do(t, "GET", "/api/v1/monitors?limit=3", "", "")
	if r.status != 200 || len(r.body["monitors"].([]any)) != 3 || r.body["next_cursor"] == nil {
		t.Fatalf("list page 1 = %d %s", r.status, r.raw)
	}
	r = e.do(t, "GET", "/api/v1/monitors?limit=3&cursor="+r.body["next_cursor"].(string), "", "")
	if r.status != 200 || len(r.body["monitors"].([]any)) != 1 || r.body["next_cursor"] != nil {
		t.Fatalf("list page 2 = %d %s", r.status, r.raw)
	}

	if r := e.do(t, "DELETE", "/api/v1/monitors/"+id, "", ""); r.status != http.StatusNoContent {
		t.Fatalf("delete = %d %s", r.status, r.raw)
	}
	if _, ok, _ := e.sched.Due(ctx, mustID(t, id)); ok {
		t.Fatal("deleted monitor is still scheduled")
	}
	for _, method := range []string{"GET", "DELETE", "PATCH"} {
		if r := e.do(t, method, "/api/v1/monitors/"+id, "application/json", `{}`); r.status != 404 {
			t.Fatalf("%s after delete = %d %s", method, r.status, r.raw)
		}
	}
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	var id int64
	for _, c := range s {
		id = id*10 + int64(c-'0')
	}
	return id
}

func TestBadRequests(t *testing.T) {
	e := setup(t)
	id := e.create(t, `{"name":"ok","url":"https://example.com"}`)["id"].(string)
	mon := "/api/v1/monitors"
	one := mon + "/" + id
	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		field                                 string // expected field in errors, if any
		message                               string // expected message of that field
	}{
		{"missing name", "POST", mon, "application/json", `{"url":"https://a.example"}`, 400, "name", "is required"},
		{"long name", "POST", mon, "application/json", `{"name":"` + strings.Repeat("x", 201) + `","url":"https://a.example"}`, 400, "name", "must be at most 200 characters"},
		{"missing url", "POST", mon, "application/json", `{"name":"a"}`, 400, "url", "is required"},
		{"relative url", "POST", mon, "application/json", `{"name":"a","url":"/health"}`, 400, "url", "must be an absolute http or https URL"},
		{"ftp url", "POST", mon, "application/json", `{"name":"a","url":"ftp://a.example"}`, 400, "url", "must be an absolute http or https URL"},
		{"url without host", "POST", mon, "application/json", `{"name":"a","url":"http://"}`, 400, "url", "must have a host"},
		{"bad port", "POST", mon, "application/json", `{"name":"a","url":"http://a.example:99999/"}`, 400, "url", "has an invalid port"},
		{"bad method", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","method":"BREW"}`, 400, "method", "must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"},
		{"interval zero", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","interval_seconds":0}`, 400, "interval_seconds", "must be between 1 and 86400"},
		{"interval too long", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","interval_seconds":86401}`, 400, "interval_seconds", "must be between 1 and 86400"},
		{"interval as string", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","interval_seconds":"60"}`, 400, "interval_seconds", "must be a whole number"},
		{"interval fractional", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","interval_seconds":1.5}`, 400, "interval_seconds", "must be a whole number"},
		{"interval huge", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","interval_seconds":1e400}`, 400, "", ""},
		{"timeout too small", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","timeout_ms":99}`, 400, "timeout_ms", "must be between 100 and 60000"},
		{"timeout not below interval", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","interval_seconds":5,"timeout_ms":5000}`, 400, "timeout_ms", "must be less than the interval (5000 ms)"},
		{"expected status junk", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","expected_status":"2xx"}`, 400, "expected_status", `"2xx": status codes are whole numbers from 100 to 599`},
		{"expected status reversed", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","expected_status":"299-200"}`, 400, "expected_status", `"299-200": range ends before it starts`},
		{"headers not strings", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","headers":{"X":1}}`, 400, "headers", "must be an object of strings"},
		{"header name invalid", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","headers":{"Bad Name":"x"}}`, 400, "headers", `"Bad Name" is not a valid header name`},
		{"header value with newline", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","headers":{"X":"a\r\nB: c"}}`, 400, "headers", `value of "X" must not contain line breaks or NUL`},
		{"body too long", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","body":"` + strings.Repeat("x", 64<<10+1) + `"}`, 400, "body", "must be at most 65536 bytes"},
		{"bool as string", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","verify_tls":"yes"}`, 400, "verify_tls", "must be true or false"},
		{"null field", "POST", mon, "application/json", `{"name":null,"url":"https://a.example"}`, 400, "name", "must not be null"},
		{"unknown field", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","colour":"red"}`, 400, "colour", "is not a known field"},
		{"read-only field", "POST", mon, "application/json", `{"name":"a","url":"https://a.example","id":"7"}`, 400, "id", "is read-only"},
		{"malformed json", "POST", mon, "application/json", `{"name":`, 400, "", ""},
		{"array body", "POST", mon, "application/json", `[1,2]`, 400, "", ""},
		{"null body", "POST", mon, "application/json", `null`, 400, "", ""},
		{"empty body", "POST", mon, "application/json", ``, 400, "", ""},
		{"trailing brace", "POST", mon, "application/json", `{"name":"a","url":"https://a.example"}}`, 400, "", ""},
		{"uptime window of centuries", "GET", one + "/uptime?from=1970-01-01T00:00:00Z&to=9999-01-01T00:00:00Z&bucket=1h", "", "", 400, "bucket", "gives more than 2000 buckets for this window; choose a larger bucket or a shorter window"},
		{"to beyond year 9999 in UTC", "GET", one + "/uptime?to=9999-12-31T23:59:00-05:00", "", "", 400, "to", "must be between the years 1970 and 9999"},
		{"nested too deep", "POST", mon, "application/json", `{"headers":` + strings.Repeat(`{"a":`, 20) + `1` + strings.Repeat(`}`, 21), 400, "", ""},
		{"trailing data", "POST", mon, "application/json", `{"name":"a","url":"https://a.example"} {}`, 400, "", ""},
		{"xml", "POST", mon, "application/xml", `<monitor/>`, 415, "", ""},
		{"huge body", "POST", mon, "application/json", `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "", ""},
		{"patch bad interval", "PATCH", one, "application/json", `{"interval_seconds":-1}`, 400, "interval_seconds", "must be between 1 and 86400"},
		{"patch to timeout over interval", "PATCH", one, "application/json", `{"interval_seconds":5}`, 400, "timeout_ms", "must be less than the interval (5000 ms)"},
		{"patch unknown id", "PATCH", mon + "/999999", "application/json", `{"name":"b"}`, 404, "", ""},
		{"malformed id", "GET", mon + "/abc", "", "", 404, "", ""},
		{"id with leading zero", "GET", mon + "/0" + id, "", "", 404, "", ""},
		{"negative id", "GET", mon + "/-1", "", "", 404, "", ""},
		{"huge id", "GET", mon + "/99999999999999999999999", "", "", 404, "", ""},
		{"limit zero", "GET", mon + "?limit=0", "", "", 400, "limit", "must be a whole number from 1 to 1000"},
		{"limit too big", "GET", mon + "?limit=1001", "", "", 400, "limit", "must be a whole number from 1 to 1000"},
		{"bad cursor", "GET", mon + "?cursor=zzz", "", "", 400, "cursor", "is not a cursor this list returned"},
		{"checks cursor on monitors", "GET", mon + "?cursor=YzE", "", "", 400, "cursor", "is not a cursor this list returned"},
		{"checks bad from", "GET", one + "/checks?from=yesterday", "", "", 400, "from", "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"},
		{"checks from after to", "GET", one + "/checks?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "", "", 400, "from", "must be before to"},
		{"checks unknown monitor", "GET", mon + "/424242/checks", "", "", 404, "", ""},
		{"uptime bad bucket", "GET", one + "/uptime?bucket=7s", "", "", 400, "bucket", "must be a size from 1m to 1d such as 5m, 1h or 1d"},
		{"uptime bucket too big", "GET", one + "/uptime?bucket=2d", "", "", 400, "bucket", "must be a size from 1m to 1d such as 5m, 1h or 1d"},
		{"uptime too many buckets", "GET", one + "/uptime?bucket=1m&from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z", "", "", 400, "bucket", "gives more than 2000 buckets for this window; choose a larger bucket or a shorter window"},
		{"uptime raw window too long", "GET", one + "/uptime?bucket=90m&from=2026-01-01T00:00:00Z&to=2026-01-10T00:00:00Z", "", "", 400, "bucket", "must be whole hours (1h, 6h, 1d) for windows longer than 7 days"},
		{"uptime unknown monitor", "GET", mon + "/424242/uptime", "", "", 404, "", ""},
		{"unknown path", "GET", "/api/v1/nothing", "", "", 404, "", ""},
		{"wrong method", "PUT", mon, "application/json", `{}`, 405, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, c.method, c.path, c.contentType, c.body)
			if r.status != c.status {
				t.Fatalf("status = %d, want %d: %s", r.status, c.status, r.raw)
			}
			if c.status == http.StatusMethodNotAllowed && r.header.Get("Allow") != "GET, POST" {
				t.Fatalf("Allow = %q, want \"GET, POST\"", r.header.Get("Allow"))
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type = %q, want application/problem+json", ct)
			}
			if r.body["status"] != float64(c.status) || r.body["title"] == "" || r.body["detail"] == "" {
				t.Fatalf("problem document lacks status/title/detail: %s", r.raw)
			}
			if c.field == "" {
				return
			}
			errs, _ := r.body["errors"].([]any)
			for _, fe := range errs {
				f := fe.(map[string]any)
				if f["field"] == c.field {
					if f["message"] != c.message {
						t.Fatalf("%s: message %q, want %q", c.field, f["message"], c.message)
					}
					return
				}
			}
			t.Fatalf("errors do not name %s: %s", c.field, r.raw)
		})
	}
	// None of them changed anything: still exactly one monitor, unchanged.
	r := e.do(t, "GET", mon, "", "")
	if list := r.body["monitors"].([]any); len(list) != 1 || list[0].(map[string]any)["name"] != "ok" ||
		list[0].(map[string]any)["interval_seconds"] != 60.0 {
		t.Fatalf("after bad requests: %s", r.raw)
	}
}

func TestTooManyHeaderFields(t *testing.T) {
	e := setup(t)
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/monitors", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	for i := range 120 {
		req.Header.Add("X-Filler", strconv.Itoa(i))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", res.StatusCode)
	}
}

func TestHistoryEndpoints(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	id := e.create(t, `{"name":"h","url":"https://example.com"}`)["id"].(string)
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var results []store.Result
	for i := range 120 { // two hours, one check a minute, every 10th fails
		results = append(results, store.Result{Time: base.Add(time.Duration(i) * time.Minute), MonitorID: mustID(t, id),
			OK: i%10 != 0, StatusCode: 200, LatencyMS: 100, ConnectMS: 3, Worker: "w"})
	}
	if err := e.store.WriteBatch(ctx, results, nil); err != nil {
		t.Fatal(err)
	}
	r := e.do(t, "GET", "/api/v1/monitors/"+id+"/checks?limit=50&from=2026-03-01T00:00:00Z&to=2026-03-01T02:00:00Z", "", "")
	checks := r.body["checks"].([]any)
	if r.status != 200 || len(checks) != 50 || r.body["next_cursor"] == nil {
		t.Fatalf("checks = %d, %d checks", r.status, len(checks))
	}
	first := checks[0].(map[string]any)
	if first["time"] != "2026-03-01T01:59:00Z" || first["phases"].(map[string]any)["connect_ms"] != 3.0 || first["phases"].(map[string]any)["dns_ms"] != nil {
		t.Fatalf("newest check = %v", first)
	}
	total := 50
	for cursor := r.body["next_cursor"]; cursor != nil; {
		r = e.do(t, "GET", "/api/v1/monitors/"+id+"/checks?limit=50&from=2026-03-01T00:00:00Z&to=2026-03-01T02:00:00Z&cursor="+cursor.(string), "", "")
		total += len(r.body["checks"].([]any))
		cursor = r.body["next_cursor"]
	}
	if total != 120 {
		t.Fatalf("paged through %d checks, want 120", total)
	}

	for _, bucket := range []string{"30m", "1h"} {
		r = e.do(t, "GET", "/api/v1/monitors/"+id+"/uptime?from=2026-02-28T23:00:00Z&to=2026-03-01T03:00:00Z&bucket="+bucket, "", "")
		if r.status != 200 || r.body["checks"] != 120.0 || r.body["failures"] != 12.0 || r.body["uptime_percent"] != 90.0 {
			t.Fatalf("uptime %s = %d %s", bucket, r.status, r.raw)
		}
		buckets := r.body["buckets"].([]any)
		firstB := buckets[0].(map[string]any)
		if firstB["checks"] != 0.0 || firstB["uptime_percent"] != nil {
			t.Fatalf("uptime %s: empty first bucket = %v", bucket, firstB)
		}
		if lat := r.body["latency_ms"].(map[string]any); lat["avg"] != 100.0 || lat["min"] != 100.0 || lat["max"] != 100.0 {
			t.Fatalf("uptime %s: latency = %v", bucket, lat)
		}
	}
	if len(r.body["buckets"].([]any)) != 4 || r.body["source"] != "rollups" || r.body["bucket"] != "1h" {
		t.Fatalf("hourly uptime = %s", r.raw)
	}
	// A 90-day window answers from rollups.
	r = e.do(t, "GET", "/api/v1/monitors/"+id+"/uptime?from=2026-01-01T00:00:00Z&to=2026-03-31T00:00:00Z&bucket=1d", "", "")
	if r.status != 200 || r.body["source"] != "rollups" || r.body["checks"] != 120.0 || len(r.body["buckets"].([]any)) != 89 {
		t.Fatalf("90-day uptime = %d %s", r.status, r.raw[:min(len(r.raw), 300)])
	}
}

func TestProbesAndMetrics(t *testing.T) {
	e := setup(t)
	e.create(t, `{"name":"m","url":"https://example.com"}`)
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ok",
		"/metrics": `pinguin_api_requests_total{code="201",method="POST",route="/api/v1/monitors"} 1`,
	} {
		res, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d, want 200 containing %q:\n%.500s", path, res.StatusCode, want, body)
		}
	}
}

func TestSecretHeadersAreMasked(t *testing.T) {
	e := setup(t)
	m := e.create(t, `{"name":"s","url":"https://example.com","headers":{"Authorization":"Bearer abc","Accept":"application/json"}}`)
	h := m["headers"].(map[string]any)
	if h["Authorization"] != "********" || h["Accept"] != "application/json" {
		t.Fatalf("headers shown as %v", h)
	}
	id := m["id"].(string)
	// Sending back what was read keeps the secret; a new value replaces it.
	r := e.do(t, "PATCH", "/api/v1/monitors/"+id, "application/json", `{"headers":{"Authorization":"********","Accept":"text/plain"}}`)
	if r.status != 200 {
		t.Fatalf("patch = %d %s", r.status, r.raw)
	}
	stored, err := e.store.GetMonitor(context.Background(), mustID(t, id))
	if err != nil || stored.Headers["Authorization"] != "Bearer abc" || stored.Headers["Accept"] != "text/plain" {
		t.Fatalf("stored headers %v (%v)", stored.Headers, err)
	}
	if strings.Contains(r.raw, "Bearer abc") {
		t.Fatalf("the secret came back in a response: %s", r.raw)
	}
}
