// Package alert holds the types of incidents and alerting that the store,
// the worker and the api share: channels, incidents and their timeline,
// deliveries (the outbox's rows) and maintenance windows. It is pure: no
// SQL, no Redis, no network (DESIGN.md's layering, like package monitor).
//
// How the pieces fit (issue 4):
//   - Redis's state script decides each monitor's live status and counts
//     consecutive failures and successes; the batch writer stores them in
//     monitor_state.
//   - In the same transaction, the batch writer opens an incident when a
//     monitor's consecutive failures reach its confirmations (and it is not
//     in maintenance), and resolves it when its consecutive successes reach
//     its recovery_confirmations. A partial unique index on open incidents
//     makes a second opening a no-op, however many workers race. Opening
//     is level-triggered: a batch lost before its transaction committed is
//     made good by the next one.
//   - Each timeline event that notifies writes one delivery per channel
//     (the monitor's channels and the default ones) in that transaction:
//     the outbox. Workers claim due deliveries with FOR UPDATE SKIP LOCKED
//     and a lease, send them, and record the answer; failures retry with
//     exponential backoff until they are dead letters.
package alert

import (
	"errors"
	"time"
)

// ErrNotFound is returned when a channel, incident, delivery or
// maintenance window does not exist.
var ErrNotFound = errors.New("not found")

// ErrIncidentResolved is returned when an action needs an open incident,
// such as acknowledging it, and the incident is resolved.
var ErrIncidentResolved = errors.New("incident is resolved")

// ErrDeliveryNotDead is returned when a delivery is retried that is not a
// dead letter: it is still pending or was delivered.
var ErrDeliveryNotDead = errors.New("delivery is not dead")

// ErrStaleAlert is returned when a dead alert or reminder is retried whose
// incident has resolved since: sent now, it would follow the recovery
// message and re-open the alert at providers that deduplicate.
var ErrStaleAlert = errors.New("the incident has resolved since")

// Channel is a notification channel: a provider type (see notify.Types),
// its settings, its secrets (webhook URLs, tokens, passwords; the API
// masks them) and whether it notifies for every monitor.
type Channel struct {
	ID        int64
	Name      string
	Type      string
	Settings  map[string]string
	Secrets   map[string]string
	Default   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Incident is one outage of one monitor.
type Incident struct {
	ID             int64
	MonitorID      int64
	MonitorName    string
	StartedAt      time.Time // the first failing check of the outage
	ResolvedAt     time.Time // zero while open
	Resolution     string    // "recovered" or "paused"; "" while open
	Error          string    // the first failing check's error
	StatusCode     int       // and its HTTP status, 0 if none
	FailedChecks   int
	AcknowledgedAt time.Time // zero unless acknowledged
	AcknowledgedBy string
	Events         []Event // the timeline, oldest first (filled by single reads)
}

// Open tells whether the incident is still going on.
func (i *Incident) Open() bool { return i.ResolvedAt.IsZero() }

// Kinds of timeline events.
const (
	EventOpened       = "opened"
	EventNotified     = "notified"      // a delivery reached a channel
	EventNotifyFailed = "notify_failed" // a delivery became a dead letter
	EventReminder     = "reminder"
	EventAcknowledged = "acknowledged"
	EventResolved     = "resolved"
)

// Event is one entry of an incident's timeline.
type Event struct {
	ID        int64
	At        time.Time
	Kind      string
	ChannelID int64 // notified, notify_failed; 0 otherwise
	Message   string
}

// Resolutions of an incident.
const (
	ResolvedRecovered = "recovered"
	ResolvedPaused    = "paused"
)

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead"
)

// Delivery is one message to one channel: a row of the outbox.
type Delivery struct {
	ID             int64
	IdempotencyKey string // unique per (event, channel); sent to providers that deduplicate
	ChannelID      int64
	MonitorID      int64
	IncidentID     int64  // 0 for certificate warnings
	Kind           string // notify.KindDown, KindUp, KindReminder or KindCert
	Payload        Payload
	State          string
	Attempts       int
	NextAttemptAt  time.Time
	LastStatus     int // the provider's last HTTP status, 0 if none
	LastError      string
	CreatedAt      time.Time
	DeliveredAt    time.Time // zero unless delivered
}

// Payload is what a delivery's message tells, fixed when it was queued.
// It becomes a notify.Event when sent.
type Payload struct {
	MonitorName string    `json:"monitor_name"`
	Target      string    `json:"target"`
	Error       string    `json:"error"`
	StatusCode  int       `json:"status_code"`
	Since       time.Time `json:"since"` // when the incident started (for cert: the certificate's expiry)
	At          time.Time `json:"at"`    // when the event happened
	// DurationSeconds is how long the monitor was down (up).
	DurationSeconds float64 `json:"duration_seconds"`
}
