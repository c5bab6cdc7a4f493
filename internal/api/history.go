package api

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pinguin-dev/pinguin/internal/store"
)

type phasesJSON struct {
	DNS     *float64 `json:"dns_ms"`
	Connect *float64 `json:"connect_ms"`
	TLS     *float64 `json:"tls_ms"`
	TTFB    *float64 `json:"ttfb_ms"`
}

type checkJSON struct {
	Time       time.Time  `json:"time"`
	OK         bool       `json:"ok"`
	StatusCode *int       `json:"status_code"`
	LatencyMS  float64    `json:"latency_ms"`
	Phases     phasesJSON `json:"phases"`
	ErrorKind  *string    `json:"error_kind"`
	Error      *string    `json:"error"`
	Worker     string     `json:"worker"`
	Degraded   bool       `json:"degraded"`
	CertExpiry *time.Time `json:"cert_expires_at"`
	Detail     *string    `json:"detail"`
	// Maintenance is true for a check made during a maintenance window of
	// the monitor: it does not count in uptime.
	Maintenance bool `json:"maintenance"`
}

// round rounds v to places decimals.
func round(v float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(v*p) / p
}

// optional is nil for NaN and for values that mean "did not happen" (≤ 0),
// else v rounded to microseconds.
func optional(v float64) *float64 {
	if math.IsNaN(v) || v <= 0 {
		return nil
	}
	r := round(v, 3)
	return &r
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// parseTime reads an RFC 3339 query parameter, or returns def when absent.
func parseTime(r *http.Request, name string, def time.Time) (time.Time, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, invalid(name, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
	}
	t = t.UTC()
	if t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, invalid(name, "must be between the years 1970 and 9999")
	}
	return t, nil
}

// parseWindow reads the from and to parameters of a time window, with
// defaults for either, and checks that from comes first. When only to is
// given, from defaults to the same distance before it as defFrom is before
// defTo.
func parseWindow(r *http.Request, defFrom, defTo time.Time) (from, to time.Time, err error) {
	if to, err = parseTime(r, "to", defTo); err != nil {
		return from, to, err
	}
	if from, err = parseTime(r, "from", to.Add(defFrom.Sub(defTo))); err != nil {
		return from, to, err
	}
	if !from.Before(to) {
		return from, to, invalid("from", "must be before to")
	}
	return from, to, nil
}

func (s *Server) listChecks(w http.ResponseWriter, r *http.Request) {
	id, err := monitorID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// By default every check: none can be in the future.
	from, to, err := parseWindow(r, time.Unix(0, 0).UTC(), s.now().UTC().Add(24*time.Hour))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, err := parseLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	before, hasCursor, err := decodeCursor(r, 'c')
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var beforeT time.Time
	if hasCursor {
		beforeT = time.UnixMicro(before).UTC()
	}
	// The monitor must exist, so an unknown id is a 404 and not an empty list.
	if err := s.store.MonitorExists(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	results, err := s.store.Checks(r.Context(), id, from, to, beforeT, limit+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var next *string
	if len(results) > limit {
		results = results[:limit]
		c := encodeCursor('c', results[limit-1].Time.UnixMicro())
		next = &c
	}
	out := make([]checkJSON, len(results))
	for i, res := range results {
		c := checkJSON{
			Time: res.Time.UTC(), OK: res.OK, LatencyMS: round(res.LatencyMS, 3),
			Phases: phasesJSON{DNS: optional(res.DNSMS), Connect: optional(res.ConnectMS),
				TLS: optional(res.TLSMS), TTFB: optional(res.TTFBMS)},
			ErrorKind: nonEmpty(res.ErrorKind), Error: nonEmpty(res.Error), Worker: res.Worker,
			Degraded: res.Degraded, Detail: nonEmpty(res.Detail), Maintenance: res.Maintenance,
		}
		if !res.CertExpiry.IsZero() {
			c.CertExpiry = utc(res.CertExpiry)
		}
		if res.StatusCode > 0 {
			code := res.StatusCode
			c.StatusCode = &code
		}
		out[i] = c
	}
	writeJSON(w, s.logger, http.StatusOK, map[string]any{"checks": out, "next_cursor": next})
}

// Limits of uptime queries.
const (
	maxBuckets = 2000
	// maxRawWindow bounds windows whose buckets are not whole hours: those
	// are computed from raw checks rather than from hourly rollups.
	maxRawWindow = 7 * 24 * time.Hour
)

// parseBucket reads a bucket size such as 1m, 15m, 1h, 6h or 1d: a whole
// number of minutes, hours or days, from 1m to 1d.
func parseBucket(raw string) (time.Duration, error) {
	bad := invalid("bucket", "must be a size from 1m to 1d such as 5m, 1h or 1d")
	if len(raw) < 2 || len(raw) > 6 {
		return 0, bad
	}
	n, err := strconv.Atoi(raw[:len(raw)-1])
	if err != nil || n < 1 || strings.HasPrefix(raw, "+") {
		return 0, bad
	}
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[raw[len(raw)-1]]
	d := time.Duration(n) * unit
	if unit == 0 || d < time.Minute || d > 24*time.Hour {
		return 0, bad
	}
	return d, nil
}

// formatBucket renders a bucket size in the largest unit that divides it.
func formatBucket(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/time.Minute)) + "m"
}

type latencyJSON struct {
	Avg *float64 `json:"avg"`
	P95 *float64 `json:"p95"`
	Min *float64 `json:"min"`
	Max *float64 `json:"max"`
}

type bucketJSON struct {
	Start         time.Time `json:"start"`
	Checks        int64     `json:"checks"`
	Failures      int64     `json:"failures"`
	Degraded      int64     `json:"degraded"`
	Maintenance   int64     `json:"maintenance_checks"`
	UptimePercent *float64  `json:"uptime_percent"`
	AvgLatencyMS  *float64  `json:"avg_latency_ms"`
	P95LatencyMS  *float64  `json:"p95_latency_ms"`
}

type uptimeJSON struct {
	From          time.Time    `json:"from"`
	To            time.Time    `json:"to"`
	Bucket        string       `json:"bucket"`
	Checks        int64        `json:"checks"`
	Failures      int64        `json:"failures"`
	Degraded      int64        `json:"degraded"`
	Maintenance   int64        `json:"maintenance_checks"`
	UptimePercent *float64     `json:"uptime_percent"`
	Latency       latencyJSON  `json:"latency_ms"`
	P95Exact      bool         `json:"p95_exact"`
	Source        string       `json:"source"`
	Buckets       []bucketJSON `json:"buckets"`
}

// uptimePercent is the uptime of st in percent, leaving out checks made
// during maintenance; nil when no check was made outside maintenance.
func uptimePercent(st store.Stats) *float64 {
	ratio, ok := st.UptimeRatio()
	if !ok {
		return nil
	}
	p := round(100*ratio, 4)
	return &p
}

func (s *Server) getUptime(w http.ResponseWriter, r *http.Request) {
	id, err := monitorID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// By default the last 24 hours.
	now := s.now().UTC().Truncate(time.Second)
	from, to, err := parseWindow(r, now.Add(-24*time.Hour), now)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	bucket := time.Hour
	if raw := r.URL.Query().Get("bucket"); raw != "" {
		if bucket, err = parseBucket(raw); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	q := store.UptimeQuery{MonitorID: id, From: from, To: to, Bucket: bucket}
	// Compared as a window, not a count: Sub saturates for windows of
	// centuries, where a count would overflow.
	if to.Sub(store.AlignDown(from, bucket)) > maxBuckets*bucket {
		s.writeError(w, r, invalid("bucket", "gives more than "+strconv.Itoa(maxBuckets)+" buckets for this window; choose a larger bucket or a shorter window"))
		return
	}
	if !q.UsesRollups() && to.Sub(from) > maxRawWindow {
		s.writeError(w, r, invalid("bucket", "must be whole hours (1h, 6h, 1d) for windows longer than 7 days"))
		return
	}
	if err := s.store.MonitorExists(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.store.Uptime(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	source := "raw"
	if u.FromRollups {
		source = "rollups"
	}
	out := uptimeJSON{
		From: from, To: to, Bucket: formatBucket(bucket),
		Checks: u.Total.Checks, Failures: u.Total.Failures, Degraded: u.Total.Degraded, Maintenance: u.Total.Maintenance,
		UptimePercent: uptimePercent(u.Total),
		Latency: latencyJSON{Avg: optional(u.Total.LatencyAvg), P95: optional(u.Total.LatencyP95),
			Min: optional(u.Total.LatencyMin), Max: optional(u.Total.LatencyMax)},
		P95Exact: u.Total.P95Exact, Source: source,
		Buckets: make([]bucketJSON, len(u.Buckets)),
	}
	for i, b := range u.Buckets {
		out.Buckets[i] = bucketJSON{Start: b.Start.UTC(), Checks: b.Checks, Failures: b.Failures, Degraded: b.Degraded,
			Maintenance: b.Maintenance, UptimePercent: uptimePercent(b.Stats), AvgLatencyMS: optional(b.LatencyAvg), P95LatencyMS: optional(b.LatencyP95)}
	}
	writeJSON(w, s.logger, http.StatusOK, out)
}
