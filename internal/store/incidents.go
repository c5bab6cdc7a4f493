package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pinguin-dev/pinguin/internal/alert"
)

// IncidentQuery selects incidents. Zero fields do not filter.
type IncidentQuery struct {
	MonitorID int64  // 0: every monitor
	State     string // "open", "resolved", or "" for both
	// From and To bound started_at to [From, To); a zero time is unbounded.
	From, To time.Time
	BeforeID int64 // the cursor: only ids below it; 0 for none
	Limit    int   // at most this many; 0 for all
}

// DeliveryQuery selects deliveries. Zero fields do not filter.
type DeliveryQuery struct {
	State      string // alert.DeliveryPending, DeliveryDelivered or DeliveryDead; "" for all
	IncidentID int64
	ChannelID  int64
	BeforeID   int64 // the cursor: only ids below it; 0 for none
	Limit      int   // at most this many; 0 for all
}

// Incident states of IncidentQuery.State.
const (
	IncidentOpen     = "open"
	IncidentResolved = "resolved"
)

const incidentColumns = `i.id, i.monitor_id, m.name, i.started_at, i.resolved_at, coalesce(i.resolution, ''),
	i.error, coalesce(i.status_code, 0), i.failed_checks, i.acknowledged_at, coalesce(i.acknowledged_by, '')`

func scanIncident(row pgx.Row) (alert.Incident, error) {
	var inc alert.Incident
	var resolvedAt, acknowledgedAt *time.Time
	err := row.Scan(&inc.ID, &inc.MonitorID, &inc.MonitorName, &inc.StartedAt, &resolvedAt, &inc.Resolution,
		&inc.Error, &inc.StatusCode, &inc.FailedChecks, &acknowledgedAt, &inc.AcknowledgedBy)
	if resolvedAt != nil {
		inc.ResolvedAt = *resolvedAt
	}
	if acknowledgedAt != nil {
		inc.AcknowledgedAt = *acknowledgedAt
	}
	return inc, err
}

// conditions collects the conditions and named arguments of a hand-built
// WHERE clause.
type conditions struct {
	conds []string
	args  pgx.NamedArgs
}

func (f *conditions) add(cond, name string, value any) {
	f.conds = append(f.conds, cond)
	f.args[name] = value
}

func (f *conditions) where() string {
	if len(f.conds) == 0 {
		return ""
	}
	return "WHERE " + strings.Join(f.conds, " AND ")
}

// limitOrAll is a LIMIT argument: NULL (no limit) for n ≤ 0.
func limitOrAll(n int) *int {
	if n <= 0 {
		return nil
	}
	return &n
}

// ListIncidents returns the incidents q selects, newest first (by id).
func (s *Store) ListIncidents(ctx context.Context, q IncidentQuery) ([]alert.Incident, error) {
	f := conditions{args: pgx.NamedArgs{"limit": limitOrAll(q.Limit)}}
	if q.MonitorID != 0 {
		f.add("i.monitor_id = @monitor", "monitor", q.MonitorID)
	}
	switch q.State {
	case IncidentOpen:
		f.conds = append(f.conds, "i.resolved_at IS NULL")
	case IncidentResolved:
		f.conds = append(f.conds, "i.resolved_at IS NOT NULL")
	case "":
	default:
		return nil, fmt.Errorf("list incidents: unknown state %q", q.State)
	}
	if !q.From.IsZero() {
		f.add("i.started_at >= @from", "from", q.From)
	}
	if !q.To.IsZero() {
		f.add("i.started_at < @to", "to", q.To)
	}
	if q.BeforeID != 0 {
		f.add("i.id < @before", "before", q.BeforeID)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+incidentColumns+`
		FROM incidents i JOIN monitors m ON m.id = i.monitor_id
		`+f.where()+`
		ORDER BY i.id DESC
		LIMIT @limit`, f.args)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alert.Incident, error) { return scanIncident(r) })
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return out, nil
}

// GetIncident returns one incident with its timeline, oldest event first,
// or alert.ErrNotFound.
func (s *Store) GetIncident(ctx context.Context, id int64) (alert.Incident, error) {
	inc, err := scanIncident(s.pool.QueryRow(ctx, `
		SELECT `+incidentColumns+`
		FROM incidents i JOIN monitors m ON m.id = i.monitor_id
		WHERE i.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return inc, alert.ErrNotFound
	}
	if err != nil {
		return inc, fmt.Errorf("select incident: %w", err)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT id, at, kind, coalesce(channel_id, 0), message
		FROM incident_events
		WHERE incident_id = $1
		ORDER BY at, id`, id)
	if err != nil {
		return inc, fmt.Errorf("select incident events: %w", err)
	}
	inc.Events, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (alert.Event, error) {
		var e alert.Event
		err := r.Scan(&e.ID, &e.At, &e.Kind, &e.ChannelID, &e.Message)
		return e, err
	})
	if err != nil {
		return inc, fmt.Errorf("select incident events: %w", err)
	}
	return inc, nil
}

// AcknowledgeIncident records that by is handling incident id: it stops
// the incident's reminders and adds an acknowledged event at at to its
// timeline. An incident acknowledged before is left as it is (even when
// it has been resolved since), so retrying is harmless; a resolved
// incident that was not acknowledged is alert.ErrIncidentResolved. It
// returns the incident with its timeline.
func (s *Store) AcknowledgeIncident(ctx context.Context, id int64, by string, at time.Time) (alert.Incident, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The row lock orders this against the pipeline resolving the
		// incident or sending it a reminder.
		var resolved, acknowledged bool
		err := tx.QueryRow(ctx, `
			SELECT resolved_at IS NOT NULL, acknowledged_at IS NOT NULL
			FROM incidents WHERE id = $1 FOR UPDATE`, id).Scan(&resolved, &acknowledged)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return alert.ErrNotFound
		case err != nil:
			return fmt.Errorf("lock incident: %w", err)
		case acknowledged:
			return nil
		case resolved:
			return alert.ErrIncidentResolved
		}
		args := pgx.NamedArgs{"id": id, "by": by, "at": at}
		if _, err := tx.Exec(ctx, `
			UPDATE incidents SET acknowledged_at = @at, acknowledged_by = @by, next_reminder_at = NULL
			WHERE id = @id`, args); err != nil {
			return fmt.Errorf("acknowledge incident: %w", err)
		}
		args["kind"], args["message"] = alert.EventAcknowledged, "acknowledged by "+by
		if _, err := tx.Exec(ctx, `
			INSERT INTO incident_events (incident_id, at, kind, message) VALUES (@id, @at, @kind, @message)`, args); err != nil {
			return fmt.Errorf("insert acknowledged event: %w", err)
		}
		return nil
	})
	if err != nil {
		return alert.Incident{}, err
	}
	return s.GetIncident(ctx, id)
}

const deliveryColumns = `id, idempotency_key, channel_id, monitor_id, coalesce(incident_id, 0), kind, payload,
	state, attempts, next_attempt_at, coalesce(last_status, 0), last_error, created_at, delivered_at`

func scanDelivery(row pgx.Row) (alert.Delivery, error) {
	var d alert.Delivery
	var deliveredAt *time.Time
	err := row.Scan(&d.ID, &d.IdempotencyKey, &d.ChannelID, &d.MonitorID, &d.IncidentID, &d.Kind, &d.Payload,
		&d.State, &d.Attempts, &d.NextAttemptAt, &d.LastStatus, &d.LastError, &d.CreatedAt, &deliveredAt)
	if deliveredAt != nil {
		d.DeliveredAt = *deliveredAt
	}
	return d, err
}

// ListDeliveries returns the deliveries q selects, newest first (by id).
func (s *Store) ListDeliveries(ctx context.Context, q DeliveryQuery) ([]alert.Delivery, error) {
	f := conditions{args: pgx.NamedArgs{"limit": limitOrAll(q.Limit)}}
	if q.State != "" {
		f.add("state = @state", "state", q.State)
	}
	if q.IncidentID != 0 {
		f.add("incident_id = @incident", "incident", q.IncidentID)
	}
	if q.ChannelID != 0 {
		f.add("channel_id = @channel", "channel", q.ChannelID)
	}
	if q.BeforeID != 0 {
		f.add("id < @before", "before", q.BeforeID)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+deliveryColumns+`
		FROM deliveries
		`+f.where()+`
		ORDER BY id DESC
		LIMIT @limit`, f.args)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alert.Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// RetryDelivery gives a dead delivery another round of attempts: it is
// pending again, due now, with no attempts counted and no lease; its last
// error is kept until the next attempt. A delivery that is not dead is
// alert.ErrDeliveryNotDead, an unknown one alert.ErrNotFound.
func (s *Store) RetryDelivery(ctx context.Context, id int64) (alert.Delivery, error) {
	d, err := scanDelivery(s.pool.QueryRow(ctx, `
		UPDATE deliveries d
		SET state = 'pending', attempts = 0, next_attempt_at = now(), locked_until = NULL, locked_by = NULL
		WHERE id = $1 AND state = 'dead'
			-- An alert or reminder of an incident that has resolved since
			-- would arrive after its recovery message and re-open the
			-- provider's alert (PagerDuty, Opsgenie): it stays dead.
			AND NOT (kind IN ('down', 'reminder') AND EXISTS (
				SELECT 1 FROM incidents i WHERE i.id = d.incident_id AND i.resolved_at IS NOT NULL))
		RETURNING `+deliveryColumns, id))
	if err == nil {
		return d, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return d, fmt.Errorf("retry delivery: %w", err)
	}
	var state string
	var resolved bool
	err = s.pool.QueryRow(ctx, `
		SELECT d.state, coalesce(i.resolved_at IS NOT NULL AND d.kind IN ('down', 'reminder'), false)
		FROM deliveries d LEFT JOIN incidents i ON i.id = d.incident_id
		WHERE d.id = $1`, id).Scan(&state, &resolved)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return d, alert.ErrNotFound
	case err != nil:
		return d, fmt.Errorf("look for delivery: %w", err)
	case state == alert.DeliveryDead && resolved:
		return d, alert.ErrStaleAlert
	}
	return d, alert.ErrDeliveryNotDead
}
