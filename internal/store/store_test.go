package store_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/store"
	"github.com/pinguin-dev/pinguin/internal/testenv"
)

func setup(t *testing.T) *store.Store {
	t.Helper()
	t.Parallel()
	st, _ := testenv.Store(t)
	return st
}

func newMonitor(t *testing.T, st *store.Store) monitor.Monitor {
	t.Helper()
	m := monitor.Defaults()
	m.Name, m.URL = "example", "https://example.com/"
	out, err := st.CreateMonitor(context.Background(), m)
	if err != nil {
		t.Fatalf("create monitor: %v", err)
	}
	return out
}

func TestMonitorCRUD(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	m := newMonitor(t, st)
	if m.ID == 0 || m.CreatedAt.IsZero() {
		t.Fatalf("created monitor lacks id or time: %+v", m)
	}
	got, err := st.GetMonitor(ctx, m.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.Name != "example" || got.State != nil {
		t.Fatalf("get = %+v, want name example and no state", got)
	}
	upd, err := st.UpdateMonitor(ctx, m.ID, func(m *monitor.Monitor) error {
		m.IntervalSeconds = 5
		m.Headers = map[string]string{"X-A": "b"}
		return nil
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if upd.IntervalSeconds != 5 || upd.Headers["X-A"] != "b" || !upd.UpdatedAt.After(m.UpdatedAt) {
		t.Fatalf("update = %+v", upd)
	}
	abort := errors.New("abort")
	if _, err := st.UpdateMonitor(ctx, m.ID, func(*monitor.Monitor) error { return abort }); !errors.Is(err, abort) {
		t.Fatalf("aborted update = %v, want abort", err)
	}
	if err := st.DeleteMonitor(ctx, m.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := st.GetMonitor(ctx, m.ID); !errors.Is(err, monitor.ErrNotFound) {
		t.Fatalf("get after delete = %v, want ErrNotFound", err)
	}
	if err := st.DeleteMonitor(ctx, m.ID); !errors.Is(err, monitor.ErrNotFound) {
		t.Fatalf("second delete = %v, want ErrNotFound", err)
	}
	if _, err := st.UpdateMonitor(ctx, m.ID, func(*monitor.Monitor) error { return nil }); !errors.Is(err, monitor.ErrNotFound) {
		t.Fatalf("update after delete = %v, want ErrNotFound", err)
	}
}

func TestListMonitorsPages(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	for range 5 {
		newMonitor(t, st)
	}
	var seen []int64
	after := int64(0)
	for {
		page, err := st.ListMonitors(ctx, after, 2)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, v := range page {
			seen = append(seen, v.ID)
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].ID
	}
	if len(seen) != 5 {
		t.Fatalf("listed %d monitors over pages, want 5: %v", len(seen), seen)
	}
}

func TestWriteBatchAndHistory(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	m := newMonitor(t, st)
	base := time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC)
	var results []store.Result
	// 3 hours of one check a minute; every 4th fails.
	for i := range 180 {
		results = append(results, store.Result{
			Time: base.Add(time.Duration(i) * time.Minute), MonitorID: m.ID,
			OK: i%4 != 0, StatusCode: 200, LatencyMS: float64(10 + i%10), Worker: "w1",
			ConnectMS: 1, TTFBMS: 2,
		})
	}
	for i := range results {
		if !results[i].OK {
			results[i].StatusCode, results[i].ErrorKind, results[i].Error = 500, "status", "status 500"
		}
	}
	last := results[len(results)-1]
	state := store.State{MonitorID: m.ID, Status: monitor.StatusUp, StatusSince: base, LastCheckAt: last.Time,
		LastOK: true, LastStatusCode: 200, LastLatencyMS: last.LatencyMS, ConsecutiveSuccesses: 3}
	// Two batches, to exercise the rollup merge.
	if err := st.WriteBatch(ctx, results[:100], nil); err != nil {
		t.Fatalf("write batch: %v", err)
	}
	if err := st.WriteBatch(ctx, results[100:], []store.State{state}); err != nil {
		t.Fatalf("write batch: %v", err)
	}
	// An older state must not overwrite the newer one.
	old := state
	old.LastCheckAt, old.Status = base, monitor.StatusDown
	if err := st.WriteBatch(ctx, nil, []store.State{old}); err != nil {
		t.Fatalf("write old state: %v", err)
	}
	v, err := st.GetMonitor(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.State == nil || v.State.Status != monitor.StatusUp || !v.State.LastCheckAt.Equal(last.Time) {
		t.Fatalf("state = %+v, want up at %s", v.State, last.Time)
	}

	checks, err := st.Checks(ctx, m.ID, base, base.Add(4*time.Hour), time.Time{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 5 || !checks[0].Time.Equal(last.Time) || checks[0].ConnectMS != 1 || checks[0].DNSMS != 0 {
		t.Fatalf("checks = %+v", checks)
	}
	older, err := st.Checks(ctx, m.ID, base, base.Add(4*time.Hour), checks[4].Time, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(older) != 175 {
		t.Fatalf("older page has %d checks, want 175", len(older))
	}

	from, to := base, base.Add(3*time.Hour)
	raw, err := st.Uptime(ctx, store.UptimeQuery{MonitorID: m.ID, From: from, To: to, Bucket: 30 * time.Minute})
	if err != nil {
		t.Fatalf("raw uptime: %v", err)
	}
	rolled, err := st.Uptime(ctx, store.UptimeQuery{MonitorID: m.ID, From: from, To: to, Bucket: time.Hour})
	if err != nil {
		t.Fatalf("rollup uptime: %v", err)
	}
	if raw.FromRollups || !rolled.FromRollups {
		t.Fatalf("FromRollups raw=%v rolled=%v", raw.FromRollups, rolled.FromRollups)
	}
	for name, u := range map[string]store.Uptime{"raw": raw, "rollups": rolled} {
		if u.Total.Checks != 180 || u.Total.Failures != 45 {
			t.Errorf("%s: total %d checks %d failures, want 180 and 45", name, u.Total.Checks, u.Total.Failures)
		}
		if u.Total.LatencyMin != 10 || u.Total.LatencyMax != 19 {
			t.Errorf("%s: latency min/max %v/%v, want 10/19", name, u.Total.LatencyMin, u.Total.LatencyMax)
		}
		if math.IsNaN(u.Total.LatencyP95) || u.Total.LatencyP95 < 15 || u.Total.LatencyP95 > 19 {
			t.Errorf("%s: p95 %v, want within [15, 19]", name, u.Total.LatencyP95)
		}
		var sum int64
		for _, b := range u.Buckets {
			sum += b.Checks
		}
		if sum != 180 {
			t.Errorf("%s: buckets hold %d checks, want 180", name, sum)
		}
	}
	// 10:30-13:30 in hourly buckets aligned to the hour: 10:30, 11:00, 12:00, 13:00.
	if len(rolled.Buckets) != 4 || !rolled.Buckets[0].Start.Equal(base) || rolled.Buckets[0].Checks != 30 || rolled.Buckets[1].Checks != 60 {
		t.Fatalf("hourly buckets = %+v", rolled.Buckets)
	}
	if len(raw.Buckets) != 6 || raw.Buckets[0].Checks != 30 {
		t.Fatalf("half-hour buckets = %+v", raw.Buckets)
	}
	// Empty window: buckets present with zero checks.
	empty, err := st.Uptime(ctx, store.UptimeQuery{MonitorID: m.ID, From: base.Add(-2 * time.Hour), To: base, Bucket: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if empty.Total.Checks != 0 || len(empty.Buckets) != 3 || !math.IsNaN(empty.Total.LatencyAvg) {
		t.Fatalf("empty window = %+v", empty)
	}

	// Retention: results of the day before go, today's stay. The cutoff is
	// a day boundary, so TimescaleDB drops exactly that day's chunk.
	var yesterday []store.Result
	for i := range 10 {
		yesterday = append(yesterday, store.Result{Time: base.Add(-24*time.Hour + time.Duration(i)*time.Minute), MonitorID: m.ID, OK: true, LatencyMS: 5, Worker: "w1"})
	}
	if err := st.WriteBatch(ctx, yesterday, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyRetention(ctx, base.Truncate(24*time.Hour), base.Add(-48*time.Hour), 100); err != nil {
		t.Fatalf("retention: %v", err)
	}
	kept, err := st.Checks(ctx, m.ID, base.Add(-48*time.Hour), base.Add(4*time.Hour), time.Time{}, 1000)
	if err != nil || len(kept) != 180 {
		t.Fatalf("after retention %d checks are left (%v), want today's 180", len(kept), err)
	}
	if err := st.DeleteMonitor(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	n, err := st.PurgeDeleted(ctx, time.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatalf("purge: %v", err)
	}
	if n != 180+4+1 { // 180 results and 4+1 hourly rollups
		t.Fatalf("purge removed %d rows, want 185", n)
	}
	gone, err := st.Checks(ctx, m.ID, base, base.Add(4*time.Hour), time.Time{}, 10)
	if err != nil || len(gone) != 0 {
		t.Fatalf("checks after purge = %d (%v)", len(gone), err)
	}
}

func TestAlignDownCountsFromTheEpoch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		t    time.Time
		d    time.Duration
		want time.Time
	}{
		{"hour", time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC), time.Hour, time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)},
		{"day from another zone", time.Date(2026, 1, 1, 1, 0, 0, 0, time.FixedZone("x", 3*3600)), 24 * time.Hour, time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"7 minutes", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 7 * time.Minute, time.UnixMilli(1767225600000 - 1767225600000%(7*60000)).UTC()},
	}
	for _, c := range cases {
		if got := store.AlignDown(c.t, c.d); !got.Equal(c.want) {
			t.Errorf("%s: AlignDown = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestTimescaleWhenUsable(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	var preload string
	if err := st.Pool().QueryRow(ctx, `SELECT current_setting('shared_preload_libraries')`).Scan(&preload); err != nil {
		t.Fatal(err)
	}
	hyper, err := st.Hypertable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Migration 0002 turns check_results into a hypertable exactly when
	// TimescaleDB is preloaded; on plain PostgreSQL it changes nothing.
	if want := strings.Contains(preload, "timescaledb"); hyper != want {
		t.Fatalf("hypertable = %v with shared_preload_libraries %q", hyper, preload)
	}
}

func TestDegradedChecksCountAsUpAndApart(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	m := newMonitor(t, st)
	base := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	expiry := base.Add(48 * time.Hour)
	var results []store.Result
	for i := range 10 { // 10 checks: 2 failed, 3 degraded, 5 fine
		results = append(results, store.Result{Time: base.Add(time.Duration(i) * time.Minute), MonitorID: m.ID,
			OK: i >= 2, Degraded: i >= 2 && i < 5, LatencyMS: 10, Worker: "w", CertExpiry: expiry})
	}
	if err := st.WriteBatch(ctx, results, nil); err != nil {
		t.Fatal(err)
	}
	for _, bucket := range []time.Duration{time.Minute, time.Hour} {
		u, err := st.Uptime(ctx, store.UptimeQuery{MonitorID: m.ID, From: base, To: base.Add(time.Hour), Bucket: bucket})
		if err != nil {
			t.Fatal(err)
		}
		if u.Total.Checks != 10 || u.Total.Failures != 2 || u.Total.Degraded != 3 {
			t.Fatalf("bucket %s: %+v, want 10 checks, 2 failures, 3 degraded", bucket, u.Total)
		}
	}
	checks, err := st.Checks(ctx, m.ID, base, base.Add(time.Hour), time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if c := checks[len(checks)-3]; !c.Degraded || !c.CertExpiry.Equal(expiry) {
		t.Fatalf("check %+v, want degraded with the certificate expiry", c)
	}
}
