package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
)

// Checks returns up to limit results of a monitor in [from, to) and older
// than before (when not zero), newest first.
func (s *Store) Checks(ctx context.Context, monitorID int64, from, to, before time.Time, limit int) ([]Result, error) {
	if before.IsZero() || before.After(to) {
		before = to
	}
	rows, err := s.pool.Query(ctx, `
		SELECT time, ok, coalesce(status_code, 0), latency_ms, coalesce(dns_ms, 0), coalesce(connect_ms, 0),
			coalesce(tls_ms, 0), coalesce(ttfb_ms, 0), coalesce(error_kind, ''), coalesce(error, ''), worker,
			degraded, cert_expires_at, coalesce(detail, ''), maintenance
		FROM check_results
		WHERE monitor_id = @id AND time >= @from AND time < @before
		ORDER BY time DESC
		LIMIT @limit`,
		pgx.NamedArgs{"id": monitorID, "from": from, "before": before, "limit": limit})
	if err != nil {
		return nil, fmt.Errorf("select checks: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Result, error) {
		res := Result{MonitorID: monitorID}
		var code int16
		var lat, dns, conn, tls, ttfb float32
		var certExpiry *time.Time
		err := r.Scan(&res.Time, &res.OK, &code, &lat, &dns, &conn, &tls, &ttfb, &res.ErrorKind, &res.Error, &res.Worker,
			&res.Degraded, &certExpiry, &res.Detail, &res.Maintenance)
		if certExpiry != nil {
			res.CertExpiry = *certExpiry
		}
		res.StatusCode = int(code)
		res.LatencyMS, res.DNSMS, res.ConnectMS, res.TLSMS, res.TTFBMS =
			float64(lat), float64(dns), float64(conn), float64(tls), float64(ttfb)
		return res, err
	})
	if err != nil {
		return nil, fmt.Errorf("select checks: %w", err)
	}
	return out, nil
}

// Stats are the figures of a span of time. Checks, Failures, Degraded and
// the latency figures count every check, those made during maintenance
// too; UptimeRatio leaves those out. Latency figures cover successful
// checks and are NaN when there were none.
type Stats struct {
	Checks   int64
	Failures int64
	Degraded int64 // successful checks that were degraded
	// Maintenance counts the checks made during a maintenance window of
	// the monitor, and MaintenanceFailures those of them that failed.
	Maintenance         int64
	MaintenanceFailures int64
	LatencyAvg          float64
	LatencyP95          float64
	LatencyMin          float64
	LatencyMax          float64
	// P95Exact is false when p95 was estimated from rollup histograms.
	P95Exact bool
}

// UptimeRatio is the share of successful checks, from 0 to 1, among the
// checks made outside maintenance: a failure during a maintenance window
// does not lower uptime. ok is false when every check, or none, was made
// during maintenance.
func (st Stats) UptimeRatio() (ratio float64, ok bool) {
	counted := st.Checks - st.Maintenance
	if counted <= 0 {
		return 0, false
	}
	return float64(counted-(st.Failures-st.MaintenanceFailures)) / float64(counted), true
}

// Bucket is Stats for one bucket of an uptime query.
type Bucket struct {
	Start time.Time
	Stats
}

// Uptime is the answer of an uptime query.
type Uptime struct {
	Total   Stats
	Buckets []Bucket
	// FromRollups says the answer came from hourly rollups (plus raw rows
	// for partial hours at the edges).
	FromRollups bool
}

// UptimeQuery asks for a monitor's figures in [From, To), in buckets of
// Bucket aligned to multiples of Bucket since the Unix epoch (UTC).
type UptimeQuery struct {
	MonitorID int64
	From, To  time.Time
	Bucket    time.Duration
}

// AlignDown returns the start of the bucket of size d that holds t, with
// buckets aligned to multiples of d since the Unix epoch (UTC). Sizes that
// divide a day therefore start at midnight UTC.
func AlignDown(t time.Time, d time.Duration) time.Time {
	ms, size := t.UnixMilli(), d.Milliseconds()
	return time.UnixMilli(ms - ((ms%size)+size)%size).UTC()
}

// BucketStarts returns the start of each bucket of q: aligned to the bucket
// size, the first clipped to From.
func (q UptimeQuery) BucketStarts() []time.Time {
	var out []time.Time
	for t := AlignDown(q.From, q.Bucket); t.Before(q.To); t = t.Add(q.Bucket) {
		out = append(out, maxTime(t, q.From))
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// UsesRollups tells whether q is answered from hourly rollups: when its
// buckets are whole hours.
func (q UptimeQuery) UsesRollups() bool { return q.Bucket%time.Hour == 0 }

// Uptime answers q. Buckets of whole hours come from the hourly rollups, so
// 30- and 90-day windows read one row per hour instead of every check; the
// partial hours at the window's edges are read from raw rows, so the counts
// are exact either way. Shorter buckets are computed from raw rows with an
// exact p95.
func (s *Store) Uptime(ctx context.Context, q UptimeQuery) (Uptime, error) {
	q.From, q.To = q.From.UTC(), q.To.UTC()
	if q.UsesRollups() {
		return s.uptimeFromRollups(ctx, q)
	}
	return s.uptimeFromRaw(ctx, q)
}

func (s *Store) uptimeFromRaw(ctx context.Context, q UptimeQuery) (Uptime, error) {
	starts := q.BucketStarts()
	out := Uptime{Buckets: make([]Bucket, len(starts))}
	for i, t := range starts {
		out.Buckets[i] = Bucket{Start: t, Stats: emptyStats(true)}
	}
	origin := AlignDown(q.From, q.Bucket)
	rows, err := s.pool.Query(ctx, `
		SELECT floor(extract(epoch FROM time - @origin) * 1000 / @bucket_ms)::bigint AS b,
			count(*), count(*) FILTER (WHERE NOT ok), count(*) FILTER (WHERE ok AND degraded),
			count(*) FILTER (WHERE maintenance), count(*) FILTER (WHERE maintenance AND NOT ok),
			avg(latency_ms) FILTER (WHERE ok),
			percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE ok),
			min(latency_ms) FILTER (WHERE ok), max(latency_ms) FILTER (WHERE ok),
			GROUPING(floor(extract(epoch FROM time - @origin) * 1000 / @bucket_ms)::bigint) = 1 AS total
		FROM check_results
		WHERE monitor_id = @id AND time >= @from AND time < @to
		GROUP BY GROUPING SETS ((b), ())`,
		pgx.NamedArgs{"id": q.MonitorID, "from": q.From, "to": q.To, "origin": origin, "bucket_ms": q.Bucket.Milliseconds()})
	if err != nil {
		return out, fmt.Errorf("select uptime: %w", err)
	}
	defer rows.Close()
	out.Total = emptyStats(true)
	for rows.Next() {
		var b *int64
		var st Stats
		var avg, p95, mn, mx *float64
		var total bool
		if err := rows.Scan(&b, &st.Checks, &st.Failures, &st.Degraded, &st.Maintenance, &st.MaintenanceFailures,
			&avg, &p95, &mn, &mx, &total); err != nil {
			return out, fmt.Errorf("scan uptime: %w", err)
		}
		st.LatencyAvg, st.LatencyP95, st.LatencyMin, st.LatencyMax = orNaN(avg), orNaN(p95), orNaN(mn), orNaN(mx)
		st.P95Exact = true
		if total {
			out.Total = st
			continue
		}
		if b != nil && *b >= 0 && int(*b) < len(out.Buckets) {
			out.Buckets[*b].Stats = st
		}
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("select uptime: %w", err)
	}
	return out, nil
}

func (s *Store) uptimeFromRollups(ctx context.Context, q UptimeQuery) (Uptime, error) {
	starts := q.BucketStarts()
	aggs := make([]aggregate, len(starts))
	// Checks made during maintenance, per bucket: kept beside the
	// aggregates, which count them among their checks.
	maint := make([]maintenanceCount, len(starts))
	origin := AlignDown(q.From, q.Bucket)
	index := func(t time.Time) int { return int(t.Sub(origin) / q.Bucket) }

	firstHour, lastHour := q.From.Truncate(time.Hour), q.To.Truncate(time.Hour)
	if !firstHour.Equal(q.From) {
		firstHour = firstHour.Add(time.Hour)
	}
	if !firstHour.Before(lastHour) { // no whole hour inside: raw rows only
		firstHour, lastHour = q.To, q.To
	}
	rows, err := s.pool.Query(ctx, `
		SELECT bucket, checks, failures, degraded, latency_sum_ms, coalesce(latency_min_ms, 0),
			coalesce(latency_max_ms, 0), latency_hist, maintenance, maintenance_failures
		FROM check_rollups_hourly
		WHERE monitor_id = @id AND bucket >= @first AND bucket < @last`,
		pgx.NamedArgs{"id": q.MonitorID, "first": firstHour, "last": lastHour})
	if err != nil {
		return Uptime{}, fmt.Errorf("select rollups: %w", err)
	}
	var a aggregate
	var m maintenanceCount
	var hist []int32
	var bucket time.Time
	var mn, mx float32
	_, err = pgx.ForEachRow(rows, []any{&bucket, &a.Checks, &a.Failures, &a.Degraded, &a.LatencySum, &mn, &mx, &hist,
		&m.checks, &m.failures}, func() error {
		a.Min, a.Max = float64(mn), float64(mx)
		a.Hist = make([]int64, histBuckets)
		for i, n := range hist {
			if i < histBuckets {
				a.Hist[i] = int64(n)
			}
		}
		if i := index(bucket); i >= 0 && i < len(aggs) {
			aggs[i].merge(&a)
			maint[i].checks += m.checks
			maint[i].failures += m.failures
		}
		return nil
	})
	if err != nil {
		return Uptime{}, fmt.Errorf("select rollups: %w", err)
	}

	// The partial hours at the edges, from raw rows.
	rows, err = s.pool.Query(ctx, `
		SELECT time, ok, degraded, latency_ms, maintenance FROM check_results
		WHERE monitor_id = @id AND ((time >= @from AND time < @first) OR (time >= @last AND time < @to))`,
		pgx.NamedArgs{"id": q.MonitorID, "from": q.From, "to": q.To, "first": firstHour, "last": lastHour})
	if err != nil {
		return Uptime{}, fmt.Errorf("select edge checks: %w", err)
	}
	var t time.Time
	var ok, degraded, inMaintenance bool
	var lat float32
	_, err = pgx.ForEachRow(rows, []any{&t, &ok, &degraded, &lat, &inMaintenance}, func() error {
		if i := index(t); i >= 0 && i < len(aggs) {
			aggs[i].add(ok, degraded, float64(lat))
			if inMaintenance {
				maint[i].add(ok)
			}
		}
		return nil
	})
	if err != nil {
		return Uptime{}, fmt.Errorf("select edge checks: %w", err)
	}

	out := Uptime{Buckets: make([]Bucket, len(starts)), FromRollups: true}
	var total aggregate
	var totalMaint maintenanceCount
	for i := range aggs {
		out.Buckets[i] = Bucket{Start: starts[i], Stats: aggs[i].stats()}
		maint[i].set(&out.Buckets[i].Stats)
		total.merge(&aggs[i])
		totalMaint.checks += maint[i].checks
		totalMaint.failures += maint[i].failures
	}
	out.Total = total.stats()
	totalMaint.set(&out.Total)
	return out, nil
}

// maintenanceCount counts checks made during maintenance, and how many of
// them failed.
type maintenanceCount struct{ checks, failures int64 }

func (m *maintenanceCount) add(ok bool) {
	m.checks++
	if !ok {
		m.failures++
	}
}

func (m *maintenanceCount) set(st *Stats) {
	st.Maintenance, st.MaintenanceFailures = m.checks, m.failures
}

func (a *aggregate) stats() Stats {
	st := emptyStats(false)
	st.Checks, st.Failures, st.Degraded = a.Checks, a.Failures, a.Degraded
	if n := a.successes(); n > 0 {
		st.LatencyAvg = a.LatencySum / float64(n)
		st.LatencyMin, st.LatencyMax = a.Min, a.Max
		st.LatencyP95 = a.quantile(0.95)
	}
	return st
}

func emptyStats(exact bool) Stats {
	nan := math.NaN()
	return Stats{LatencyAvg: nan, LatencyP95: nan, LatencyMin: nan, LatencyMax: nan, P95Exact: exact}
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
