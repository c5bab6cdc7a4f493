package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// chatProviders are the webhook and chat providers.
var chatProviders = map[string]factory{
	"webhook":  newWebhook,
	"slack":    newSlack,
	"discord":  newDiscord,
	"teams":    newTeams,
	"telegram": newTelegram,
	"ntfy":     newNtfy,
}

// chatUserAgent identifies Pinguin to the providers.
const chatUserAgent = "Pinguin"

// chatErrorBodyLimit is how much of a failed answer a DeliveryError keeps.
const chatErrorBodyLimit = 300

// chatAnswerLimit caps how much of an answer is read at all.
const chatAnswerLimit = 64 << 10

// chatURL reads the URL in m[key] (section is "settings" or "secrets", for
// the error's field name). It must be absolute with a host; httpsOnly
// rejects plain http. An empty value is def, or an error if def is "".
func chatURL(m map[string]string, section, key, def string, httpsOnly bool) (string, error) {
	field := section + "." + key
	raw := strings.TrimSpace(m[key])
	if raw == "" {
		raw = def
	}
	if raw == "" {
		return "", &FieldError{Field: field, Message: "is required"}
	}
	msg := "must be an http or https URL"
	if httpsOnly {
		msg = "must be an https URL"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", &FieldError{Field: field, Message: msg}
	}
	switch u.Scheme {
	case "https":
	case "http":
		if httpsOnly {
			return "", &FieldError{Field: field, Message: msg}
		}
	default:
		return "", &FieldError{Field: field, Message: msg}
	}
	return raw, nil
}

// chatRequired reads m[key], which must not be blank.
func chatRequired(m map[string]string, section, key string) (string, error) {
	v := strings.TrimSpace(m[key])
	if v == "" {
		return "", &FieldError{Field: section + "." + key, Message: "is required"}
	}
	return v, nil
}

// chatPost POSTs body as JSON to target and returns the start of a 2xx
// answer, or a *DeliveryError. provider names the provider in errors; the
// URL is left out of them because it often holds the secret (Slack and
// Discord webhook URLs, Telegram bot tokens).
func chatPost(ctx context.Context, client *http.Client, provider, target string, body []byte, header http.Header) ([]byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, &DeliveryError{Err: fmt.Errorf("build %s request: %w", provider, chatStripURL(err))}
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", chatUserAgent)

	resp, err := client.Do(req)
	if err != nil {
		// Network errors and timeouts may pass; so may a cancelled
		// context, whose delivery the outbox tries again.
		return nil, &DeliveryError{Retryable: true, Err: fmt.Errorf("post %s message: %w", provider, chatStripURL(err))}
	}
	defer resp.Body.Close()
	// A read error leaves what was read: a 2xx is delivered all the same,
	// and trying again would only send the message twice.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, chatAnswerLimit))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &DeliveryError{
			Status:    resp.StatusCode,
			Body:      chatErrorBody(answer),
			Retryable: chatRetryable(resp.StatusCode),
			Err:       fmt.Errorf("%s answered %s", provider, resp.Status),
		}
	}
	return answer, nil
}

// chatRetryable tells whether a failed status may pass later: server
// errors, rate limits and request timeouts; other 4xx mean the channel's
// configuration is wrong.
func chatRetryable(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

// chatStripURL drops the *url.Error wrapper, whose message holds the
// request URL and so possibly a secret.
func chatStripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// chatErrorBody is the start of an answer, trimmed and valid UTF-8.
func chatErrorBody(b []byte) string {
	if len(b) > chatErrorBodyLimit {
		b = b[:chatErrorBodyLimit]
		// Do not cut a rune in two.
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
}

// chatJSON marshals a message; the message types cannot fail to marshal.
func chatJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &DeliveryError{Err: fmt.Errorf("encode message: %w", err)}
	}
	return b, nil
}

// chatTime formats t as RFC 3339 in UTC, "" for the zero time.
func chatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// chatTruncate cuts s to at most n runes, ending with "…" when cut.
func chatTruncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// chatFact is one labelled line of a message.
type chatFact struct {
	Name, Value string
}

// chatFacts are what every chat message tells besides its title and link:
// what is monitored, since when, for how long (a recovery) and the error.
func chatFacts(e Event) []chatFact {
	facts := []chatFact{
		{"Monitor", e.MonitorName},
		{"Target", e.Target},
	}
	if s := chatTime(e.Since); s != "" {
		facts = append(facts, chatFact{"Since", s})
	}
	if e.Kind == KindUp {
		facts = append(facts, chatFact{"Down for", e.Duration.Round(time.Second).String()})
	}
	if e.Error != "" {
		facts = append(facts, chatFact{"Error", e.Error})
	}
	if e.StatusCode != 0 {
		facts = append(facts, chatFact{"Status code", strconv.Itoa(e.StatusCode)})
	}
	return facts
}

// chatText is the plain-text form of an event: title, facts, link.
func chatText(e Event) string {
	var b strings.Builder
	b.WriteString(e.Title())
	b.WriteString("\n")
	for _, f := range chatFacts(e) {
		b.WriteString("\n" + f.Name + ": " + f.Value)
	}
	if e.Link != "" {
		b.WriteString("\n\n" + e.Link)
	}
	return b.String()
}
