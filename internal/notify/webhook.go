package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// WebhookPayload is the JSON body the webhook provider POSTs:
//
//	{
//	  "event": "down",             // down, up, reminder, cert or test
//	  "delivery_id": "event:41:channel:2", // the same on every attempt: deduplicate on it
//	  "incident_id": "inc_123",    // stable per incident: deduplicate on it
//	  "monitor": {"id": "mon_1", "name": "API", "target": "https://api.example.com/health",
//	              "link": "https://pinguin.example.com/monitors/mon_1"},
//	  "error": "connect: connection refused", // "" when there is none
//	  "status_code": 503,          // the failing check's HTTP status, 0 if none
//	  "since": "2026-01-02T03:04:05Z", // when the incident started (RFC 3339, UTC)
//	  "at": "2026-01-02T03:09:05Z",    // when this event happened (RFC 3339, UTC)
//	  "duration_seconds": 300      // how long it was down (up), else 0
//	}
//
// The request carries the headers Content-Type: application/json,
// User-Agent: Pinguin, X-Pinguin-Event (the event kind),
// X-Pinguin-Delivery (the delivery_id, also as Idempotency-Key) and
// X-Pinguin-Timestamp (Unix seconds at sending), plus the channel's custom
// headers: each setting or secret named "header.<Name>" is sent as <Name>. When the channel has
// secrets.signing_secret, X-Pinguin-Signature is "sha256=" followed by the
// hex HMAC-SHA256, keyed with the secret, of the timestamp, a dot and the
// raw body: "<X-Pinguin-Timestamp>.<body>" (see Sign). Receivers recompute
// it over the bytes they received, compare in constant time
// (VerifySignature) and reject timestamps more than a few minutes old, so
// that a captured request cannot be replayed.
type WebhookPayload struct {
	Event           string         `json:"event"`
	DeliveryID      string         `json:"delivery_id,omitempty"`
	IncidentID      string         `json:"incident_id"`
	Monitor         WebhookMonitor `json:"monitor"`
	Error           string         `json:"error"`
	StatusCode      int            `json:"status_code"`
	Since           string         `json:"since,omitempty"`
	At              string         `json:"at,omitempty"`
	DurationSeconds int64          `json:"duration_seconds"`
}

// WebhookMonitor is the monitor an event of a WebhookPayload is about.
type WebhookMonitor struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Target string `json:"target"`
	Link   string `json:"link"`
}

// signaturePrefix starts an X-Pinguin-Signature header.
const signaturePrefix = "sha256="

// Sign is the X-Pinguin-Signature header value of a webhook body sent at
// timestamp (Unix seconds): "sha256=" and the hex HMAC-SHA256 of
// "<timestamp>.<body>" keyed with secret.
func Sign(secret string, timestamp int64, body []byte) string {
	return signaturePrefix + hex.EncodeToString(webhookMAC(secret, timestamp, body))
}

// VerifySignature tells whether header is the X-Pinguin-Signature of body
// sent at timestamp, comparing in constant time. Receivers should also
// reject stale timestamps.
func VerifySignature(secret, header string, timestamp int64, body []byte) bool {
	hexMAC, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexMAC)
	if err != nil {
		return false
	}
	return hmac.Equal(got, webhookMAC(secret, timestamp, body))
}

func webhookMAC(secret string, timestamp int64, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// webhook POSTs a WebhookPayload to a URL of the user's.
type webhook struct {
	client *http.Client
	url    string
	secret string
	header http.Header // the channel's custom headers
	now    func() time.Time
}

// headerPrefix starts the names of settings and secrets that are custom
// webhook headers.
const headerPrefix = "header."

// newWebhook reads secrets.url (http or https) and the optional
// secrets.signing_secret.
func newWebhook(cfg Config, client *http.Client) (Sender, error) {
	u, err := chatURL(cfg.Secrets, "secrets", "url", "", false)
	if err != nil {
		return nil, err
	}
	header := http.Header{}
	for _, m := range []map[string]string{cfg.Settings, cfg.Secrets} {
		for k, v := range m {
			name, ok := strings.CutPrefix(k, headerPrefix)
			if !ok {
				continue
			}
			if !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(v) {
				return nil, &FieldError{Field: "settings." + k, Message: "is not a valid HTTP header"}
			}
			header.Set(name, v)
		}
	}
	return &webhook{client: client, url: u, secret: cfg.Secrets["signing_secret"], header: header, now: time.Now}, nil
}

func (w *webhook) Send(ctx context.Context, e Event) error {
	body, err := chatJSON(WebhookPayload{
		Event:      e.Kind,
		DeliveryID: e.DeliveryID,
		IncidentID: e.IncidentID,
		Monitor: WebhookMonitor{
			ID:     e.MonitorID,
			Name:   e.MonitorName,
			Target: e.Target,
			Link:   e.Link,
		},
		Error:           e.Error,
		StatusCode:      e.StatusCode,
		Since:           chatTime(e.Since),
		At:              chatTime(e.At),
		DurationSeconds: int64(e.Duration.Round(time.Second) / time.Second),
	})
	if err != nil {
		return err
	}
	ts := w.now().Unix()
	h := w.header.Clone()
	h.Set("X-Pinguin-Event", e.Kind)
	if e.DeliveryID != "" {
		h.Set("X-Pinguin-Delivery", e.DeliveryID)
		h.Set("Idempotency-Key", e.DeliveryID)
	}
	h.Set("X-Pinguin-Timestamp", strconv.FormatInt(ts, 10))
	if w.secret != "" {
		h.Set("X-Pinguin-Signature", Sign(w.secret, ts, body))
	}
	_, err = chatPost(ctx, w.client, "webhook", w.url, body, h)
	return err
}
