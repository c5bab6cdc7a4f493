package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pinguin-dev/pinguin/internal/alert"
)

// Queued is signalled (without blocking) after a transaction of this
// process queued deliveries, so that the process's delivery loop sends them
// at once instead of at its next poll.
func (s *Store) Queued() <-chan struct{} { return s.queued }

func (s *Store) signalQueued() {
	select {
	case s.queued <- struct{}{}:
	default:
	}
}

// ClaimDeliveries takes up to n deliveries that are due, for worker, and
// leases them until now + lease: another worker takes a delivery again only
// after its lease ran out (its worker died mid-delivery). Deliveries of one
// incident to one channel go in order: one waits while an older one is
// pending. Each claim counts as an attempt.
func (s *Store) ClaimDeliveries(ctx context.Context, worker string, n int, lease time.Duration) ([]alert.Delivery, error) {
	rows, err := s.pool.Query(ctx, `
		UPDATE deliveries d SET attempts = d.attempts + 1, locked_by = $1,
			locked_until = now() + $3 * interval '1 millisecond'
		WHERE d.id IN (
			SELECT x.id FROM deliveries x
			WHERE x.state = 'pending' AND x.next_attempt_at <= now()
				AND (x.locked_until IS NULL OR x.locked_until < now())
				AND NOT EXISTS (
					SELECT 1 FROM deliveries p
					WHERE p.incident_id = x.incident_id AND p.channel_id = x.channel_id
						AND p.state = 'pending' AND p.id < x.id)
			ORDER BY x.next_attempt_at, x.id
			LIMIT $2
			FOR UPDATE SKIP LOCKED)
		RETURNING `+deliveryColumns, worker, n, lease.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alert.Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// Outcome is how an attempt to deliver ended.
type Outcome struct {
	Delivered bool
	Status    int    // the provider's HTTP status, 0 if none
	Error     string // why it failed
	// RetryAt is when to try again; zero means never: the delivery is a
	// dead letter.
	RetryAt time.Time
}

// FinishDelivery records the outcome of worker's attempt at delivery id,
// and puts it on its incident's timeline when it was delivered or given
// up. It reports false when the delivery is no longer worker's (its lease
// ran out and another worker took it), and then changes nothing.
func (s *Store) FinishDelivery(ctx context.Context, id int64, worker string, o Outcome) (bool, error) {
	var mine bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		state, next := alert.DeliveryPending, any(o.RetryAt)
		switch {
		case o.Delivered:
			state, next = alert.DeliveryDelivered, nil
		case o.RetryAt.IsZero():
			state, next = alert.DeliveryDead, nil
		}
		var status *int32
		if o.Status != 0 {
			v := int32(o.Status)
			status = &v
		}
		var incident *int64
		var channel int64
		var channelName string
		var attempts int
		err := tx.QueryRow(ctx, `
			UPDATE deliveries d SET state = $3, next_attempt_at = coalesce($4, d.next_attempt_at),
				locked_until = NULL, locked_by = NULL, last_status = coalesce($5, d.last_status),
				last_error = $6, delivered_at = CASE WHEN $3 = 'delivered' THEN now() END
			FROM channels c
			WHERE d.id = $1 AND d.locked_by = $2 AND d.state = 'pending' AND c.id = d.channel_id
			RETURNING d.incident_id, d.channel_id, c.name, d.attempts`,
			id, worker, state, next, status, o.Error).Scan(&incident, &channel, &channelName, &attempts)
		if err == pgx.ErrNoRows {
			return nil
		}
		if err != nil {
			return fmt.Errorf("finish delivery: %w", err)
		}
		mine = true
		if incident == nil || state == alert.DeliveryPending {
			return nil
		}
		kind, message := alert.EventNotified, "notified "+channelName
		if state == alert.DeliveryDead {
			kind, message = alert.EventNotifyFailed,
				fmt.Sprintf("gave up notifying %s after %d attempt(s): %s", channelName, attempts, o.Error)
		}
		_, err = tx.Exec(ctx, `INSERT INTO incident_events (incident_id, kind, channel_id, message) VALUES ($1, $2, $3, $4)`,
			*incident, kind, channel, message)
		if err != nil {
			return fmt.Errorf("record delivery on the timeline: %w", err)
		}
		return nil
	})
	return mine, err
}

// DeliveryCounts are the outbox's rows by state, for metrics.
type DeliveryCounts struct {
	Pending, Dead int64
}

// CountDeliveries counts pending deliveries and dead letters.
func (s *Store) CountDeliveries(ctx context.Context) (DeliveryCounts, error) {
	var c DeliveryCounts
	err := s.pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM deliveries WHERE state = 'pending'),
			(SELECT count(*) FROM deliveries WHERE state = 'dead')`).Scan(&c.Pending, &c.Dead)
	if err != nil {
		return c, fmt.Errorf("count deliveries: %w", err)
	}
	return c, nil
}

// QueueReminders queues a reminder for each open, unacknowledged incident
// whose reminder is due, up to limit, and sets its next one; a monitor in
// maintenance has its reminder moved on without one. Many workers may call
// it at once: each due incident is taken by one (SKIP LOCKED). It returns
// how many deliveries it queued.
func (s *Store) QueueReminders(ctx context.Context, limit int) (int64, error) {
	var queued int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := resolvePaused(ctx, tx, 0); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT i.id, i.monitor_id FROM incidents i
			WHERE i.resolved_at IS NULL AND i.next_reminder_at <= now() AND i.acknowledged_at IS NULL
			ORDER BY i.next_reminder_at
			LIMIT $1
			FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return fmt.Errorf("select due reminders: %w", err)
		}
		type due struct{ incident, monitor int64 }
		dues, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
			var d due
			return d, r.Scan(&d.incident, &d.monitor)
		})
		if err != nil || len(dues) == 0 {
			return err
		}
		windows, err := queryWindows(ctx, tx, true)
		if err != nil {
			return err
		}
		var remind, quiet []int64
		now := time.Now()
		for _, d := range dues {
			if alert.InMaintenance(windows, d.monitor, now) {
				quiet = append(quiet, d.incident)
			} else {
				remind = append(remind, d.incident)
			}
		}
		// The next reminder, or none when the monitor's reminders were
		// turned off since the incident opened.
		const next = `CASE WHEN m.reminder_minutes > 0 THEN now() + make_interval(mins => m.reminder_minutes) END`
		if _, err := tx.Exec(ctx, `
			UPDATE incidents i SET next_reminder_at = `+next+`
			FROM monitors m WHERE m.id = i.monitor_id AND i.id = ANY($1)`, quiet); err != nil {
			return fmt.Errorf("postpone reminders: %w", err)
		}
		tag, err := tx.Exec(ctx, `
			WITH r AS (
				UPDATE incidents i SET next_reminder_at = `+next+`
				FROM monitors m WHERE m.id = i.monitor_id AND i.id = ANY($1)
				RETURNING `+incidentReturning+`, m.reminder_minutes
			), e AS (
				INSERT INTO incident_events (incident_id, kind, message)
				SELECT r.id, 'reminder', 'still down' FROM r WHERE r.reminder_minutes > 0 ORDER BY r.id
				RETURNING id, incident_id, at
			)`+fmt.Sprintf(eventsSQL, `'reminder'`)+incidentDeliveriesSQL, remind)
		if err != nil {
			return fmt.Errorf("queue reminders: %w", err)
		}
		queued = tag.RowsAffected()
		return nil
	})
	if err == nil && queued > 0 {
		s.signalQueued()
	}
	return queued, err
}

// Paused forgets the live state of a monitor that was paused, so that it
// starts afresh when resumed (pending, its counts at zero: a failure right
// after resuming does not open an incident at once), and resolves its open
// incident without a recovery message: nothing says it recovered.
func (s *Store) Paused(ctx context.Context, monitorID int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM monitor_state WHERE monitor_id = $1`, monitorID); err != nil {
			return fmt.Errorf("forget state of paused monitor: %w", err)
		}
		return resolvePaused(ctx, tx, monitorID)
	})
}

// resolvePaused resolves the open incidents of paused monitors: of
// monitorID, or of every paused monitor when it is 0 (the delivery loop's
// housekeeping sweeps up an incident that a batch opened while the
// monitor was being paused).
func resolvePaused(ctx context.Context, tx pgx.Tx, monitorID int64) error {
	_, err := tx.Exec(ctx, `
		WITH r AS (
			UPDATE incidents i SET resolved_at = now(), resolution = 'paused', next_reminder_at = NULL
			FROM monitors m
			WHERE m.id = i.monitor_id AND NOT m.enabled AND i.resolved_at IS NULL
				AND ($1 = 0 OR i.monitor_id = $1)
			RETURNING i.id
		)
		INSERT INTO incident_events (incident_id, kind, message)
		SELECT id, 'resolved', 'the monitor was paused' FROM r ORDER BY id`, monitorID)
	if err != nil {
		return fmt.Errorf("resolve incidents of paused monitors: %w", err)
	}
	return nil
}
