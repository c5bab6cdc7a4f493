package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pinguin-dev/pinguin/internal/api"
	"github.com/pinguin-dev/pinguin/internal/auth"
	"github.com/pinguin-dev/pinguin/internal/testenv"
)

// needs is the least scope each route takes.
func needs(method, pattern string) auth.Scope {
	switch {
	case strings.HasPrefix(pattern, "/api/v1/tokens"):
		return auth.Admin
	case method == http.MethodGet:
		return auth.Read
	}
	return auth.Write
}

// TestEveryRouteAndToken calls every route the router serves with no
// token, a bad one, and one of each scope.
func TestEveryRouteAndToken(t *testing.T) {
	e := setup(t)
	id := e.create(t, `{"name":"a","url":"https://example.com"}`)["id"].(string)
	router := api.New(nil, nil, prometheus.NewRegistry(), testenv.Logger(t), api.Options{}).Handler().(chi.Routes)
	type route struct{ method, pattern string }
	var routes []route
	err := chi.Walk(router, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(pattern, "/api/v1/") && pattern != "/api/v1/openapi.json" {
			routes = append(routes, route{method, pattern})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) < 10 {
		t.Fatalf("walked %d routes, want every /api/v1 route", len(routes))
	}
	tokens := map[string]string{
		"none": "", "bad": "pgn_" + strings.Repeat("x", 43), "read": e.tokens[auth.Read],
		"write": e.tokens[auth.Write], "admin": e.tokens[auth.Admin],
	}
	for _, rt := range routes {
		path := strings.ReplaceAll(rt.pattern, "{id}", "999999") // nothing has this id
		for name, tok := range tokens {
			t.Run(rt.method+" "+rt.pattern+" as "+name, func(t *testing.T) {
				e := *e
				e.token = tok
				r := e.do(t, rt.method, path, "application/json", `{}`)
				switch {
				case name == "none" || name == "bad":
					if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
						t.Fatalf("status %d (WWW-Authenticate %q), want 401 with a challenge", r.status, r.header.Get("WWW-Authenticate"))
					}
				case !auth.Scope(name).Allows(needs(rt.method, rt.pattern)):
					if r.status != 403 {
						t.Fatalf("status %d, want 403", r.status)
					}
				default:
					if r.status == 401 || r.status == 403 || r.status >= 500 {
						t.Fatalf("status %d with enough scope: %s", r.status, r.raw)
					}
				}
			})
		}
	}
	// A 401 or 403 does not say whether a monitor exists.
	for _, tok := range []string{"", e.tokens[auth.Read]} {
		e := *e
		e.token = tok
		real := e.do(t, "DELETE", "/api/v1/monitors/"+id, "", "")
		unknown := e.do(t, "DELETE", "/api/v1/monitors/999999", "", "")
		if real.status != unknown.status || real.body["detail"] != unknown.body["detail"] {
			t.Fatalf("existing and unknown monitors answer differently: %d %s / %d %s", real.status, real.raw, unknown.status, unknown.raw)
		}
	}
}

func TestExpiredAndRevokedTokens(t *testing.T) {
	e := setup(t)
	past := time.Now().Add(-time.Minute)
	expired := newToken(t, e.store, auth.Admin, &past)
	e.token = expired
	if r := e.do(t, "GET", "/api/v1/monitors", "", ""); r.status != 401 {
		t.Fatalf("expired token: %d", r.status)
	}

	e.token = e.tokens[auth.Admin]
	r := e.do(t, "POST", "/api/v1/tokens", "application/json", `{"name":"ci","scope":"read","expires_at":"2099-01-01T00:00:00Z"}`)
	if r.status != 201 || !strings.HasPrefix(r.body["token"].(string), "pgn_") || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create token = %d %s", r.status, r.raw)
	}
	secret, tokID := r.body["token"].(string), r.body["id"].(string)
	e.token = secret
	if r := e.do(t, "GET", "/api/v1/monitors", "", ""); r.status != 200 {
		t.Fatalf("new read token: %d", r.status)
	}
	if r := e.do(t, "POST", "/api/v1/monitors", "application/json", `{"name":"a","url":"https://a.example"}`); r.status != 403 {
		t.Fatalf("read token writing: %d", r.status)
	}
	e.token = e.tokens[auth.Admin]
	list := e.do(t, "GET", "/api/v1/tokens", "", "")
	if strings.Contains(list.raw, secret) || !strings.Contains(list.raw, `"last_used_at":"`) {
		t.Fatalf("token list shows the secret or no use: %s", list.raw)
	}
	if r := e.do(t, "DELETE", "/api/v1/tokens/"+tokID, "", ""); r.status != 204 {
		t.Fatalf("revoke = %d %s", r.status, r.raw)
	}
	e.token = secret
	if r := e.do(t, "GET", "/api/v1/monitors", "", ""); r.status != 401 {
		t.Fatalf("revoked token: %d", r.status)
	}
}

func TestTokenRequests(t *testing.T) {
	e := setup(t)
	cases := []struct {
		name, body, field, message string
	}{
		{"no name", `{"scope":"read"}`, "name", "is required"},
		{"bad scope", `{"name":"a","scope":"root"}`, "scope", "must be read, write or admin"},
		{"past expiry", `{"name":"a","scope":"read","expires_at":"2001-01-01T00:00:00Z"}`, "expires_at", "must be in the future"},
		{"bad expiry", `{"name":"a","scope":"read","expires_at":"soon"}`, "expires_at", "must be an RFC 3339 time"},
		{"unknown field", `{"name":"a","scope":"read","owner":"me"}`, "owner", "is not a known field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, "POST", "/api/v1/tokens", "application/json", c.body)
			if r.status != 400 {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			for _, fe := range r.body["errors"].([]any) {
				if f := fe.(map[string]any); f["field"] == c.field && f["message"] == c.message {
					return
				}
			}
			t.Fatalf("errors lack %s: %s: %s", c.field, c.message, r.raw)
		})
	}
	if r := e.do(t, "DELETE", "/api/v1/tokens/abc", "", ""); r.status != 404 {
		t.Fatalf("delete malformed token id = %d", r.status)
	}
}

func TestRateLimit(t *testing.T) {
	e := setupWith(t, api.Options{RatePerToken: 3})
	for i := range 3 {
		if r := e.do(t, "GET", "/api/v1/monitors", "", ""); r.status != 200 {
			t.Fatalf("request %d: %d", i+1, r.status)
		}
	}
	r := e.do(t, "GET", "/api/v1/monitors", "", "")
	if r.status != 429 || r.header.Get("Retry-After") == "" || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("fourth request: %d, Retry-After %q: %s", r.status, r.header.Get("Retry-After"), r.raw)
	}
	// The limit is per token: another token still gets through.
	e.token = e.tokens[auth.Read]
	if r := e.do(t, "GET", "/api/v1/monitors", "", ""); r.status != 200 {
		t.Fatalf("other token: %d", r.status)
	}
}

func TestRateLimitResets(t *testing.T) {
	e := setupWith(t, api.Options{RatePerToken: 2, RateWindow: time.Second})
	for range 2 {
		e.do(t, "GET", "/api/v1/monitors", "", "")
	}
	if r := e.do(t, "GET", "/api/v1/monitors", "", ""); r.status != 429 {
		t.Fatalf("third request in the window: %d, want 429", r.status)
	}
	// A later window lets requests through again.
	testenv.Eventually(t, 30*time.Second, func() bool {
		return e.do(t, "GET", "/api/v1/monitors", "", "").status == 200
	}, "requests allowed again after the window")
}

func TestRateLimitPerAddressStopsTokenGuessing(t *testing.T) {
	e := setupWith(t, api.Options{RatePerIP: 5})
	e.token = "pgn_guess"
	statuses := map[int]int{}
	for range 8 {
		statuses[e.do(t, "GET", "/api/v1/monitors", "", "").status]++
	}
	if statuses[401] != 5 || statuses[429] != 3 {
		t.Fatalf("statuses %v, want five 401 then three 429", statuses)
	}
}

func TestMetricsCanRequireToken(t *testing.T) {
	e := setupWith(t, api.Options{MetricsNeedToken: true})
	e.token = ""
	if r, _ := http.Get(e.srv.URL + "/metrics"); r.StatusCode != 401 {
		t.Fatalf("metrics without token = %d", r.StatusCode)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[auth.Read])
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 {
		t.Fatalf("metrics with a read token = %v %v", r, err)
	}
	if r, _ := http.Get(e.srv.URL + "/healthz"); r.StatusCode != 200 {
		t.Fatalf("healthz = %d, want open", r.StatusCode)
	}
}
