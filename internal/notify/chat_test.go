package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chatRequest is what a test server received.
type chatRequest struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// chatServer starts a TLS server that records the one request it expects
// and answers it with status and answer.
func chatServer(t *testing.T, status int, answer string) (*httptest.Server, <-chan chatRequest) {
	t.Helper()
	got := make(chan chatRequest, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request body: %v", err)
		}
		select {
		case got <- chatRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}:
		default:
			t.Errorf("unexpected second request to %s", r.URL.Path)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// chatReceived is the request the server recorded; Send has returned, so
// it is there if it was made.
func chatReceived(t *testing.T, got <-chan chatRequest) chatRequest {
	t.Helper()
	select {
	case r := <-got:
		return r
	default:
		t.Fatal("no request received")
		return chatRequest{}
	}
}

const (
	chatLink   = "https://pinguin.example.com/monitors/mon_1"
	chatTarget = "https://api.example.com/health"
	chatError  = "GET: 503 Service Unavailable"
	chatToken  = "123456789:AAE-secret_token"
)

// chatEvent is an event of kind, with fixed times; Since is in CET to
// check that messages say it in UTC.
func chatEvent(kind string) Event {
	e := Event{
		Kind:        kind,
		IncidentID:  "inc_1",
		MonitorID:   "mon_1",
		MonitorName: "API <prod>",
		Target:      chatTarget,
		Link:        chatLink,
		Error:       chatError,
		StatusCode:  503,
		Since:       time.Date(2026, 1, 2, 4, 4, 5, 0, time.FixedZone("CET", 3600)),
		At:          time.Date(2026, 1, 2, 3, 9, 5, 0, time.UTC),
	}
	if kind == KindUp {
		e.Error, e.StatusCode = "", 0
		e.Duration = 5*time.Minute + 300*time.Millisecond
	}
	return e
}

const (
	chatSince    = "2026-01-02T03:04:05Z"
	chatAt       = "2026-01-02T03:09:05Z"
	chatDownFor  = "5m0s"
	chatUpTitle  = "🟢 API <prod> is up again after 5m0s"
	chatDownHead = "🔴 API <prod> is down"
)

// chatConfigs is a valid configuration of every provider, sending to base.
func chatConfigs(base string) map[string]Config {
	return map[string]Config{
		"webhook": {Type: "webhook", Secrets: map[string]string{"url": base + "/hook", "signing_secret": "s3cret"}},
		"slack":   {Type: "slack", Secrets: map[string]string{"webhook_url": base + "/services/T1/B1/x"}},
		"discord": {Type: "discord", Secrets: map[string]string{"webhook_url": base + "/api/webhooks/1/x"}},
		"teams":   {Type: "teams", Secrets: map[string]string{"webhook_url": base + "/workflows/x"}},
		"telegram": {
			Type:     "telegram",
			Settings: map[string]string{"chat_id": "-100123", "api_url": base},
			Secrets:  map[string]string{"bot_token": chatToken},
		},
		"ntfy": {
			Type:     "ntfy",
			Settings: map[string]string{"server": base, "topic": "ops-alerts"},
			Secrets:  map[string]string{"token": "tk_abc"},
		},
	}
}

// chatSend builds the provider typ against srv and sends e.
func chatSend(t *testing.T, srv *httptest.Server, typ string, e Event) error {
	t.Helper()
	s, err := New(chatConfigs(srv.URL)[typ], srv.Client())
	if err != nil {
		t.Fatalf("New(%s): %v", typ, err)
	}
	return s.Send(context.Background(), e)
}

// chatCheckRequest asserts what every provider's request has in common
// and decodes its JSON body into v.
func chatCheckRequest(t *testing.T, r chatRequest, path string, v any) {
	t.Helper()
	if r.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", r.Method)
	}
	if r.Path != path {
		t.Errorf("path = %s, want %s", r.Path, path)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if got := r.Header.Get("User-Agent"); got != "Pinguin" {
		t.Errorf("User-Agent = %q, want Pinguin", got)
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode body %s: %v", r.Body, err)
	}
}

func chatContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

func chatLacks(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			t.Errorf("%s contains %q:\n%s", what, sub, s)
		}
	}
}

func TestWebhookSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		event  Event
		secret string
		want   WebhookPayload
	}{
		{
			name:   "down signed",
			event:  chatEvent(KindDown),
			secret: "s3cret",
			want: WebhookPayload{
				Event:      "down",
				IncidentID: "inc_1",
				Monitor:    WebhookMonitor{ID: "mon_1", Name: "API <prod>", Target: chatTarget, Link: chatLink},
				Error:      chatError,
				StatusCode: 503,
				Since:      chatSince,
				At:         chatAt,
			},
		},
		{
			name:  "up unsigned",
			event: chatEvent(KindUp),
			want: WebhookPayload{
				Event:           "up",
				IncidentID:      "inc_1",
				Monitor:         WebhookMonitor{ID: "mon_1", Name: "API <prod>", Target: chatTarget, Link: chatLink},
				Since:           chatSince,
				At:              chatAt,
				DurationSeconds: 300,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, got := chatServer(t, http.StatusNoContent, "")
			cfg := Config{Type: "webhook", Secrets: map[string]string{"url": srv.URL + "/hook"}}
			if tt.secret != "" {
				cfg.Secrets["signing_secret"] = tt.secret
			}
			s, err := New(cfg, srv.Client())
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			before := time.Now().Unix()
			if err := s.Send(context.Background(), tt.event); err != nil {
				t.Fatalf("Send: %v", err)
			}
			after := time.Now().Unix()
			r := chatReceived(t, got)
			var body WebhookPayload
			chatCheckRequest(t, r, "/hook", &body)
			if body != tt.want {
				t.Errorf("body = %+v\nwant   %+v", body, tt.want)
			}
			if got := r.Header.Get("X-Pinguin-Event"); got != tt.event.Kind {
				t.Errorf("X-Pinguin-Event = %q, want %q", got, tt.event.Kind)
			}
			ts, err := strconv.ParseInt(r.Header.Get("X-Pinguin-Timestamp"), 10, 64)
			if err != nil || ts < before || ts > after {
				t.Errorf("X-Pinguin-Timestamp = %q, want Unix seconds in [%d, %d]", r.Header.Get("X-Pinguin-Timestamp"), before, after)
			}
			sig := r.Header.Get("X-Pinguin-Signature")
			if tt.secret == "" {
				if sig != "" {
					t.Errorf("X-Pinguin-Signature = %q without a signing secret", sig)
				}
				return
			}
			if !VerifySignature(tt.secret, sig, ts, r.Body) {
				t.Errorf("VerifySignature rejects what Send sent: %q", sig)
			}
			tampered := []byte(strings.Replace(string(r.Body), `"down"`, `"up"`, 1))
			if VerifySignature(tt.secret, sig, ts, tampered) {
				t.Error("VerifySignature accepts a tampered body")
			}
			if VerifySignature(tt.secret, sig, ts+1, r.Body) {
				t.Error("VerifySignature accepts another timestamp")
			}
			if VerifySignature("other", sig, ts, r.Body) {
				t.Error("VerifySignature accepts another secret")
			}
		})
	}
}

func TestSign(t *testing.T) {
	t.Parallel()
	// Computed with: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
	const want = "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
	got := Sign("key", 1700000000, []byte(`{"a":1}`))
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
	tests := []struct {
		name   string
		header string
		want   bool
	}{
		{"valid", got, true},
		{"no prefix", strings.TrimPrefix(got, "sha256="), false},
		{"not hex", "sha256=zz", false},
		{"empty", "", false},
		{"truncated", got[:len(got)-2], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if ok := VerifySignature("key", tt.header, 1700000000, []byte(`{"a":1}`)); ok != tt.want {
				t.Errorf("VerifySignature(%q) = %v, want %v", tt.header, ok, tt.want)
			}
		})
	}
}

func TestSlackSend(t *testing.T) {
	t.Parallel()
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type message struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type     string `json:"type"`
			Text     *text  `json:"text"`
			Fields   []text `json:"fields"`
			Elements []struct {
				Type string `json:"type"`
				Text text   `json:"text"`
				URL  string `json:"url"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	tests := []struct {
		name       string
		event      Event
		wantHeader string
		wantFields []string
	}{
		{
			name:       "down",
			event:      chatEvent(KindDown),
			wantHeader: chatDownHead,
			wantFields: []string{"*Monitor*\nAPI &lt;prod&gt;", "*Target*\n" + chatTarget, "*Since*\n" + chatSince, "*Error*\n" + chatError, "*Status code*\n503"},
		},
		{
			name:       "up",
			event:      chatEvent(KindUp),
			wantHeader: chatUpTitle,
			wantFields: []string{"*Monitor*\nAPI &lt;prod&gt;", "*Target*\n" + chatTarget, "*Since*\n" + chatSince, "*Down for*\n" + chatDownFor},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, got := chatServer(t, http.StatusOK, "ok")
			if err := chatSend(t, srv, "slack", tt.event); err != nil {
				t.Fatalf("Send: %v", err)
			}
			var m message
			chatCheckRequest(t, chatReceived(t, got), "/services/T1/B1/x", &m)
			chatContains(t, "fallback text", m.Text, tt.wantHeader, chatTarget, chatSince, chatLink)
			if len(m.Blocks) != 3 {
				t.Fatalf("got %d blocks, want 3: %+v", len(m.Blocks), m.Blocks)
			}
			if b := m.Blocks[0]; b.Type != "header" || b.Text == nil || b.Text.Type != "plain_text" || b.Text.Text != tt.wantHeader {
				t.Errorf("header block = %+v, want plain_text %q", b, tt.wantHeader)
			}
			if b := m.Blocks[1]; b.Type != "section" || len(b.Fields) != len(tt.wantFields) {
				t.Errorf("section block = %+v, want %d fields", b, len(tt.wantFields))
			} else {
				for i, f := range b.Fields {
					if f.Type != "mrkdwn" || f.Text != tt.wantFields[i] {
						t.Errorf("field %d = %+v, want mrkdwn %q", i, f, tt.wantFields[i])
					}
				}
			}
			if b := m.Blocks[2]; b.Type != "actions" || len(b.Elements) != 1 || b.Elements[0].Type != "button" || b.Elements[0].URL != chatLink {
				t.Errorf("actions block = %+v, want a button to %s", b, chatLink)
			}
		})
	}
}

func TestDiscordSend(t *testing.T) {
	t.Parallel()
	type field struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	type message struct {
		Username string `json:"username"`
		Embeds   []struct {
			Title       string  `json:"title"`
			Description string  `json:"description"`
			URL         string  `json:"url"`
			Color       int     `json:"color"`
			Fields      []field `json:"fields"`
			Timestamp   string  `json:"timestamp"`
		} `json:"embeds"`
		AllowedMentions struct {
			Parse []string `json:"parse"`
		} `json:"allowed_mentions"`
	}
	tests := []struct {
		name       string
		event      Event
		wantTitle  string
		wantColor  int
		wantFields []field
	}{
		{
			name:      "down",
			event:     chatEvent(KindDown),
			wantTitle: chatDownHead,
			wantColor: 0xE53935,
			wantFields: []field{
				{"Monitor", "API <prod>"}, {"Target", chatTarget}, {"Since", chatSince}, {"Error", chatError}, {"Status code", "503"},
			},
		},
		{
			name:      "up",
			event:     chatEvent(KindUp),
			wantTitle: chatUpTitle,
			wantColor: 0x43A047,
			wantFields: []field{
				{"Monitor", "API <prod>"}, {"Target", chatTarget}, {"Since", chatSince}, {"Down for", chatDownFor},
			},
		},
		{
			name:      "cert",
			event:     chatEvent(KindCert),
			wantTitle: "🟠 API <prod>: certificate expires soon",
			wantColor: 0xFB8C00,
			wantFields: []field{
				{"Monitor", "API <prod>"}, {"Target", chatTarget}, {"Since", chatSince}, {"Error", chatError}, {"Status code", "503"},
			},
		},
		{
			name:      "reminder",
			event:     chatEvent(KindReminder),
			wantTitle: "🔴 API <prod> is still down (since " + chatSince + ")",
			wantColor: 0xE53935,
			wantFields: []field{
				{"Monitor", "API <prod>"}, {"Target", chatTarget}, {"Since", chatSince}, {"Error", chatError}, {"Status code", "503"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, got := chatServer(t, http.StatusNoContent, "")
			if err := chatSend(t, srv, "discord", tt.event); err != nil {
				t.Fatalf("Send: %v", err)
			}
			var m message
			chatCheckRequest(t, chatReceived(t, got), "/api/webhooks/1/x", &m)
			if m.Username != "Pinguin" {
				t.Errorf("username = %q, want Pinguin", m.Username)
			}
			if m.AllowedMentions.Parse == nil || len(m.AllowedMentions.Parse) != 0 {
				t.Errorf("allowed_mentions.parse = %v, want []", m.AllowedMentions.Parse)
			}
			if len(m.Embeds) != 1 {
				t.Fatalf("got %d embeds, want 1", len(m.Embeds))
			}
			em := m.Embeds[0]
			if em.Title != tt.wantTitle || em.URL != chatLink || em.Color != tt.wantColor || em.Timestamp != chatAt {
				t.Errorf("embed = %+v, want title %q, url %s, color %#x, timestamp %s", em, tt.wantTitle, chatLink, tt.wantColor, chatAt)
			}
			chatContains(t, "description", em.Description, chatLink)
			if len(em.Fields) != len(tt.wantFields) {
				t.Fatalf("fields = %+v, want %+v", em.Fields, tt.wantFields)
			}
			for i := range em.Fields {
				if em.Fields[i] != tt.wantFields[i] {
					t.Errorf("field %d = %+v, want %+v", i, em.Fields[i], tt.wantFields[i])
				}
			}
		})
	}
}

func TestTeamsSend(t *testing.T) {
	t.Parallel()
	type fact struct {
		Title string `json:"title"`
		Value string `json:"value"`
	}
	type message struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Schema  string `json:"$schema"`
				Type    string `json:"type"`
				Version string `json:"version"`
				Body    []struct {
					Type   string `json:"type"`
					Text   string `json:"text"`
					Weight string `json:"weight"`
					Size   string `json:"size"`
					Facts  []fact `json:"facts"`
				} `json:"body"`
				Actions []struct {
					Type  string `json:"type"`
					Title string `json:"title"`
					URL   string `json:"url"`
				} `json:"actions"`
			} `json:"content"`
		} `json:"attachments"`
	}
	tests := []struct {
		name      string
		event     Event
		wantTitle string
		wantFacts []fact
	}{
		{
			name:      "down",
			event:     chatEvent(KindDown),
			wantTitle: chatDownHead,
			wantFacts: []fact{{"Monitor", "API <prod>"}, {"Target", chatTarget}, {"Since", chatSince}, {"Error", chatError}, {"Status code", "503"}},
		},
		{
			name:      "up",
			event:     chatEvent(KindUp),
			wantTitle: chatUpTitle,
			wantFacts: []fact{{"Monitor", "API <prod>"}, {"Target", chatTarget}, {"Since", chatSince}, {"Down for", chatDownFor}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, got := chatServer(t, http.StatusAccepted, "")
			if err := chatSend(t, srv, "teams", tt.event); err != nil {
				t.Fatalf("Send: %v", err)
			}
			var m message
			chatCheckRequest(t, chatReceived(t, got), "/workflows/x", &m)
			if m.Type != "message" || len(m.Attachments) != 1 {
				t.Fatalf("message = %+v, want type message with one attachment", m)
			}
			a := m.Attachments[0]
			if a.ContentType != "application/vnd.microsoft.card.adaptive" {
				t.Errorf("contentType = %q", a.ContentType)
			}
			c := a.Content
			if c.Schema != "http://adaptivecards.io/schemas/adaptive-card.json" || c.Type != "AdaptiveCard" || c.Version != "1.4" {
				t.Errorf("card = %s %s %s", c.Schema, c.Type, c.Version)
			}
			if len(c.Body) != 2 {
				t.Fatalf("card body = %+v, want a TextBlock and a FactSet", c.Body)
			}
			if tb := c.Body[0]; tb.Type != "TextBlock" || tb.Text != tt.wantTitle || tb.Weight != "bolder" || tb.Size != "medium" {
				t.Errorf("title block = %+v, want bolder medium %q", tb, tt.wantTitle)
			}
			fs := c.Body[1]
			if fs.Type != "FactSet" || len(fs.Facts) != len(tt.wantFacts) {
				t.Fatalf("fact set = %+v, want %+v", fs, tt.wantFacts)
			}
			for i := range fs.Facts {
				if fs.Facts[i] != tt.wantFacts[i] {
					t.Errorf("fact %d = %+v, want %+v", i, fs.Facts[i], tt.wantFacts[i])
				}
			}
			if len(c.Actions) != 1 || c.Actions[0].Type != "Action.OpenUrl" || c.Actions[0].Title != "Open in Pinguin" || c.Actions[0].URL != chatLink {
				t.Errorf("actions = %+v, want Action.OpenUrl to %s", c.Actions, chatLink)
			}
		})
	}
}

func TestTelegramSend(t *testing.T) {
	t.Parallel()
	type message struct {
		ChatID                string `json:"chat_id"`
		Text                  string `json:"text"`
		ParseMode             string `json:"parse_mode"`
		DisableWebPagePreview bool   `json:"disable_web_page_preview"`
	}
	tests := []struct {
		name  string
		event Event
		want  []string
		lacks []string
	}{
		{
			name:  "down",
			event: chatEvent(KindDown),
			want: []string{
				"<b>🔴 API &lt;prod&gt; is down</b>", "<b>Target:</b> " + chatTarget, "<b>Since:</b> " + chatSince,
				"<b>Error:</b> " + chatError, `<a href="` + chatLink + `">Open in Pinguin</a>`,
			},
			lacks: []string{"<prod>"},
		},
		{
			name:  "up",
			event: chatEvent(KindUp),
			want:  []string{"<b>🟢 API &lt;prod&gt; is up again after 5m0s</b>", "<b>Down for:</b> " + chatDownFor, chatLink},
			lacks: []string{"<prod>", "Error"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, got := chatServer(t, http.StatusOK, `{"ok":true,"result":{"message_id":1}}`)
			if err := chatSend(t, srv, "telegram", tt.event); err != nil {
				t.Fatalf("Send: %v", err)
			}
			var m message
			chatCheckRequest(t, chatReceived(t, got), "/bot"+chatToken+"/sendMessage", &m)
			if m.ChatID != "-100123" || m.ParseMode != "HTML" || !m.DisableWebPagePreview {
				t.Errorf("message = %+v, want chat_id -100123, HTML, no preview", m)
			}
			chatContains(t, "text", m.Text, tt.want...)
			chatLacks(t, "text", m.Text, tt.lacks...)
		})
	}
}

func TestNtfySend(t *testing.T) {
	t.Parallel()
	type message struct {
		Topic    string   `json:"topic"`
		Title    string   `json:"title"`
		Message  string   `json:"message"`
		Priority int      `json:"priority"`
		Tags     []string `json:"tags"`
		Click    string   `json:"click"`
	}
	tests := []struct {
		name         string
		event        Event
		wantTitle    string
		wantPriority int
		wantTag      string
		wantMessage  []string
	}{
		{
			name:         "down",
			event:        chatEvent(KindDown),
			wantTitle:    chatDownHead,
			wantPriority: 5,
			wantTag:      "rotating_light",
			wantMessage:  []string{"Monitor: API <prod>", "Target: " + chatTarget, "Since: " + chatSince, "Error: " + chatError},
		},
		{
			name:         "up",
			event:        chatEvent(KindUp),
			wantTitle:    chatUpTitle,
			wantPriority: 3,
			wantTag:      "white_check_mark",
			wantMessage:  []string{"Monitor: API <prod>", "Target: " + chatTarget, "Down for: " + chatDownFor},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, got := chatServer(t, http.StatusOK, `{"id":"x"}`)
			if err := chatSend(t, srv, "ntfy", tt.event); err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := chatReceived(t, got)
			var m message
			chatCheckRequest(t, r, "/", &m)
			if got := r.Header.Get("Authorization"); got != "Bearer tk_abc" {
				t.Errorf("Authorization = %q, want Bearer tk_abc", got)
			}
			if m.Topic != "ops-alerts" || m.Title != tt.wantTitle || m.Priority != tt.wantPriority || m.Click != chatLink {
				t.Errorf("message = %+v, want topic ops-alerts, title %q, priority %d, click %s", m, tt.wantTitle, tt.wantPriority, chatLink)
			}
			if len(m.Tags) != 1 || m.Tags[0] != tt.wantTag {
				t.Errorf("tags = %v, want [%s]", m.Tags, tt.wantTag)
			}
			chatContains(t, "message", m.Message, tt.wantMessage...)
		})
	}
}

func TestNtfyWithoutToken(t *testing.T) {
	t.Parallel()
	srv, got := chatServer(t, http.StatusOK, "")
	s, err := New(Config{Type: "ntfy", Settings: map[string]string{"server": srv.URL + "/", "topic": "t"}}, srv.Client())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Send(context.Background(), chatEvent(KindDown)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := chatReceived(t, got)
	if r.Path != "/" {
		t.Errorf("path = %q, want /", r.Path)
	}
	if h := r.Header.Get("Authorization"); h != "" {
		t.Errorf("Authorization = %q, want none", h)
	}
}

func TestChatConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" for a valid configuration
	}{
		{"webhook valid http", Config{Type: "webhook", Secrets: map[string]string{"url": "http://example.com/hook"}}, ""},
		{"webhook missing url", Config{Type: "webhook"}, "secrets.url: is required"},
		{"webhook blank url", Config{Type: "webhook", Secrets: map[string]string{"url": "  "}}, "secrets.url: is required"},
		{"webhook ftp url", Config{Type: "webhook", Secrets: map[string]string{"url": "ftp://example.com"}}, "secrets.url: must be an http or https URL"},
		{"webhook relative url", Config{Type: "webhook", Secrets: map[string]string{"url": "/hook"}}, "secrets.url: must be an http or https URL"},
		{"webhook bad url", Config{Type: "webhook", Secrets: map[string]string{"url": "http://[::1"}}, "secrets.url: must be an http or https URL"},
		{"slack valid", Config{Type: "slack", Secrets: map[string]string{"webhook_url": "https://hooks.slack.com/services/T/B/x"}}, ""},
		{"slack missing", Config{Type: "slack"}, "secrets.webhook_url: is required"},
		{"slack http", Config{Type: "slack", Secrets: map[string]string{"webhook_url": "http://hooks.slack.com/services/T/B/x"}}, "secrets.webhook_url: must be an https URL"},
		{"discord valid", Config{Type: "discord", Secrets: map[string]string{"webhook_url": "https://discord.com/api/webhooks/1/x"}}, ""},
		{"discord not a url", Config{Type: "discord", Secrets: map[string]string{"webhook_url": "discord.com/api/webhooks"}}, "secrets.webhook_url: must be an https URL"},
		{"teams valid", Config{Type: "teams", Secrets: map[string]string{"webhook_url": "https://prod.westus.logic.azure.com/workflows/x"}}, ""},
		{"teams missing", Config{Type: "teams", Secrets: map[string]string{}}, "secrets.webhook_url: is required"},
		{"telegram valid", Config{Type: "telegram", Settings: map[string]string{"chat_id": "@ops"}, Secrets: map[string]string{"bot_token": chatToken}}, ""},
		{"telegram missing token", Config{Type: "telegram", Settings: map[string]string{"chat_id": "1"}}, "secrets.bot_token: is required"},
		{"telegram bad token", Config{Type: "telegram", Settings: map[string]string{"chat_id": "1"}, Secrets: map[string]string{"bot_token": "1:x/../y"}}, "secrets.bot_token: must be a bot token like 123456789:AAE..."},
		{"telegram missing chat", Config{Type: "telegram", Secrets: map[string]string{"bot_token": chatToken}}, "settings.chat_id: is required"},
		{"telegram bad chat", Config{Type: "telegram", Settings: map[string]string{"chat_id": "ops"}, Secrets: map[string]string{"bot_token": chatToken}}, "settings.chat_id: must be a numeric chat id or an @channel username"},
		{"telegram bad api url", Config{Type: "telegram", Settings: map[string]string{"chat_id": "1", "api_url": "api.telegram.org"}, Secrets: map[string]string{"bot_token": chatToken}}, "settings.api_url: must be an http or https URL"},
		{"ntfy valid default server", Config{Type: "ntfy", Settings: map[string]string{"topic": "ops"}}, ""},
		{"ntfy missing topic", Config{Type: "ntfy"}, "settings.topic: is required"},
		{"ntfy bad topic", Config{Type: "ntfy", Settings: map[string]string{"topic": "a/b"}}, "settings.topic: must be 1 to 64 letters, digits, - or _"},
		{"ntfy bad server", Config{Type: "ntfy", Settings: map[string]string{"topic": "ops", "server": "ntfy.sh"}}, "settings.server: must be an http or https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(tt.cfg, nil)
			if tt.wantErr == "" {
				if err != nil || s == nil {
					t.Fatalf("New = %v, %v; want a Sender", s, err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("New error = %v, want a *FieldError", err)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("New error = %q, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestChatDeliveryErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1000)
	tests := []struct {
		name          string
		status        int
		answer        string
		wantBody      string
		wantRetryable bool
	}{
		{"server error", http.StatusInternalServerError, "upstream broke\n", "upstream broke", true},
		{"bad request", http.StatusBadRequest, "invalid_payload", "invalid_payload", false},
		{"not found", http.StatusNotFound, "no_service", "no_service", false},
		{"rate limited", http.StatusTooManyRequests, `{"retry_after":1}`, `{"retry_after":1}`, true},
		{"long answer", http.StatusBadGateway, long, long[:300], true},
	}
	for typ := range chatProviders {
		for _, tt := range tests {
			t.Run(typ+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				srv, got := chatServer(t, tt.status, tt.answer)
				err := chatSend(t, srv, typ, chatEvent(KindDown))
				chatReceived(t, got)
				var de *DeliveryError
				if !errors.As(err, &de) {
					t.Fatalf("Send error = %v, want a *DeliveryError", err)
				}
				if de.Status != tt.status || de.Body != tt.wantBody || de.Retryable != tt.wantRetryable {
					t.Errorf("DeliveryError = {Status: %d, Body: %q, Retryable: %v}, want {%d, %q, %v}",
						de.Status, de.Body, de.Retryable, tt.status, tt.wantBody, tt.wantRetryable)
				}
			})
		}
	}
}

func TestChatNetworkError(t *testing.T) {
	t.Parallel()
	for typ := range chatProviders {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewTLSServer(http.NotFoundHandler())
			s, err := New(chatConfigs(srv.URL)[typ], srv.Client())
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			srv.Close()
			err = s.Send(context.Background(), chatEvent(KindDown))
			var de *DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("Send error = %v, want a *DeliveryError", err)
			}
			if de.Status != 0 || !de.Retryable || de.Err == nil {
				t.Errorf("DeliveryError = %+v, want retryable without status", de)
			}
			// The URL holds the secret of most providers.
			chatLacks(t, "error", err.Error(), srv.URL, chatToken)
		})
	}
}

func TestChatCancelled(t *testing.T) {
	t.Parallel()
	srv, _ := chatServer(t, http.StatusOK, "")
	s, err := New(chatConfigs(srv.URL)["slack"], srv.Client())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = s.Send(ctx, chatEvent(KindDown))
	var de *DeliveryError
	if !errors.As(err, &de) || !de.Retryable || !errors.Is(err, context.Canceled) {
		t.Errorf("Send error = %v, want a retryable *DeliveryError wrapping context.Canceled", err)
	}
}

func TestTelegramNotOK(t *testing.T) {
	t.Parallel()
	const answer = `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`
	srv, got := chatServer(t, http.StatusOK, answer)
	err := chatSend(t, srv, "telegram", chatEvent(KindDown))
	chatReceived(t, got)
	var de *DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("Send error = %v, want a *DeliveryError", err)
	}
	if de.Status != http.StatusOK || de.Body != answer || de.Retryable {
		t.Errorf("DeliveryError = %+v, want status 200, the answer, not retryable", de)
	}
	chatContains(t, "error", de.Err.Error(), "chat not found")
}

func TestChatTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"short", "abc", 3, "abc"},
		{"cut", "abcdef", 4, "abc…"},
		{"runes", "ééééé", 3, "éé…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := truncate(tt.in, tt.n); got != tt.want {
				t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}
