package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// MonitorView is a monitor with the state the API shows beside it.
type MonitorView struct {
	monitor.Monitor
	State *State // nil before the first check
	// Incident is the monitor's open incident (ID, StartedAt,
	// AcknowledgedAt and FailedChecks set), nil when there is none.
	Incident *alert.Incident
}

// State is the last known state of a monitor, as workers wrote it.
type State struct {
	MonitorID            int64
	Status               monitor.Status
	StatusSince          time.Time
	LastCheckAt          time.Time
	LastOK               bool
	LastDegraded         bool
	LastStatusCode       int
	LastLatencyMS        float64
	LastError            string
	ConsecutiveFailures  int
	ConsecutiveSuccesses int
}

const monitorColumns = `m.id, m.name, m.type, m.url, m.method, m.headers, m.headers_sealed,
	m.secrets, m.secrets_sealed, m.settings, coalesce(m.ping_token, ''), m.body,
	m.interval_seconds, m.timeout_ms, m.expected_status, m.follow_redirects, m.verify_tls,
	m.enabled, m.created_at, m.updated_at, m.confirmations, m.recovery_confirmations,
	m.reminder_minutes, m.cert_alert_days,
	ARRAY(SELECT mc.channel_id FROM monitor_channels mc WHERE mc.monitor_id = m.id ORDER BY mc.channel_id)`

const viewColumns = monitorColumns + `, s.status, s.status_since, s.last_check_at,
	s.last_ok, s.last_status_code, s.last_latency_ms, s.last_error,
	s.consecutive_failures, s.consecutive_successes, s.last_degraded,
	i.id, i.started_at, i.acknowledged_at, i.failed_checks`

// viewFrom joins what viewColumns reads.
const viewFrom = `monitors m LEFT JOIN monitor_state s ON s.monitor_id = m.id
	LEFT JOIN incidents i ON i.monitor_id = m.id AND i.resolved_at IS NULL`

func (s *Store) scanMonitor(row pgx.Row, m *monitor.Monitor, extra ...any) error {
	var headersSealed, secretsSealed []byte
	var plainSecrets map[string]string
	var set settings
	dest := append([]any{&m.ID, &m.Name, &m.Type, &m.URL, &m.Method, &m.Headers, &headersSealed,
		&plainSecrets, &secretsSealed, &set, &m.PingToken, &m.Body,
		&m.IntervalSeconds, &m.TimeoutMS, &m.ExpectedStatus, &m.FollowRedirects,
		&m.VerifyTLS, &m.Enabled, &m.CreatedAt, &m.UpdatedAt, &m.Confirmations, &m.RecoveryConfirmations,
		&m.ReminderMinutes, &m.CertAlertDays, &m.Channels}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	set.apply(m)
	if headersSealed != nil {
		if err := s.openSealed(ownerMonitor, m.ID, "headers", headersSealed, &m.Headers); err != nil {
			return err
		}
	}
	if secretsSealed != nil {
		if err := s.openSealed(ownerMonitor, m.ID, "secrets", secretsSealed, &plainSecrets); err != nil {
			return err
		}
	}
	applySecrets(m, plainSecrets)
	return nil
}

func (s *Store) scanView(row pgx.Row) (MonitorView, error) {
	var v MonitorView
	var (
		status               *string
		since, lastAt        *time.Time
		lastOK, lastDegraded *bool
		code                 *int32
		latency              *float32
		lastErr              *string
		failures, successes  *int32
		incidentID           *int64
		started, acked       *time.Time
		failedChecks         *int32
	)
	err := s.scanMonitor(row, &v.Monitor, &status, &since, &lastAt, &lastOK, &code, &latency, &lastErr, &failures, &successes, &lastDegraded,
		&incidentID, &started, &acked, &failedChecks)
	if err != nil {
		return v, err
	}
	if incidentID != nil {
		v.Incident = &alert.Incident{ID: *incidentID, MonitorID: v.ID, StartedAt: *started, FailedChecks: int(*failedChecks)}
		if acked != nil {
			v.Incident.AcknowledgedAt = *acked
		}
	}
	if status != nil {
		v.State = &State{
			MonitorID: v.ID, Status: monitor.Status(*status), StatusSince: *since, LastCheckAt: *lastAt,
			LastOK: *lastOK, LastDegraded: *lastDegraded, LastLatencyMS: float64(*latency), LastError: *lastErr,
			ConsecutiveFailures: int(*failures), ConsecutiveSuccesses: int(*successes),
		}
		if code != nil {
			v.State.LastStatusCode = int(*code)
		}
	}
	return v, nil
}

// CreateMonitor inserts m and returns it as stored. With secret keys, its
// headers are sealed: the sealed value names the row, so the insert and
// the sealing share a transaction.
func (s *Store) CreateMonitor(ctx context.Context, m monitor.Monitor) (monitor.Monitor, error) {
	var out monitor.Monitor
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if m.Type == monitor.TypeHeartbeat && m.PingToken == "" {
			m.PingToken = newPingToken()
		}
		var pingToken *string
		if m.PingToken != "" {
			pingToken = &m.PingToken
		}
		var id int64
		err := tx.QueryRow(ctx, `
			INSERT INTO monitors (name, type, url, method, headers, body, interval_seconds, timeout_ms,
				expected_status, follow_redirects, verify_tls, enabled, settings, ping_token,
				confirmations, recovery_confirmations, reminder_minutes, cert_alert_days)
			VALUES ($1, $2, $3, $4, '{}', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
			RETURNING id`,
			m.Name, m.Type, m.URL, m.Method, m.Body, m.IntervalSeconds, m.TimeoutMS,
			m.ExpectedStatus, m.FollowRedirects, m.VerifyTLS, m.Enabled, settingsOf(&m), pingToken,
			m.Confirmations, m.RecoveryConfirmations, m.ReminderMinutes, certAlertDays(m.CertAlertDays)).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert monitor: %w", err)
		}
		if err := linkChannels(ctx, tx, id, m.Channels); err != nil {
			return err
		}
		sec, err := s.sealSecrets(id, &m)
		if err != nil {
			return err
		}
		err = s.scanMonitor(tx.QueryRow(ctx, `
			UPDATE monitors AS m SET headers = $2, headers_sealed = $3, secrets = $4, secrets_sealed = $5
			WHERE m.id = $1
			RETURNING `+monitorColumns, id, sec.headers, sec.headersSealed, sec.secrets, sec.secretsSealed), &out)
		if err != nil {
			return fmt.Errorf("store monitor headers: %w", err)
		}
		return nil
	})
	return out, err
}

// GetMonitor returns one monitor with its state, or monitor.ErrNotFound.
func (s *Store) GetMonitor(ctx context.Context, id int64) (MonitorView, error) {
	v, err := s.scanView(s.pool.QueryRow(ctx, `
		SELECT `+viewColumns+`
		FROM `+viewFrom+`
		WHERE m.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return v, monitor.ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("select monitor: %w", err)
	}
	return v, nil
}

// MonitorExists returns monitor.ErrNotFound unless monitor id exists. It
// reads one index entry, unlike GetMonitor, which also opens its secrets.
func (s *Store) MonitorExists(ctx context.Context, id int64) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM monitors WHERE id = $1)`, id).Scan(&exists); err != nil {
		return fmt.Errorf("look for monitor: %w", err)
	}
	if !exists {
		return monitor.ErrNotFound
	}
	return nil
}

// ListMonitors returns up to limit monitors with ids above afterID, in id order.
func (s *Store) ListMonitors(ctx context.Context, afterID int64, limit int) ([]MonitorView, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+viewColumns+`
		FROM `+viewFrom+`
		WHERE m.id > @after
		ORDER BY m.id
		LIMIT @limit`, pgx.NamedArgs{"after": afterID, "limit": limit})
	if err != nil {
		return nil, fmt.Errorf("list monitors: %w", err)
	}
	defer rows.Close()
	out := make([]MonitorView, 0, limit)
	for rows.Next() {
		v, err := s.scanView(rows)
		if err != nil {
			return nil, fmt.Errorf("scan monitor: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list monitors: %w", err)
	}
	return out, nil
}

// UpdateMonitor loads monitor id under a row lock, lets change modify it,
// and stores the result, all in one transaction. change returns an error to
// abort (a validation error, say), which UpdateMonitor passes on unchanged.
func (s *Store) UpdateMonitor(ctx context.Context, id int64, change func(*monitor.Monitor) error) (monitor.Monitor, error) {
	var out monitor.Monitor
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var m monitor.Monitor
		err := s.scanMonitor(tx.QueryRow(ctx, `SELECT `+monitorColumns+` FROM monitors m WHERE m.id = $1 FOR UPDATE`, id), &m)
		if errors.Is(err, pgx.ErrNoRows) {
			return monitor.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("select monitor for update: %w", err)
		}
		if err := change(&m); err != nil {
			return err
		}
		if err := linkChannels(ctx, tx, id, m.Channels); err != nil {
			return err
		}
		sec, err := s.sealSecrets(id, &m)
		if err != nil {
			return err
		}
		err = s.scanMonitor(tx.QueryRow(ctx, `
			UPDATE monitors AS m SET name = $2, url = $3, method = $4, headers = $5, headers_sealed = $6,
				body = $7, interval_seconds = $8, timeout_ms = $9, expected_status = $10,
				follow_redirects = $11, verify_tls = $12, enabled = $13, settings = $14,
				secrets = $15, secrets_sealed = $16, confirmations = $17, recovery_confirmations = $18,
				reminder_minutes = $19, cert_alert_days = $20, updated_at = now()
			WHERE m.id = $1
			RETURNING `+monitorColumns,
			id, m.Name, m.URL, m.Method, sec.headers, sec.headersSealed, m.Body, m.IntervalSeconds, m.TimeoutMS,
			m.ExpectedStatus, m.FollowRedirects, m.VerifyTLS, m.Enabled, settingsOf(&m),
			sec.secrets, sec.secretsSealed, m.Confirmations, m.RecoveryConfirmations, m.ReminderMinutes,
			certAlertDays(m.CertAlertDays)), &out)
		if err != nil {
			return fmt.Errorf("update monitor: %w", err)
		}
		return nil
	})
	return out, err
}

// DeleteMonitor removes a monitor at once and leaves a tombstone; its
// results and rollups are purged later by PurgeDeleted, so the call is fast
// however much history the monitor has. Its incidents, deliveries and
// channel links go with it (foreign keys).
//
// Locks are taken in the order the alerting writers take them, so that
// none of them deadlocks with a delete: the state first (as WriteBatch),
// then the monitor's deliveries (FinishDelivery holds one and then needs
// its incident), then its incidents (QueueReminders holds one and then
// needs the monitor), then the monitor.
func (s *Store) DeleteMonitor(ctx context.Context, id int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM monitor_state WHERE monitor_id = $1`, id); err != nil {
			return fmt.Errorf("delete monitor state: %w", err)
		}
		if _, err := tx.Exec(ctx, `SELECT FROM deliveries WHERE monitor_id = $1 ORDER BY id FOR UPDATE`, id); err != nil {
			return fmt.Errorf("lock deliveries: %w", err)
		}
		if _, err := tx.Exec(ctx, `SELECT FROM incidents WHERE monitor_id = $1 ORDER BY id FOR UPDATE`, id); err != nil {
			return fmt.Errorf("lock incidents: %w", err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM monitors WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete monitor: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return monitor.ErrNotFound
		}
		if _, err := tx.Exec(ctx, `INSERT INTO deleted_monitors (monitor_id) VALUES ($1) ON CONFLICT DO NOTHING`, id); err != nil {
			return fmt.Errorf("record deleted monitor: %w", err)
		}
		return nil
	})
}

// LoadMonitors returns the monitors with the given ids that exist.
func (s *Store) LoadMonitors(ctx context.Context, ids []int64) ([]monitor.Monitor, error) {
	return s.queryMonitors(ctx, `SELECT `+monitorColumns+` FROM monitors m WHERE m.id = ANY($1)`, ids)
}

// MonitorsChangedSince returns monitors updated after t, and the database's
// clock at the time of the query, for the next sweep.
func (s *Store) MonitorsChangedSince(ctx context.Context, t time.Time) ([]monitor.Monitor, []int64, time.Time, error) {
	var now time.Time
	if err := s.pool.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return nil, nil, now, fmt.Errorf("read database clock: %w", err)
	}
	changed, err := s.queryMonitors(ctx, `SELECT `+monitorColumns+` FROM monitors m WHERE m.updated_at > $1`, t)
	if err != nil {
		return nil, nil, now, err
	}
	rows, err := s.pool.Query(ctx, `SELECT monitor_id FROM deleted_monitors WHERE deleted_at > $1`, t)
	if err != nil {
		return nil, nil, now, fmt.Errorf("select deleted monitors: %w", err)
	}
	deleted, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, nil, now, fmt.Errorf("select deleted monitors: %w", err)
	}
	return changed, deleted, now, nil
}

func (s *Store) queryMonitors(ctx context.Context, sql string, args ...any) ([]monitor.Monitor, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("select monitors: %w", err)
	}
	defer rows.Close()
	var out []monitor.Monitor
	for rows.Next() {
		var m monitor.Monitor
		if err := s.scanMonitor(rows, &m); err != nil {
			return nil, fmt.Errorf("scan monitor: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select monitors: %w", err)
	}
	return out, nil
}

// ScheduleEntry is what the schedule needs to know of an enabled monitor.
type ScheduleEntry struct {
	ID       int64
	Interval time.Duration
	// FirstDue is set for heartbeat monitors: a full period and the grace
	// time, so that a schedule rebuilt after a Redis loss never declares a
	// heartbeat missed before it could have pinged.
	FirstDue time.Duration
}

// EnabledMonitors calls fn with the enabled monitors in pages of up to
// pageSize, in id order, so that reconcile never holds 100,000 rows at once.
func (s *Store) EnabledMonitors(ctx context.Context, pageSize int, fn func([]ScheduleEntry) error) error {
	after := int64(0)
	for {
		rows, err := s.pool.Query(ctx, `
			SELECT id, interval_seconds,
				CASE WHEN type = 'heartbeat' THEN interval_seconds + coalesce((settings->>'grace_seconds')::int, 0) ELSE 0 END
			FROM monitors
			WHERE enabled AND id > $1 ORDER BY id LIMIT $2`, after, pageSize)
		if err != nil {
			return fmt.Errorf("select enabled monitors: %w", err)
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ScheduleEntry, error) {
			var e ScheduleEntry
			var secs, first int32
			err := r.Scan(&e.ID, &secs, &first)
			e.Interval, e.FirstDue = time.Duration(secs)*time.Second, time.Duration(first)*time.Second
			return e, err
		})
		if err != nil {
			return fmt.Errorf("select enabled monitors: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		if err := fn(page); err != nil {
			return err
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// LoadMonitorsEnabled tells which of the given monitors exist and are enabled.
func (s *Store) LoadMonitorsEnabled(ctx context.Context, ids []int64) (map[int64]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM monitors WHERE enabled AND id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("select enabled monitors: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("select enabled monitors: %w", err)
	}
	out := make(map[int64]bool, len(found))
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// MonitorByPingToken returns the heartbeat monitor whose ping URL holds
// token, or monitor.ErrNotFound.
func (s *Store) MonitorByPingToken(ctx context.Context, token string) (monitor.Monitor, error) {
	var m monitor.Monitor
	err := s.scanMonitor(s.pool.QueryRow(ctx, `SELECT `+monitorColumns+` FROM monitors m WHERE m.ping_token = $1`, token), &m)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, monitor.ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("select monitor by ping token: %w", err)
	}
	return m, nil
}

// certAlertDays stores an empty list as such, not as NULL.
func certAlertDays(days []int) []int32 {
	out := make([]int32, len(days))
	for i, d := range days {
		out[i] = int32(d)
	}
	return out
}

// foreignKeyViolation is PostgreSQL's SQLSTATE for a missing referenced row.
const foreignKeyViolation = "23503"

// linkChannels makes channels the monitor's list of channels. A channel
// that does not exist is a validation error on "channels".
func linkChannels(ctx context.Context, tx pgx.Tx, monitorID int64, channels []int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM monitor_channels WHERE monitor_id = $1`, monitorID); err != nil {
		return fmt.Errorf("unlink channels: %w", err)
	}
	if len(channels) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO monitor_channels (monitor_id, channel_id)
		SELECT $1, c FROM unnest($2::bigint[]) AS c ON CONFLICT DO NOTHING`, monitorID, channels)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == foreignKeyViolation {
		v := &monitor.ValidationError{}
		v.Add("channels", "lists a channel that does not exist")
		return v
	}
	if err != nil {
		return fmt.Errorf("link channels: %w", err)
	}
	return nil
}
