package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// Result is one check result as stored in check_results.
type Result struct {
	Time       time.Time
	MonitorID  int64
	OK         bool
	StatusCode int // 0 when no response arrived
	LatencyMS  float64
	DNSMS      float64 // phases: 0 when the phase did not happen
	ConnectMS  float64
	TLSMS      float64
	TTFBMS     float64
	ErrorKind  string
	Error      string
	Worker     string
	Degraded   bool      // succeeded but not healthy (OK is true)
	CertExpiry time.Time // the leaf certificate's expiry; zero without TLS
	Detail     string    // figures for people: ICMP round trips, the DNS answer
	// Maintenance is set by WriteBatch when the check fell in one of the
	// monitor's maintenance windows.
	Maintenance bool
}

var resultColumns = []string{"time", "monitor_id", "ok", "status_code", "latency_ms",
	"dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "error_kind", "error", "worker", "degraded", "cert_expires_at", "detail", "maintenance"}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func nullPositive(v float64) any {
	if v <= 0 {
		return nil
	}
	return float32(v)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// WriteBatch stores results, folds them into the hourly rollups, upserts
// the monitors' states and decides incidents and notifications, all in one
// transaction (DESIGN.md invariants 5 and 7): an incident and its queued
// deliveries commit with the results that caused them, or not at all.
// Rows are locked in (monitor, hour) order so that concurrent batches from
// many workers cannot deadlock. A state older than the stored one is
// ignored, so results arriving out of order never move a state backwards.
// Results made during a maintenance window are flagged as such.
func (s *Store) WriteBatch(ctx context.Context, results []Result, states []State) error {
	if len(results) == 0 && len(states) == 0 {
		return nil
	}
	var queued int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		windows, open, err := prelude(ctx, tx, resolveCandidates(states))
		if err != nil {
			return err
		}
		results := slices.Clone(results) // flagged here; the caller's stay as they are for a retry
		markMaintenance(results, windows)
		if len(results) > 0 {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"check_results"}, resultColumns,
				pgx.CopyFromSlice(len(results), func(i int) ([]any, error) {
					r := &results[i]
					var code any
					if r.StatusCode > 0 {
						code = int16(r.StatusCode)
					}
					return []any{r.Time, r.MonitorID, r.OK, code, float32(r.LatencyMS),
						nullPositive(r.DNSMS), nullPositive(r.ConnectMS), nullPositive(r.TLSMS),
						nullPositive(r.TTFBMS), nullString(r.ErrorKind), nullString(r.Error), r.Worker,
						r.Degraded, nullTime(r.CertExpiry), nullString(r.Detail), r.Maintenance}, nil
				}))
			if err != nil {
				return fmt.Errorf("copy check results: %w", err)
			}
			if err := upsertRollups(ctx, tx, results); err != nil {
				return err
			}
		}
		if err := upsertStates(ctx, tx, states); err != nil {
			return err
		}
		queued, err = s.alerting(ctx, tx, results, states, windows, open)
		return err
	})
	if err == nil && queued > 0 {
		s.signalQueued()
	}
	return err
}

type rollupKey struct {
	monitorID int64
	hour      int64 // unix seconds at the start of the hour
}

func upsertRollups(ctx context.Context, tx pgx.Tx, results []Result) error {
	groups := make(map[rollupKey]*aggregate)
	for i := range results {
		r := &results[i]
		k := rollupKey{r.MonitorID, r.Time.Truncate(time.Hour).Unix()}
		a := groups[k]
		if a == nil {
			a = &aggregate{}
			groups[k] = a
		}
		a.add(r.OK, r.Degraded, r.LatencyMS)
		if r.Maintenance {
			a.Maintenance++
			if !r.OK {
				a.MaintenanceFailures++
			}
		}
	}
	keys := make([]rollupKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b rollupKey) int {
		return cmp.Or(cmp.Compare(a.monitorID, b.monitorID), cmp.Compare(a.hour, b.hour))
	})
	n := len(keys)
	ids, buckets := make([]int64, n), make([]time.Time, n)
	checks, failures, degraded := make([]int64, n), make([]int64, n), make([]int64, n)
	maint, maintFailures := make([]int64, n), make([]int64, n)
	sums := make([]float64, n)
	mins, maxs := make([]*float64, n), make([]*float64, n)
	hists := make([]string, n)
	for i, k := range keys {
		a := groups[k]
		ids[i], buckets[i] = k.monitorID, time.Unix(k.hour, 0).UTC()
		checks[i], failures[i], degraded[i], sums[i] = a.Checks, a.Failures, a.Degraded, a.LatencySum
		maint[i], maintFailures[i] = a.Maintenance, a.MaintenanceFailures
		if a.successes() > 0 {
			mins[i], maxs[i] = &a.Min, &a.Max
		}
		hists[i] = histLiteral(a.Hist)
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO check_rollups_hourly AS r
			(monitor_id, bucket, checks, failures, degraded, latency_sum_ms, latency_min_ms, latency_max_ms, latency_hist,
			 maintenance, maintenance_failures)
		SELECT id, bucket, checks, failures, degraded, sum, min, max, hist::integer[], maint, maint_failures
		FROM unnest(@ids::bigint[], @buckets::timestamptz[], @checks::bigint[], @failures::bigint[],
			@degraded::bigint[], @sums::float8[], @mins::float8[], @maxs::float8[], @hists::text[],
			@maint::bigint[], @maint_failures::bigint[])
			AS u(id, bucket, checks, failures, degraded, sum, min, max, hist, maint, maint_failures)
		ON CONFLICT (monitor_id, bucket) DO UPDATE SET
			checks = r.checks + EXCLUDED.checks,
			maintenance = r.maintenance + EXCLUDED.maintenance,
			maintenance_failures = r.maintenance_failures + EXCLUDED.maintenance_failures,
			failures = r.failures + EXCLUDED.failures,
			degraded = r.degraded + EXCLUDED.degraded,
			latency_sum_ms = r.latency_sum_ms + EXCLUDED.latency_sum_ms,
			latency_min_ms = LEAST(r.latency_min_ms, EXCLUDED.latency_min_ms),
			latency_max_ms = GREATEST(r.latency_max_ms, EXCLUDED.latency_max_ms),
			latency_hist = ARRAY(
				SELECT coalesce(a, 0) + coalesce(b, 0)
				FROM unnest(r.latency_hist, EXCLUDED.latency_hist) WITH ORDINALITY AS t(a, b, i)
				ORDER BY i)`,
		pgx.NamedArgs{"ids": ids, "buckets": buckets, "checks": checks, "failures": failures,
			"degraded": degraded, "maint": maint, "maint_failures": maintFailures, "sums": sums, "mins": mins, "maxs": maxs, "hists": hists})
	if err != nil {
		return fmt.Errorf("upsert rollups: %w", err)
	}
	return nil
}

// histLiteral renders a histogram as a PostgreSQL array literal.
func histLiteral(h []int64) string {
	if h == nil {
		h = make([]int64, histBuckets)
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range h {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(n, 10))
	}
	b.WriteByte('}')
	return b.String()
}

func upsertStates(ctx context.Context, tx pgx.Tx, states []State) error {
	if len(states) == 0 {
		return nil
	}
	states = slices.Clone(states)
	slices.SortFunc(states, func(a, b State) int { return cmp.Compare(a.MonitorID, b.MonitorID) })
	n := len(states)
	ids := make([]int64, n)
	status := make([]string, n)
	since, lastAt := make([]time.Time, n), make([]time.Time, n)
	lastOK, lastDegraded := make([]bool, n), make([]bool, n)
	codes := make([]*int32, n)
	latency := make([]float64, n)
	errs := make([]string, n)
	fails, succs := make([]int32, n), make([]int32, n)
	for i, st := range states {
		ids[i], status[i], since[i], lastAt[i] = st.MonitorID, string(st.Status), st.StatusSince, st.LastCheckAt
		lastOK[i], lastDegraded[i], latency[i], errs[i] = st.LastOK, st.LastDegraded, st.LastLatencyMS, st.LastError
		if st.LastStatusCode > 0 {
			c := int32(st.LastStatusCode)
			codes[i] = &c
		}
		fails[i], succs[i] = int32(st.ConsecutiveFailures), int32(st.ConsecutiveSuccesses)
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO monitor_state AS s (monitor_id, status, status_since, last_check_at, last_ok,
			last_status_code, last_latency_ms, last_error, consecutive_failures, consecutive_successes, last_degraded)
		SELECT * FROM unnest(@ids::bigint[], @status::text[], @since::timestamptz[], @last_at::timestamptz[],
			@last_ok::boolean[], @codes::integer[], @latency::real[], @errs::text[], @fails::integer[], @succs::integer[],
			@last_degraded::boolean[])
		ON CONFLICT (monitor_id) DO UPDATE SET
			status = EXCLUDED.status, status_since = EXCLUDED.status_since,
			last_check_at = EXCLUDED.last_check_at, last_ok = EXCLUDED.last_ok,
			last_status_code = EXCLUDED.last_status_code, last_latency_ms = EXCLUDED.last_latency_ms,
			last_error = EXCLUDED.last_error, consecutive_failures = EXCLUDED.consecutive_failures,
			consecutive_successes = EXCLUDED.consecutive_successes, last_degraded = EXCLUDED.last_degraded
		WHERE s.last_check_at <= EXCLUDED.last_check_at`,
		pgx.NamedArgs{"ids": ids, "status": status, "since": since, "last_at": lastAt, "last_ok": lastOK,
			"codes": codes, "latency": latency, "errs": errs, "fails": fails, "succs": succs, "last_degraded": lastDegraded})
	if err != nil {
		return fmt.Errorf("upsert monitor states: %w", err)
	}
	return nil
}

// States returns the stored states of the given monitors, for rebuilding
// the live state in Redis after it was lost.
func (s *Store) States(ctx context.Context, ids []int64) ([]State, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT monitor_id, status, status_since, last_check_at, last_ok, coalesce(last_status_code, 0),
			last_latency_ms, last_error, consecutive_failures, consecutive_successes, last_degraded
		FROM monitor_state WHERE monitor_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("select monitor states: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (State, error) {
		var st State
		var status string
		var latency float32
		err := r.Scan(&st.MonitorID, &status, &st.StatusSince, &st.LastCheckAt, &st.LastOK,
			&st.LastStatusCode, &latency, &st.LastError, &st.ConsecutiveFailures, &st.ConsecutiveSuccesses, &st.LastDegraded)
		st.Status, st.LastLatencyMS = monitor.Status(status), float64(latency)
		return st, err
	})
	if err != nil {
		return nil, fmt.Errorf("select monitor states: %w", err)
	}
	return out, nil
}
