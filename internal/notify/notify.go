// Package notify speaks the notification providers' protocols: given an
// Event and a channel's configuration, it sends the provider's own message
// format (Slack blocks, Discord embeds, PagerDuty Events API v2, ...). It
// knows nothing of PostgreSQL or Redis: the durable outbox, retries and
// deduplication that make delivery reliable live with its callers.
//
// Callers: the workers' delivery loop (internal/worker/notifier.go) sends
// the outbox's deliveries, and the api's POST /api/v1/channels/{id}/test
// sends a test message. Both pass the client from NewHTTPClient, whose
// dialer carries the SSRF guard; e-mail dials through it too.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Kinds of event.
const (
	KindDown     = "down"     // an incident opened
	KindUp       = "up"       // the incident resolved
	KindReminder = "reminder" // the incident is still open
	KindCert     = "cert"     // a certificate crossed an expiry warning threshold
	KindTest     = "test"     // POST /api/v1/channels/{id}/test
)

// Event is what one notification tells.
type Event struct {
	Kind        string
	IncidentID  string // stable per incident: providers that deduplicate key on it
	MonitorID   string
	MonitorName string
	Target      string        // what is monitored: the URL or host
	Link        string        // the monitor in Pinguin (PINGUIN_PUBLIC_URL/...)
	Error       string        // the first failing check's error (down, reminder)
	StatusCode  int           // its HTTP status, 0 if none
	Since       time.Time     // when the incident started
	At          time.Time     // when this event happened
	Duration    time.Duration // how long it was down (up)
	// DeliveryID is unique per (event, channel) and the same on every
	// attempt: receivers that may see a message twice (after a worker died
	// between sending and recording) deduplicate on it.
	DeliveryID string
}

// Title is a one-line summary, shared by the providers that want one.
func (e Event) Title() string {
	switch e.Kind {
	case KindDown:
		return fmt.Sprintf("🔴 %s is down", e.MonitorName)
	case KindUp:
		return fmt.Sprintf("🟢 %s is up again after %s", e.MonitorName, e.Duration.Round(time.Second))
	case KindReminder:
		return fmt.Sprintf("🔴 %s is still down (since %s)", e.MonitorName, e.Since.UTC().Format(time.RFC3339))
	case KindCert:
		return fmt.Sprintf("🟠 %s: certificate expires soon", e.MonitorName)
	default:
		return fmt.Sprintf("Test notification from Pinguin for %s", e.MonitorName)
	}
}

// Config is a channel as stored: its provider type, settings that are not
// secret (channel names, priorities) and secrets (webhook URLs, tokens,
// passwords), each a flat map of strings.
type Config struct {
	Type     string
	Settings map[string]string
	Secrets  map[string]string
}

// Sender delivers events through one configured channel.
type Sender interface {
	Send(ctx context.Context, e Event) error
}

// FieldError names a setting or secret of a channel that is missing or wrong.
type FieldError struct {
	Field   string // e.g. "secrets.webhook_url"
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// DeliveryError is a failed delivery: what the provider answered, and
// whether trying again later may succeed (5xx, 429, timeouts) or not (4xx:
// the configuration is wrong).
type DeliveryError struct {
	Status    int    // the provider's HTTP status, 0 without one
	Body      string // the start of its answer, for the API to show
	Retryable bool
	Err       error
}

func (e *DeliveryError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("provider answered %d: %s", e.Status, e.Body)
	}
	return "delivery failed: " + e.Err.Error()
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// ErrUnknownType is returned by New for a type no provider has.
var ErrUnknownType = errors.New("unknown channel type")

// factory builds a provider's Sender, validating its configuration.
type factory func(cfg Config, client *http.Client) (Sender, error)

// lookup finds the factory of a channel type in the provider tables
// (chat.go and paging.go each keep one).
func lookup(typ string) (factory, bool) {
	if f, ok := chatProviders[typ]; ok {
		return f, true
	}
	f, ok := pagingProviders[typ]
	return f, ok
}

// New builds the Sender of a channel, or a *FieldError naming what is wrong
// with its configuration. client makes the HTTP requests (its transport is
// where the caller puts timeouts and the SSRF guard).
func New(cfg Config, client *http.Client) (Sender, error) {
	f, ok := lookup(cfg.Type)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownType, cfg.Type)
	}
	return f(cfg, client)
}

// Types lists the channel types, for validation messages and docs.
func Types() []string {
	var out []string
	for t := range chatProviders {
		out = append(out, t)
	}
	for t := range pagingProviders {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
