package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pinguin-dev/pinguin/internal/api"
	"github.com/pinguin-dev/pinguin/internal/auth"
	"github.com/pinguin-dev/pinguin/internal/notify"
)

const slackURL = "https://hooks.slack.com/services/T000/B000/slack-secret-path"

// noSecret fails the test if an answer shows a secret's value.
func noSecret(t *testing.T, r response, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(r.raw, s) {
			t.Fatalf("the answer shows the secret %q: %s", s, r.raw)
		}
	}
}

func TestChannelCreateGetListPatchDelete(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	r := e.do(t, "POST", "/api/v1/channels", "application/json",
		`{"name":" ops slack ","type":" Slack","settings":{"note":"n"},"secrets":{"webhook_url":"`+slackURL+`"}}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create = %d %s", r.status, r.raw)
	}
	noSecret(t, r, "slack-secret-path")
	id := r.body["id"].(string)
	if r.header.Get("Location") != "/api/v1/channels/"+id {
		t.Fatalf("Location = %q", r.header.Get("Location"))
	}
	want := map[string]any{
		"id": id, "name": "ops slack", "type": "slack", "settings": map[string]any{"note": "n"},
		"secrets": map[string]any{"webhook_url": "********"}, "default": false,
	}
	for k, v := range want {
		if got, _ := json.Marshal(r.body[k]); string(got) != mustJSON(t, v) {
			t.Errorf("created %s = %s, want %s", k, got, mustJSON(t, v))
		}
	}
	if r.body["created_at"] == nil || r.body["updated_at"] == nil {
		t.Errorf("created lacks times: %s", r.raw)
	}

	r = e.do(t, "GET", "/api/v1/channels/"+id, "", "")
	noSecret(t, r, "slack-secret-path")
	if r.status != 200 || r.body["name"] != "ops slack" || r.body["secrets"].(map[string]any)["webhook_url"] != "********" {
		t.Fatalf("get = %d %s", r.status, r.raw)
	}

	e.do(t, "POST", "/api/v1/channels", "application/json", `{"name":"mail","type":"email","settings":{"host":"smtp.example.com","from":"a@example.com","to":"b@example.com"},"default":true}`)
	r = e.do(t, "GET", "/api/v1/channels", "", "")
	noSecret(t, r, "slack-secret-path")
	list, _ := r.body["channels"].([]any)
	if r.status != 200 || len(list) != 2 || list[0].(map[string]any)["id"] != id ||
		list[1].(map[string]any)["default"] != true || len(list[1].(map[string]any)["secrets"].(map[string]any)) != 0 {
		t.Fatalf("list = %d %s", r.status, r.raw)
	}

	// The same type in another spelling is no change of type; the masked
	// secret keeps its value.
	r = e.do(t, "PATCH", "/api/v1/channels/"+id, "application/json",
		`{"name":"ops","type":"SLACK","default":true,"settings":{},"secrets":{"webhook_url":"********"}}`)
	noSecret(t, r, "slack-secret-path")
	if r.status != 200 || r.body["name"] != "ops" || r.body["default"] != true || len(r.body["settings"].(map[string]any)) != 0 ||
		r.body["secrets"].(map[string]any)["webhook_url"] != "********" {
		t.Fatalf("patch = %d %s", r.status, r.raw)
	}
	stored, err := e.store.GetChannel(ctx, mustID(t, id))
	if err != nil || stored.Secrets["webhook_url"] != slackURL {
		t.Fatalf("stored after patch: %v, %v", stored.Secrets, err)
	}
	// A patch without secrets leaves them alone.
	if r := e.do(t, "PATCH", "/api/v1/channels/"+id, "application/json", `{"default":false}`); r.status != 200 || r.body["default"] != false {
		t.Fatalf("patch default = %d %s", r.status, r.raw)
	}
	if stored, _ := e.store.GetChannel(ctx, mustID(t, id)); stored.Secrets["webhook_url"] != slackURL {
		t.Fatalf("secrets after a patch without them: %v", stored.Secrets)
	}

	if r := e.do(t, "DELETE", "/api/v1/channels/"+id, "", ""); r.status != http.StatusNoContent {
		t.Fatalf("delete = %d %s", r.status, r.raw)
	}
	for _, req := range [][2]string{{"GET", ""}, {"PATCH", ""}, {"DELETE", ""}, {"POST", "/test"}} {
		r := e.do(t, req[0], "/api/v1/channels/"+id+req[1], "application/json", `{"name":"x"}`)
		if r.status != 404 || r.body["detail"] != "No channel has this id." {
			t.Fatalf("%s%s after delete = %d %s", req[0], req[1], r.status, r.raw)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestChannelBadRequests(t *testing.T) {
	e := setup(t)
	r := e.do(t, "POST", "/api/v1/channels", "application/json", `{"name":"ok","type":"slack","secrets":{"webhook_url":"`+slackURL+`"}}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create = %d %s", r.status, r.raw)
	}
	id := r.body["id"].(string)
	all, one := "/api/v1/channels", "/api/v1/channels/"+id
	slack := `"type":"slack","secrets":{"webhook_url":"` + slackURL + `"}`
	cases := []struct {
		name, method, path, body string
		status                   int
		field, message           string
	}{
		{"unknown type", "POST", all, `{"name":"a","type":"carrier-pigeon"}`, 400, "type", "must be one of discord, email, gotify, matrix, ntfy, opsgenie, pagerduty, pushover, slack, teams, telegram, webhook"},
		{"missing type", "POST", all, `{"name":"a"}`, 400, "type", "is required"},
		{"type not a string", "POST", all, `{"name":"a","type":7}`, 400, "type", "must be a string"},
		{"missing required secret", "POST", all, `{"name":"a","type":"slack"}`, 400, "secrets.webhook_url", "is required"},
		{"secret of the wrong form", "POST", all, `{"name":"a","type":"slack","secrets":{"webhook_url":"http://hooks.example.com/x"}}`, 400, "secrets.webhook_url", "must be an https URL"},
		{"missing required setting", "POST", all, `{"name":"a","type":"telegram","secrets":{"bot_token":"1:x"}}`, 400, "settings.chat_id", "is required"},
		{"password needed with a user name", "POST", all, `{"name":"a","type":"email","settings":{"host":"h","from":"a@example.com","to":"b@example.com","username":"u"}}`, 400, "secrets.password", "is required with settings.username"},
		{"masked secret on create", "POST", all, `{"name":"a","type":"slack","secrets":{"webhook_url":"********"}}`, 400, "secrets.webhook_url", "is ********, which stands for a stored secret, but none is stored; send the secret itself"},
		{"missing name", "POST", all, `{` + slack + `}`, 400, "name", "is required"},
		{"blank name", "POST", all, `{"name":"  ",` + slack + `}`, 400, "name", "is required"},
		{"long name", "POST", all, `{"name":"` + strings.Repeat("é", 201) + `",` + slack + `}`, 400, "name", "must be at most 200 characters"},
		{"null name", "POST", all, `{"name":null,` + slack + `}`, 400, "name", "must not be null"},
		{"settings not strings", "POST", all, `{"name":"a","type":"email","settings":{"host":"h","port":465}}`, 400, "settings", "must be an object of strings"},
		{"secrets not an object", "POST", all, `{"name":"a","type":"slack","secrets":"` + slackURL + `"}`, 400, "secrets", "must be an object of strings"},
		{"default not a bool", "POST", all, `{"name":"a","default":"yes",` + slack + `}`, 400, "default", "must be true or false"},
		{"unknown field", "POST", all, `{"name":"a","colour":"red",` + slack + `}`, 400, "colour", "is not a known field"},
		{"read-only field", "POST", all, `{"name":"a","id":"7",` + slack + `}`, 400, "id", "is read-only"},
		{"not an object", "POST", all, `["a"]`, 400, "", ""},
		{"xml", "POST", all, `<channel/>`, 415, "", ""},
		{"patch type change", "PATCH", one, `{"type":"discord"}`, 400, "type", "cannot be changed; create a new channel of the other type"},
		{"patch without the required secret", "PATCH", one, `{"secrets":{}}`, 400, "secrets.webhook_url", "is required"},
		{"patch masked secret that is not stored", "PATCH", one, `{"secrets":{"webhook_url":"********","token":"********"}}`, 400, "secrets.token", "is ********, which stands for a stored secret, but none is stored; send the secret itself"},
		{"patch empty name", "PATCH", one, `{"name":""}`, 400, "name", "is required"},
		{"patch long name", "PATCH", one, `{"name":"` + strings.Repeat("x", 201) + `"}`, 400, "name", "must be at most 200 characters"},
		{"patch unknown field", "PATCH", one, `{"enabled":false}`, 400, "enabled", "is not a known field"},
		{"patch unknown id", "PATCH", all + "/999999", `{"name":"b"}`, 404, "", ""},
		{"get unknown id", "GET", all + "/999999", ``, 404, "", ""},
		{"malformed id", "GET", all + "/abc", ``, 404, "", ""},
		{"id with leading zero", "GET", all + "/0" + id, ``, 404, "", ""},
		{"delete unknown id", "DELETE", all + "/999999", ``, 404, "", ""},
		{"test unknown id", "POST", all + "/999999/test", ``, 404, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			contentType := "application/json"
			if c.status == http.StatusUnsupportedMediaType {
				contentType = "application/xml"
			}
			r := e.do(t, c.method, c.path, contentType, c.body)
			if r.status != c.status {
				t.Fatalf("status = %d, want %d: %s", r.status, c.status, r.raw)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type = %q, want application/problem+json", ct)
			}
			if c.status == 404 && r.body["detail"] != "No channel has this id." {
				t.Fatalf("404 detail = %q", r.body["detail"])
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
	// None of them changed anything: one channel, as it was.
	r = e.do(t, "GET", all, "", "")
	if list := r.body["channels"].([]any); len(list) != 1 || list[0].(map[string]any)["name"] != "ok" {
		t.Fatalf("after bad requests: %s", r.raw)
	}
	if c, err := e.store.GetChannel(context.Background(), mustID(t, id)); err != nil || c.Secrets["webhook_url"] != slackURL || len(c.Secrets) != 1 {
		t.Fatalf("stored after bad requests: %v, %v", c.Secrets, err)
	}
}

func TestChannelScopes(t *testing.T) {
	e := setup(t)
	body := `{"name":"a","type":"slack","secrets":{"webhook_url":"` + slackURL + `"}}`
	e.token = e.tokens[auth.Read]
	if r := e.do(t, "POST", "/api/v1/channels", "application/json", body); r.status != http.StatusForbidden {
		t.Fatalf("create with a read token = %d %s", r.status, r.raw)
	}
	e.token = e.tokens[auth.Write]
	r := e.do(t, "POST", "/api/v1/channels", "application/json", body)
	if r.status != http.StatusCreated {
		t.Fatalf("create with a write token = %d %s", r.status, r.raw)
	}
	id := r.body["id"].(string)
	e.token = e.tokens[auth.Read]
	if r := e.do(t, "GET", "/api/v1/channels/"+id, "", ""); r.status != 200 {
		t.Fatalf("get with a read token = %d %s", r.status, r.raw)
	}
	for _, req := range [][2]string{{"PATCH", ""}, {"DELETE", ""}, {"POST", "/test"}} {
		if r := e.do(t, req[0], "/api/v1/channels/"+id+req[1], "application/json", `{"name":"b"}`); r.status != http.StatusForbidden {
			t.Fatalf("%s%s with a read token = %d %s", req[0], req[1], r.status, r.raw)
		}
	}
}

// hook is a webhook receiver that answers with status and keeps each
// request it got.
type hook struct {
	srv    *httptest.Server
	status atomic.Int32
	got    chan *hookRequest
}

type hookRequest struct {
	path   string
	header http.Header
	body   []byte
}

func newHook(t *testing.T) *hook {
	t.Helper()
	h := &hook{got: make(chan *hookRequest, 10)}
	h.status.Store(http.StatusOK)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// Kept before answering: when the api has the answer, it is here.
		h.got <- &hookRequest{path: r.URL.Path, header: r.Header, body: body}
		w.WriteHeader(int(h.status.Load()))
		_, _ = io.WriteString(w, "answer "+strconv.Itoa(int(h.status.Load())))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// next is the request the hook got last; the api has answered, so it is there.
func (h *hook) next(t *testing.T) *hookRequest {
	t.Helper()
	select {
	case r := <-h.got:
		return r
	default:
		t.Fatal("the webhook received nothing")
		return nil
	}
}

// countingTransport counts the requests made through it.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestChannelTest(t *testing.T) {
	transport := &countingTransport{}
	e := setupWith(t, api.Options{PublicURL: "https://pinguin.example", NotifyClient: &http.Client{Transport: transport}})
	h := newHook(t)
	r := e.do(t, "POST", "/api/v1/channels", "application/json",
		`{"name":"hook","type":"webhook","secrets":{"url":"`+h.srv.URL+`/hook/path-secret","signing_secret":"first"}}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create = %d %s", r.status, r.raw)
	}
	test := "/api/v1/channels/" + r.body["id"].(string) + "/test"

	r = e.do(t, "POST", test, "", "")
	if r.status != 200 || r.raw != `{"delivered":true}`+"\n" {
		t.Fatalf("test against a 200 = %d %s", r.status, r.raw)
	}
	got := h.next(t)
	var payload notify.WebhookPayload
	if err := json.Unmarshal(got.body, &payload); err != nil {
		t.Fatal(err)
	}
	if got.path != "/hook/path-secret" || payload.Event != notify.KindTest || payload.Monitor.Name != "Pinguin" ||
		payload.Monitor.Link != "https://pinguin.example" || payload.At == "" {
		t.Fatalf("the webhook got %s %s", got.path, got.body)
	}
	ts, _ := strconv.ParseInt(got.header.Get("X-Pinguin-Timestamp"), 10, 64)
	if !notify.VerifySignature("first", got.header.Get("X-Pinguin-Signature"), ts, got.body) {
		t.Fatalf("signature %q does not verify with the channel's secret", got.header.Get("X-Pinguin-Signature"))
	}
	if transport.n.Load() != 1 {
		t.Fatalf("Options.NotifyClient made %d requests, want 1", transport.n.Load())
	}

	// PATCH with the URL masked keeps it: the test reaches the same
	// address, signed with the new secret.
	r = e.do(t, "PATCH", test[:len(test)-len("/test")], "application/json", `{"secrets":{"url":"********","signing_secret":"second"}}`)
	noSecret(t, r, "path-secret", "second")
	if r.status != 200 {
		t.Fatalf("patch = %d %s", r.status, r.raw)
	}
	if r := e.do(t, "POST", test, "", ""); r.raw != `{"delivered":true}`+"\n" {
		t.Fatalf("test after patch = %d %s", r.status, r.raw)
	}
	got = h.next(t)
	ts, _ = strconv.ParseInt(got.header.Get("X-Pinguin-Timestamp"), 10, 64)
	if got.path != "/hook/path-secret" || !notify.VerifySignature("second", got.header.Get("X-Pinguin-Signature"), ts, got.body) {
		t.Fatalf("after patch the webhook got %s, signature %q", got.path, got.header.Get("X-Pinguin-Signature"))
	}

	cases := []struct {
		status int
		want   string
	}{
		{500, `{"delivered":false,"provider_status":500,"provider_answer":"answer 500","error":"webhook answered 500 Internal Server Error","retryable":true}`},
		{404, `{"delivered":false,"provider_status":404,"provider_answer":"answer 404","error":"webhook answered 404 Not Found","retryable":false}`},
	}
	for _, c := range cases {
		h.status.Store(int32(c.status))
		r := e.do(t, "POST", test, "", "")
		if r.status != 200 || r.raw != c.want+"\n" {
			t.Fatalf("test against a %d = %d %s\nwant %s", c.status, r.status, r.raw, c.want)
		}
		h.next(t)
	}

	// A receiver that is gone: no status, retryable, and the URL's secret
	// path is not in the error.
	h.srv.Close()
	r = e.do(t, "POST", test, "", "")
	noSecret(t, r, "path-secret")
	if r.status != 200 || r.body["delivered"] != false || r.body["retryable"] != true ||
		r.body["provider_status"] != nil || !strings.HasPrefix(r.body["error"].(string), "send to webhook: ") {
		t.Fatalf("test against a closed server = %d %s", r.status, r.raw)
	}
}
