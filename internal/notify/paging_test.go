package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// pagingRecorded is one request a fake provider received.
type pagingRecorded struct {
	Method string
	Path   string // escaped
	Query  url.Values
	Header http.Header
	Body   []byte
}

// pagingFake is an HTTPS server that records requests and answers with a
// fixed status and body.
type pagingFake struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []pagingRecorded
}

func setupPagingFake(t *testing.T, status int, answer string) *pagingFake {
	t.Helper()
	f := &pagingFake{}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, pagingRecorded{r.Method, r.URL.EscapedPath(), r.URL.Query(), r.Header.Clone(), body})
		f.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *pagingFake) requests() []pagingRecorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]pagingRecorded(nil), f.reqs...)
}

func (f *pagingFake) last(t *testing.T) pagingRecorded {
	t.Helper()
	reqs := f.requests()
	if len(reqs) == 0 {
		t.Fatal("provider received no request")
	}
	return reqs[len(reqs)-1]
}

var (
	pagingSince = time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	pagingDown  = Event{
		Kind: KindDown, IncidentID: "inc-42", MonitorID: "mon-7", MonitorName: "API",
		Target: "https://api.example.com/health", Link: "https://pinguin.example.com/monitors/mon-7",
		Error: "connection refused", StatusCode: 503, Since: pagingSince, At: pagingSince,
	}
	pagingUp = Event{
		Kind: KindUp, IncidentID: "inc-42", MonitorID: "mon-7", MonitorName: "API",
		Target: "https://api.example.com/health", Link: "https://pinguin.example.com/monitors/mon-7",
		Since: pagingSince, At: pagingSince.Add(90 * time.Second), Duration: 90 * time.Second,
	}
)

const pagingPDKey = "0123456789abcdef0123456789abcdef"

// pagingConfigs builds each HTTP provider's configuration against a fake
// server's URL.
var pagingConfigs = map[string]func(base string) Config{
	"pagerduty": func(base string) Config {
		return Config{Type: "pagerduty", Settings: map[string]string{"api_url": base + "/v2/enqueue"}, Secrets: map[string]string{"routing_key": pagingPDKey}}
	},
	"opsgenie": func(base string) Config {
		return Config{Type: "opsgenie", Settings: map[string]string{"api_url": base}, Secrets: map[string]string{"api_key": "genie-secret"}}
	},
	"gotify": func(base string) Config {
		return Config{Type: "gotify", Settings: map[string]string{"server": base + "/"}, Secrets: map[string]string{"token": "gotify-secret"}}
	},
	"pushover": func(base string) Config {
		return Config{Type: "pushover", Settings: map[string]string{"api_url": base + "/1/messages.json"},
			Secrets: map[string]string{"token": "app-token", "user_key": "user-key"}}
	},
	"matrix": func(base string) Config {
		return Config{Type: "matrix", Settings: map[string]string{"homeserver": base, "room_id": "!abc:example.org"},
			Secrets: map[string]string{"access_token": "matrix-secret"}}
	},
}

// pagingOK is what each provider answers on success.
var pagingOK = map[string]struct {
	status int
	body   string
}{
	"pagerduty": {http.StatusAccepted, `{"status":"success","dedup_key":"pinguin-inc-42"}`},
	"opsgenie":  {http.StatusAccepted, `{"result":"Request will be processed","requestId":"r1"}`},
	"gotify":    {http.StatusOK, `{"id":1}`},
	"pushover":  {http.StatusOK, `{"status":1,"request":"r1"}`},
	"matrix":    {http.StatusOK, `{"event_id":"$e1"}`},
}

func pagingDecode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode body %q: %v", body, err)
	}
	return m
}

// field follows a path of keys into decoded JSON.
func pagingField(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[k]
	}
	return v
}

func pagingWantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func pagingWantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want it to contain %q", what, got, w)
		}
	}
}

func TestPagingSend(t *testing.T) {
	t.Parallel()
	downFacts := []string{"API", "https://api.example.com/health", "2026-11-26T20:00:00Z", "connection refused", "https://pinguin.example.com/monitors/mon-7"}
	tests := []struct {
		name     string
		provider string
		event    Event
		check    func(t *testing.T, r pagingRecorded)
	}{
		{"pagerduty down triggers", "pagerduty", pagingDown, func(t *testing.T, r pagingRecorded) {
			pagingWantEqual(t, "method", r.Method, http.MethodPost)
			pagingWantEqual(t, "path", r.Path, "/v2/enqueue")
			pagingWantEqual(t, "content type", r.Header.Get("Content-Type"), "application/json")
			b := pagingDecode(t, r.Body)
			pagingWantEqual(t, "routing_key", b["routing_key"], pagingPDKey)
			pagingWantEqual(t, "event_action", b["event_action"], "trigger")
			pagingWantEqual(t, "dedup_key", b["dedup_key"], "pinguin-inc-42")
			pagingWantEqual(t, "summary", pagingField(b, "payload", "summary"), "🔴 API is down")
			pagingWantEqual(t, "source", pagingField(b, "payload", "source"), "https://api.example.com/health")
			pagingWantEqual(t, "severity", pagingField(b, "payload", "severity"), "critical")
			pagingWantEqual(t, "timestamp", pagingField(b, "payload", "timestamp"), "2026-11-26T20:00:00Z")
			pagingWantEqual(t, "details.error", pagingField(b, "payload", "custom_details", "error"), "connection refused")
			pagingWantEqual(t, "details.since", pagingField(b, "payload", "custom_details", "since"), "2026-11-26T20:00:00Z")
			links, _ := b["links"].([]any)
			if len(links) != 1 {
				t.Fatalf("links = %v, want one", b["links"])
			}
			pagingWantEqual(t, "links[0].href", pagingField(links[0].(map[string]any), "href"), pagingDown.Link)
			pagingWantEqual(t, "links[0].text", pagingField(links[0].(map[string]any), "text"), "Open in Pinguin")
		}},
		{"pagerduty up resolves", "pagerduty", pagingUp, func(t *testing.T, r pagingRecorded) {
			b := pagingDecode(t, r.Body)
			pagingWantEqual(t, "routing_key", b["routing_key"], pagingPDKey)
			pagingWantEqual(t, "event_action", b["event_action"], "resolve")
			pagingWantEqual(t, "dedup_key", b["dedup_key"], "pinguin-inc-42")
			if _, ok := b["payload"]; ok {
				t.Errorf("resolve carries a payload: %v", b["payload"])
			}
		}},
		{"opsgenie down creates", "opsgenie", pagingDown, func(t *testing.T, r pagingRecorded) {
			pagingWantEqual(t, "method", r.Method, http.MethodPost)
			pagingWantEqual(t, "path", r.Path, "/v2/alerts")
			pagingWantEqual(t, "authorization", r.Header.Get("Authorization"), "GenieKey genie-secret")
			b := pagingDecode(t, r.Body)
			pagingWantEqual(t, "message", b["message"], "🔴 API is down")
			pagingWantEqual(t, "alias", b["alias"], "pinguin-inc-42")
			pagingWantEqual(t, "priority", b["priority"], "P1")
			pagingWantEqual(t, "details.target", pagingField(b, "details", "target"), pagingDown.Target)
			pagingWantEqual(t, "details.status_code", pagingField(b, "details", "status_code"), "503")
			desc, _ := b["description"].(string)
			pagingWantContains(t, "description", desc, downFacts...)
		}},
		{"opsgenie up closes by alias", "opsgenie", pagingUp, func(t *testing.T, r pagingRecorded) {
			pagingWantEqual(t, "method", r.Method, http.MethodPost)
			pagingWantEqual(t, "path", r.Path, "/v2/alerts/pinguin-inc-42/close")
			pagingWantEqual(t, "identifierType", r.Query.Get("identifierType"), "alias")
			pagingWantEqual(t, "authorization", r.Header.Get("Authorization"), "GenieKey genie-secret")
			note, _ := pagingDecode(t, r.Body)["note"].(string)
			pagingWantContains(t, "note", note, "API is up again after 1m30s", "Down for: 1m30s")
		}},
		{"gotify down", "gotify", pagingDown, func(t *testing.T, r pagingRecorded) {
			pagingWantEqual(t, "method", r.Method, http.MethodPost)
			pagingWantEqual(t, "path", r.Path, "/message")
			pagingWantEqual(t, "query", len(r.Query), 0)
			pagingWantEqual(t, "X-Gotify-Key", r.Header.Get("X-Gotify-Key"), "gotify-secret")
			b := pagingDecode(t, r.Body)
			pagingWantEqual(t, "title", b["title"], "🔴 API is down")
			pagingWantEqual(t, "priority", b["priority"], 8.0)
			pagingWantEqual(t, "click url", pagingField(b, "extras", "client::notification", "click", "url"), pagingDown.Link)
			msg, _ := b["message"].(string)
			pagingWantContains(t, "message", msg, downFacts...)
		}},
		{"gotify up", "gotify", pagingUp, func(t *testing.T, r pagingRecorded) {
			b := pagingDecode(t, r.Body)
			pagingWantEqual(t, "title", b["title"], "🟢 API is up again after 1m30s")
			pagingWantEqual(t, "priority", b["priority"], 4.0)
			msg, _ := b["message"].(string)
			pagingWantContains(t, "message", msg, "Down for: 1m30s", "Down since: 2026-11-26T20:00:00Z")
		}},
		{"pushover down", "pushover", pagingDown, func(t *testing.T, r pagingRecorded) {
			pagingWantEqual(t, "method", r.Method, http.MethodPost)
			pagingWantEqual(t, "path", r.Path, "/1/messages.json")
			pagingWantEqual(t, "content type", r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
			form, err := url.ParseQuery(string(r.Body))
			if err != nil {
				t.Fatal(err)
			}
			pagingWantEqual(t, "token", form.Get("token"), "app-token")
			pagingWantEqual(t, "user", form.Get("user"), "user-key")
			pagingWantEqual(t, "title", form.Get("title"), "🔴 API is down")
			pagingWantEqual(t, "priority", form.Get("priority"), "1")
			pagingWantEqual(t, "url", form.Get("url"), pagingDown.Link)
			pagingWantEqual(t, "url_title", form.Get("url_title"), "Open in Pinguin")
			pagingWantContains(t, "message", form.Get("message"), downFacts...)
		}},
		{"pushover up", "pushover", pagingUp, func(t *testing.T, r pagingRecorded) {
			form, _ := url.ParseQuery(string(r.Body))
			pagingWantEqual(t, "priority", form.Get("priority"), "0")
			pagingWantContains(t, "message", form.Get("message"), "Down for: 1m30s")
		}},
		{"matrix down", "matrix", pagingDown, func(t *testing.T, r pagingRecorded) {
			pagingWantEqual(t, "method", r.Method, http.MethodPut)
			prefix := "/_matrix/client/v3/rooms/%21abc:example.org/send/m.room.message/"
			if !strings.HasPrefix(r.Path, prefix) || len(r.Path) == len(prefix) {
				t.Errorf("path = %q, want %s<txn>", r.Path, prefix)
			}
			pagingWantEqual(t, "authorization", r.Header.Get("Authorization"), "Bearer matrix-secret")
			b := pagingDecode(t, r.Body)
			pagingWantEqual(t, "msgtype", b["msgtype"], "m.text")
			pagingWantEqual(t, "format", b["format"], "org.matrix.custom.html")
			body, _ := b["body"].(string)
			pagingWantContains(t, "body", body, append(downFacts, "🔴 API is down")...)
			html, _ := b["formatted_body"].(string)
			pagingWantContains(t, "formatted_body", html, "<strong>🔴 API is down</strong>", `<a href="https://pinguin.example.com/monitors/mon-7">`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok := pagingOK[tt.provider]
			f := setupPagingFake(t, ok.status, ok.body)
			s, err := New(pagingConfigs[tt.provider](f.srv.URL), f.srv.Client())
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if err := s.Send(context.Background(), tt.event); err != nil {
				t.Fatalf("Send: %v", err)
			}
			tt.check(t, f.last(t))
		})
	}
}

func TestPagerDutyTriggerAndResolveShareDedupKey(t *testing.T) {
	t.Parallel()
	f := setupPagingFake(t, http.StatusAccepted, `{"status":"success"}`)
	s, err := New(pagingConfigs["pagerduty"](f.srv.URL), f.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Event{pagingDown, pagingUp} {
		if err := s.Send(context.Background(), e); err != nil {
			t.Fatalf("Send %s: %v", e.Kind, err)
		}
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	trigger, resolve := pagingDecode(t, reqs[0].Body), pagingDecode(t, reqs[1].Body)
	pagingWantEqual(t, "actions", trigger["event_action"].(string)+"/"+resolve["event_action"].(string), "trigger/resolve")
	pagingWantEqual(t, "resolve dedup_key", resolve["dedup_key"], trigger["dedup_key"])
}

func TestMatrixTransactionIDs(t *testing.T) {
	t.Parallel()
	f := setupPagingFake(t, http.StatusOK, `{"event_id":"$e"}`)
	s, err := New(pagingConfigs["matrix"](f.srv.URL), f.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Event{pagingDown, pagingDown, pagingUp} {
		if err := s.Send(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	reqs := f.requests()
	// A retry of the same event reuses its transaction, another event does not.
	pagingWantEqual(t, "retry path", reqs[1].Path, reqs[0].Path)
	if reqs[2].Path == reqs[0].Path {
		t.Errorf("up reuses the down event's transaction %q", reqs[2].Path)
	}
}

func TestPagingDeliveryErrors(t *testing.T) {
	t.Parallel()
	statuses := []struct {
		status    int
		retryable bool
	}{
		{http.StatusInternalServerError, true},
		{http.StatusBadGateway, true},
		{http.StatusTooManyRequests, true},
		{http.StatusBadRequest, false},
		{http.StatusUnauthorized, false},
	}
	for provider, cfg := range pagingConfigs {
		for _, st := range statuses {
			t.Run(provider+"/"+http.StatusText(st.status), func(t *testing.T) {
				t.Parallel()
				answer := `{"error":"` + strings.Repeat("x", 400) + `"}`
				f := setupPagingFake(t, st.status, answer)
				s, err := New(cfg(f.srv.URL), f.srv.Client())
				if err != nil {
					t.Fatal(err)
				}
				err = s.Send(context.Background(), pagingDown)
				var de *DeliveryError
				if !errors.As(err, &de) {
					t.Fatalf("Send = %v, want a *DeliveryError", err)
				}
				pagingWantEqual(t, "status", de.Status, st.status)
				pagingWantEqual(t, "retryable", de.Retryable, st.retryable)
				pagingWantEqual(t, "body", de.Body, answer[:300])
			})
		}
	}
}

func TestPagingNetworkErrorIsRetryable(t *testing.T) {
	t.Parallel()
	f := setupPagingFake(t, http.StatusOK, "")
	base, client := f.srv.URL, f.srv.Client()
	f.srv.Close()
	for provider, cfg := range pagingConfigs {
		s, err := New(cfg(base), client)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Send(context.Background(), pagingDown)
		var de *DeliveryError
		if !errors.As(err, &de) || !de.Retryable || de.Status != 0 {
			t.Errorf("%s: Send = %#v, want a retryable *DeliveryError without status", provider, err)
		}
	}
}

func TestPushoverStatusZeroFails(t *testing.T) {
	t.Parallel()
	f := setupPagingFake(t, http.StatusOK, `{"status":0,"errors":["user identifier is invalid"]}`)
	s, err := New(pagingConfigs["pushover"](f.srv.URL), f.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), pagingDown)
	var de *DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("Send = %v, want a *DeliveryError", err)
	}
	pagingWantEqual(t, "retryable", de.Retryable, false)
	pagingWantContains(t, "body", de.Body, "user identifier is invalid")
}

func TestPagingConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"pagerduty routing key missing", Config{Type: "pagerduty"}, "secrets.routing_key: is required"},
		{"pagerduty routing key short", Config{Type: "pagerduty", Secrets: map[string]string{"routing_key": "abc"}}, "secrets.routing_key: must be 32 characters"},
		{"pagerduty api url", Config{Type: "pagerduty", Secrets: map[string]string{"routing_key": pagingPDKey}, Settings: map[string]string{"api_url": "ftp://x"}}, "settings.api_url: must be an http(s) URL"},
		{"opsgenie api key missing", Config{Type: "opsgenie"}, "secrets.api_key: is required"},
		{"opsgenie api url", Config{Type: "opsgenie", Settings: map[string]string{"api_url": "api.eu.opsgenie.com"}, Secrets: map[string]string{"api_key": "k"}}, "settings.api_url: must be an http(s) URL"},
		{"gotify server missing", Config{Type: "gotify", Secrets: map[string]string{"token": "t"}}, "settings.server: is required"},
		{"gotify token missing", Config{Type: "gotify", Settings: map[string]string{"server": "https://gotify.example.com"}}, "secrets.token: is required"},
		{"gotify server with token in query", Config{Type: "gotify", Settings: map[string]string{"server": "https://gotify.example.com/?token=t"}, Secrets: map[string]string{"token": "t"}}, "settings.server: must not carry credentials, a query or a fragment"},
		{"pushover token missing", Config{Type: "pushover", Secrets: map[string]string{"user_key": "u"}}, "secrets.token: is required"},
		{"pushover user key missing", Config{Type: "pushover", Secrets: map[string]string{"token": "t"}}, "secrets.user_key: is required"},
		{"matrix homeserver missing", Config{Type: "matrix"}, "settings.homeserver: is required"},
		{"matrix homeserver http", Config{Type: "matrix", Settings: map[string]string{"homeserver": "http://matrix.example.org"}}, "settings.homeserver: must be an https URL"},
		{"matrix room missing", Config{Type: "matrix", Settings: map[string]string{"homeserver": "https://matrix.example.org"}}, "settings.room_id: is required"},
		{"matrix room alias", Config{Type: "matrix", Settings: map[string]string{"homeserver": "https://matrix.example.org", "room_id": "#ops:example.org"}}, "settings.room_id: must be a room ID like !room:server"},
		{"matrix token missing", Config{Type: "matrix", Settings: map[string]string{"homeserver": "https://matrix.example.org", "room_id": "!abc:example.org"}}, "secrets.access_token: is required"},
		{"email host missing", Config{Type: "email"}, "settings.host: is required"},
		{"email port", Config{Type: "email", Settings: map[string]string{"host": "smtp.example.com", "port": "70000"}}, "settings.port: must be a port number (1-65535)"},
		{"email tls", Config{Type: "email", Settings: map[string]string{"host": "smtp.example.com", "tls": "ssl"}}, `settings.tls: must be "starttls", "tls" or "none"`},
		{"email from missing", Config{Type: "email", Settings: map[string]string{"host": "smtp.example.com"}}, "settings.from: is required"},
		{"email from invalid", Config{Type: "email", Settings: map[string]string{"host": "smtp.example.com", "from": "pinguin"}}, "settings.from: must be an e-mail address"},
		{"email to missing", Config{Type: "email", Settings: map[string]string{"host": "smtp.example.com", "from": "p@example.com", "to": " , "}}, "settings.to: is required"},
		{"email to invalid", Config{Type: "email", Settings: map[string]string{"host": "smtp.example.com", "from": "p@example.com", "to": "a@example.com, bob"}}, `settings.to: "bob" is not an e-mail address`},
		{"email password missing", Config{Type: "email", Settings: map[string]string{"host": "smtp.example.com", "from": "p@example.com", "to": "a@example.com", "username": "p"}}, "secrets.password: is required with settings.username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.cfg, http.DefaultClient)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("New = %v, want a *FieldError", err)
			}
			pagingWantEqual(t, "error", err.Error(), tt.want)
		})
	}
}
