package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, &DeliveryError{Err: fmt.Errorf("build %s request: %w", provider, withoutURL(err))}
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	return send(client, req, provider)
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
