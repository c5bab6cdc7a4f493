package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// The SQL below shares these pieces. Deliveries go to the monitor's own
// channels and to every default channel; their idempotency key names the
// event and the channel, and ON CONFLICT makes queueing twice a no-op.
const (
	// targetSQL is what a monitor watches, for messages.
	targetSQL = `CASE m.type WHEN 'http' THEN m.url WHEN 'heartbeat' THEN ''
		ELSE concat(m.settings->>'host', ':' || (m.settings->>'port')) END`
	// channelsJoinSQL joins the channels that notify for monitor m.
	channelsJoinSQL = `JOIN channels c ON c.is_default
		OR c.id IN (SELECT mc.channel_id FROM monitor_channels mc WHERE mc.monitor_id = m.id)`
)

// incidentDeliveriesSQL queues one delivery per channel for each row of the
// CTE x: an event (event_id, at, kind: the delivery kind) and its incident
// (incident_id, monitor_id, error, status_code, started_at, resolved_at).
// It ends a statement whose CTEs define x; the incident's columns come
// through the CTEs because rows they write are not visible to the rest of
// the statement.
const incidentDeliveriesSQL = `
	INSERT INTO deliveries (idempotency_key, channel_id, monitor_id, incident_id, kind, payload)
	SELECT 'event:' || x.event_id || ':channel:' || c.id, c.id, m.id, x.incident_id, x.kind,
		jsonb_build_object('monitor_name', m.name, 'target', ` + targetSQL + `,
			'error', x.error, 'status_code', coalesce(x.status_code, 0),
			'since', x.started_at, 'at', x.at,
			'duration_seconds', CASE WHEN x.kind = 'up'
				THEN extract(epoch FROM x.resolved_at - x.started_at) ELSE 0 END)
	FROM x JOIN monitors m ON m.id = x.monitor_id
	` + channelsJoinSQL + `
	ORDER BY x.event_id, c.id
	ON CONFLICT (idempotency_key) DO NOTHING`

// incidentReturning is what the CTE that changes incidents returns, for x.
const incidentReturning = `i.id, i.monitor_id, i.error, i.status_code, i.started_at, i.resolved_at`

// eventsSQL builds x from the CTE r (returning incidentReturning) and the
// CTE e (the events inserted for r: id, incident_id, at), with the
// delivery kind.
const eventsSQL = `, x AS (
		SELECT e.id AS event_id, e.at, %s AS kind, r.id AS incident_id, r.monitor_id, r.error, r.status_code,
			r.started_at, r.resolved_at
		FROM e JOIN r ON r.id = e.incident_id)`

// resolveCandidates are the monitors of states that may resolve an
// incident: not down, and not yet up for longer than any
// recovery_confirmations. A monitor up for longer resolved its incident in
// the transaction that stored the state reaching it, so the monitors that
// have been up for a while (nearly all of them) cost nothing here.
func resolveCandidates(states []State) []int64 {
	var out []int64
	for _, st := range states {
		if st.Status != monitor.StatusDown && st.ConsecutiveSuccesses <= monitor.MaxConfirmations {
			out = append(out, st.MonitorID)
		}
	}
	return out
}

// prelude reads, in one round trip at the start of WriteBatch's
// transaction, the current maintenance windows and which of the candidates
// (resolveCandidates) have an open incident: few do, and a look at the
// small index of open incidents spares most batches the statement that
// resolves. An incident opened by another batch after this look is
// resolved by a later batch of the monitor (it stays a candidate).
func prelude(ctx context.Context, tx pgx.Tx, candidates []int64) ([]alert.Window, []int64, error) {
	b := &pgx.Batch{}
	b.Queue(windowsSQL, true)
	if len(candidates) > 0 {
		b.Queue(`SELECT monitor_id FROM incidents WHERE resolved_at IS NULL AND monitor_id = ANY($1)`, candidates)
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, nil, fmt.Errorf("select maintenance windows: %w", err)
	}
	windows, err := collectWindows(rows)
	if err != nil || len(candidates) == 0 {
		return windows, nil, err
	}
	if rows, err = br.Query(); err != nil {
		return nil, nil, fmt.Errorf("look for open incidents: %w", err)
	}
	open, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, nil, fmt.Errorf("look for open incidents: %w", err)
	}
	return windows, open, br.Close()
}

// alerting turns the batch's states into incidents, timeline events and
// queued deliveries, in WriteBatch's transaction, after the states were
// stored. states holds each monitor's latest state (one per monitor), as
// decided by Redis; results the batch's checks. It returns how many
// deliveries it queued.
//
// Deadlocks: the states were upserted in monitor order first, which locks
// those monitor_state rows until commit, so two batches touching the same
// monitor's incident are serialised there before they reach incidents.
func (s *Store) alerting(ctx context.Context, tx pgx.Tx, results []Result, states []State, windows []alert.Window, open []int64) (int64, error) {
	var queued int64
	failures := map[int64]int32{}
	for i := range results {
		if r := &results[i]; !r.OK && !r.Maintenance {
			failures[r.MonitorID]++
		}
	}
	// ids: monitors in the batch; down: those that may open an incident.
	var ids, down []int64
	for _, st := range states {
		ids = append(ids, st.MonitorID)
		if st.Status == monitor.StatusDown && !alert.InMaintenance(windows, st.MonitorID, st.LastCheckAt) {
			down = append(down, st.MonitorID)
		}
	}
	slices.Sort(ids)
	slices.Sort(down)

	// Failed checks of incidents that stay open.
	if len(failures) > 0 {
		fids, counts := make([]int64, 0, len(failures)), make([]int32, 0, len(failures))
		for _, id := range ids {
			if n, ok := failures[id]; ok {
				fids, counts = append(fids, id), append(counts, n)
			}
		}
		if len(fids) > 0 {
			if _, err := tx.Exec(ctx, `
				UPDATE incidents i SET failed_checks = i.failed_checks + u.n
				FROM unnest($1::bigint[], $2::integer[]) AS u(id, n)
				WHERE i.monitor_id = u.id AND i.resolved_at IS NULL`, fids, counts); err != nil {
				return 0, fmt.Errorf("count failed checks of incidents: %w", err)
			}
		}
	}

	// Resolve: the monitor is up (or degraded) for recovery_confirmations
	// checks in a row. It recovered when the first of them ran (its
	// status_since), not when the last confirmed it. open holds the
	// monitors that may resolve and had an open incident (prelude).
	if len(open) > 0 {
		tag, err := tx.Exec(ctx, `
		WITH r AS (
			UPDATE incidents i SET resolved_at = greatest(s.status_since, i.started_at),
				resolution = 'recovered', next_reminder_at = NULL
			FROM monitor_state s JOIN monitors m ON m.id = s.monitor_id
			WHERE s.monitor_id = ANY($1) AND i.monitor_id = s.monitor_id AND i.resolved_at IS NULL
				AND s.status <> 'down' AND s.consecutive_successes >= m.recovery_confirmations
			RETURNING `+incidentReturning+`, s.consecutive_successes
		), e AS (
			INSERT INTO incident_events (incident_id, kind, message)
			SELECT r.id, 'resolved',
				format('recovered: %s successful check(s) in a row', r.consecutive_successes)
			FROM r ORDER BY r.id
			RETURNING id, incident_id, at
		)`+fmt.Sprintf(eventsSQL, `'up'`)+incidentDeliveriesSQL, open)
		if err != nil {
			return 0, fmt.Errorf("resolve incidents: %w", err)
		}
		queued += tag.RowsAffected()
	}

	// Open: the monitor failed confirmations checks in a row and is not in
	// maintenance. A monitor with an open incident already conflicts on
	// incidents_one_open and is left alone.
	if len(down) > 0 {
		tag, err := tx.Exec(ctx, `
			WITH r AS (
				INSERT INTO incidents AS i (monitor_id, started_at, error, status_code, failed_checks, next_reminder_at)
				SELECT s.monitor_id, s.status_since, coalesce(f.error, s.last_error, ''),
					coalesce(f.status_code::integer, s.last_status_code), s.consecutive_failures,
					CASE WHEN m.reminder_minutes > 0 THEN now() + make_interval(mins => m.reminder_minutes) END
				FROM monitor_state s JOIN monitors m ON m.id = s.monitor_id AND m.enabled
				-- The first failing check's error: the one that turned the
				-- status down (the live state keeps milliseconds).
				LEFT JOIN LATERAL (
					SELECT c.error, c.status_code FROM check_results c
					WHERE c.monitor_id = s.monitor_id AND NOT c.ok
						AND c.time >= s.status_since AND c.time < s.status_since + interval '1 millisecond'
					LIMIT 1) f ON true
				WHERE s.monitor_id = ANY($1) AND s.status = 'down' AND s.consecutive_failures >= m.confirmations
					-- Already open (a long outage): left before the look
					-- for the first failure, which may be in a compressed
					-- chunk by now.
					AND NOT EXISTS (SELECT 1 FROM incidents o WHERE o.monitor_id = s.monitor_id AND o.resolved_at IS NULL)
				ORDER BY s.monitor_id
				ON CONFLICT (monitor_id) WHERE resolved_at IS NULL DO NOTHING
				RETURNING `+incidentReturning+`, i.failed_checks
			), e AS (
				INSERT INTO incident_events (incident_id, kind, message)
				SELECT r.id, 'opened', format('down: %s failed check(s) in a row', r.failed_checks)
				FROM r ORDER BY r.id
				RETURNING id, incident_id, at
			)`+fmt.Sprintf(eventsSQL, `'down'`)+incidentDeliveriesSQL, down)
		if err != nil {
			return 0, fmt.Errorf("open incidents: %w", err)
		}
		queued += tag.RowsAffected()
	}
	return queued, s.certNotices(ctx, tx, results, &queued)
}

// certNotices queues a warning for each certificate that crossed one of
// its monitor's cert_alert_days thresholds, once per (certificate,
// threshold): the nearest threshold crossed is recorded in cert_notices,
// and a later check of the same certificate finds it there.
func (s *Store) certNotices(ctx context.Context, tx pgx.Tx, results []Result, queued *int64) error {
	latest := map[int64]time.Time{}
	for i := range results {
		r := &results[i]
		if r.CertExpiry.IsZero() || r.Maintenance {
			continue
		}
		// Within a year (the largest threshold) and not yet expired: an
		// expired certificate fails its check, which is an incident.
		if left := time.Until(r.CertExpiry); left <= 0 || left > monitor.MaxCertAlertDays*24*time.Hour {
			continue
		}
		latest[r.MonitorID] = r.CertExpiry
	}
	if len(latest) == 0 {
		return nil
	}
	type cert struct {
		id  int64
		exp time.Time
	}
	certs := make([]cert, 0, len(latest))
	for id, exp := range latest {
		certs = append(certs, cert{id, exp})
	}
	slices.SortFunc(certs, func(a, b cert) int { return cmp.Compare(a.id, b.id) })
	ids, exps := make([]int64, len(certs)), make([]time.Time, len(certs))
	for i, c := range certs {
		ids[i], exps[i] = c.id, c.exp
	}
	tag, err := tx.Exec(ctx, `
		WITH crossed AS (
			SELECT u.id, u.exp, min(d) AS days
			FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, exp)
			JOIN monitors m ON m.id = u.id AND m.enabled
			CROSS JOIN LATERAL unnest(m.cert_alert_days) AS d
			WHERE u.exp - now() <= d * interval '1 day'
			GROUP BY u.id, u.exp
		), n AS (
			INSERT INTO cert_notices (monitor_id, expires_at, days)
			SELECT id, exp, days FROM crossed ORDER BY id
			ON CONFLICT DO NOTHING
			RETURNING monitor_id, expires_at, days
		)
		INSERT INTO deliveries (idempotency_key, channel_id, monitor_id, kind, payload)
		SELECT 'cert:' || m.id || ':' || floor(extract(epoch FROM n.expires_at))::bigint || ':' || n.days
				|| ':channel:' || c.id,
			c.id, m.id, 'cert',
			jsonb_build_object('monitor_name', m.name, 'target', `+targetSQL+`,
				'error', format('the certificate expires on %s, within %s day(s)',
					to_char(n.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'), n.days),
				'status_code', 0, 'since', n.expires_at, 'at', now(), 'duration_seconds', 0)
		FROM n JOIN monitors m ON m.id = n.monitor_id
		`+channelsJoinSQL+`
		ORDER BY m.id, c.id
		ON CONFLICT (idempotency_key) DO NOTHING`, ids, exps)
	if err != nil {
		return fmt.Errorf("queue certificate warnings: %w", err)
	}
	*queued += tag.RowsAffected()
	return nil
}

// markMaintenance flags the results made during a maintenance window of
// their monitor.
func markMaintenance(results []Result, windows []alert.Window) {
	if len(windows) == 0 {
		return
	}
	for i := range results {
		results[i].Maintenance = alert.InMaintenance(windows, results[i].MonitorID, results[i].Time)
	}
}
