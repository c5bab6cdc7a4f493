package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// pagingProviders are the e-mail, paging and push providers.
var pagingProviders = map[string]factory{
	"email":     newEmail,
	"pagerduty": newPagerDuty,
	"opsgenie":  newOpsgenie,
	"gotify":    newGotify,
	"pushover":  newPushover,
	"matrix":    newMatrix,
}

// pagingRequired returns the value of a setting or secret ("settings.x",
// "secrets.y"), or a *FieldError when it is empty.
func pagingRequired(cfg Config, field string) (string, error) {
	v := pagingValue(cfg, field)
	if v == "" {
		return "", &FieldError{Field: field, Message: "is required"}
	}
	return v, nil
}

// pagingValue returns a setting or secret, trimmed of surrounding spaces.
func pagingValue(cfg Config, field string) string {
	m := cfg.Settings
	name, ok := strings.CutPrefix(field, "settings.")
	if !ok {
		m = cfg.Secrets
		name = strings.TrimPrefix(field, "secrets.")
	}
	return strings.TrimSpace(m[name])
}

// pagingURL returns the URL in field, or def when it is empty; it must be an
// absolute http(s) URL (https only when httpsOnly), returned without a
// trailing slash.
func pagingURL(cfg Config, field, def string, httpsOnly bool) (string, error) {
	v := pagingValue(cfg, field)
	if v == "" {
		if def == "" {
			return "", &FieldError{Field: field, Message: "is required"}
		}
		v = def
	}
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return "", &FieldError{Field: field, Message: "must be an http(s) URL"}
	case httpsOnly && u.Scheme != "https":
		return "", &FieldError{Field: field, Message: "must be an https URL"}
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", &FieldError{Field: field, Message: "must not carry credentials, a query or a fragment"}
	}
	return strings.TrimSuffix(v, "/"), nil
}

// pagingTime formats t as RFC 3339 in UTC.
func pagingTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// pagingDedupKey is the key providers deduplicate on: the incident, or for
// events without one (certificates, tests) the monitor and kind.
func pagingDedupKey(e Event) string {
	if e.IncidentID != "" {
		return "pinguin-" + e.IncidentID
	}
	return "pinguin-" + e.Kind + "-" + e.MonitorID
}

// pagingError is the failing check's error with its HTTP status, if any.
func pagingError(e Event) string {
	switch {
	case e.StatusCode != 0 && e.Error != "":
		return fmt.Sprintf("%s (HTTP %d)", e.Error, e.StatusCode)
	case e.StatusCode != 0:
		return fmt.Sprintf("HTTP %d", e.StatusCode)
	}
	return e.Error
}

// pagingFacts are the lines every message carries below its title: what,
// since when, the error or how long it was down, and the link.
func pagingFacts(e Event) [][2]string {
	facts := [][2]string{{"Monitor", e.MonitorName}, {"Target", e.Target}}
	switch e.Kind {
	case KindUp:
		facts = append(facts,
			[2]string{"Down since", pagingTime(e.Since)},
			[2]string{"Up at", pagingTime(e.At)},
			[2]string{"Down for", e.Duration.Round(time.Second).String()})
	case KindDown, KindReminder:
		facts = append(facts, [2]string{"Down since", pagingTime(e.Since)})
	default:
		facts = append(facts, [2]string{"At", pagingTime(e.At)})
	}
	if msg := pagingError(e); msg != "" && e.Kind != KindUp {
		facts = append(facts, [2]string{"Error", msg})
	}
	if e.Link != "" {
		facts = append(facts, [2]string{"Link", e.Link})
	}
	return facts
}

// pagingText is the plain-text body, without the title.
func pagingText(e Event) string {
	var b strings.Builder
	for _, f := range pagingFacts(e) {
		fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// pagingHTML is the title and facts as escaped HTML.
func pagingHTML(e Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<strong>%s</strong><br>\n", html.EscapeString(e.Title()))
	for _, f := range pagingFacts(e) {
		v := html.EscapeString(f[1])
		if f[0] == "Link" {
			v = fmt.Sprintf(`<a href="%s">Open in Pinguin</a>`, v)
		}
		fmt.Fprintf(&b, "%s: %s<br>\n", html.EscapeString(f[0]), v)
	}
	return b.String()
}

// pagingDetails are the event's fields as a flat map, for the providers
// that show structured details.
func pagingDetails(e Event) map[string]string {
	d := map[string]string{
		"monitor":    e.MonitorName,
		"monitor_id": e.MonitorID,
		"target":     e.Target,
		"kind":       e.Kind,
		"since":      pagingTime(e.Since),
		"link":       e.Link,
	}
	if e.Error != "" {
		d["error"] = e.Error
	}
	if e.StatusCode != 0 {
		d["status_code"] = strconv.Itoa(e.StatusCode)
	}
	if e.Kind == KindUp {
		d["down_for"] = e.Duration.Round(time.Second).String()
	}
	return d
}

// pagingNewRequest builds a request whose body is body (may be nil).
func pagingNewRequest(ctx context.Context, method, target string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, &DeliveryError{Err: fmt.Errorf("build request: %w", err)}
	}
	return req, nil
}

// pagingJSON sends payload as JSON with the given headers and returns the
// provider's answer, as send does.
func pagingJSON(ctx context.Context, client *http.Client, method, target string, header http.Header, payload any, provider string) ([]byte, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, &DeliveryError{Err: fmt.Errorf("encode %s message: %w", provider, err)}
	}
	req, err := pagingNewRequest(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return send(client, req, provider)
}
