package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/store"
)

func TestWindowCRUD(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	start := time.Date(2026, 5, 1, 22, 0, 0, 0, time.UTC)
	oneOff, err := st.CreateWindow(ctx, alert.Window{Name: "db upgrade", MonitorIDs: []int64{9, 3, 4, 3},
		StartsAt: start, EndsAt: start.Add(time.Hour), TimeZone: "UTC"})
	if err != nil {
		t.Fatalf("create one-off: %v", err)
	}
	if oneOff.ID == 0 || oneOff.CreatedAt.IsZero() || !slices.Equal(oneOff.MonitorIDs, []int64{3, 4, 9}) ||
		!oneOff.StartsAt.Equal(start) || !oneOff.EndsAt.Equal(start.Add(time.Hour)) || oneOff.Recurring() {
		t.Fatalf("created one-off = %+v, want an id, monitors 3, 4, 9 and its times", oneOff)
	}
	nightly, err := st.CreateWindow(ctx, alert.Window{Name: "nightly", AllMonitors: true, Cron: "0 2 * * *",
		TimeZone: "Europe/Berlin", Duration: 2 * time.Hour})
	if err != nil {
		t.Fatalf("create recurring: %v", err)
	}
	if nightly.Cron != "0 2 * * *" || nightly.TimeZone != "Europe/Berlin" || nightly.Duration != 2*time.Hour ||
		!nightly.StartsAt.IsZero() || !nightly.EndsAt.IsZero() || len(nightly.MonitorIDs) != 0 || !nightly.AllMonitors {
		t.Fatalf("created recurring = %+v", nightly)
	}
	// An empty time zone is stored as UTC.
	noZone, err := st.CreateWindow(ctx, alert.Window{Name: "z", AllMonitors: true, StartsAt: start, EndsAt: start.Add(time.Minute)})
	if err != nil || noZone.TimeZone != "UTC" {
		t.Fatalf("created without a time zone = %+v (%v), want UTC", noZone, err)
	}

	// What is read is compiled: a recurring window knows when it is active.
	got, err := st.GetWindow(ctx, nightly.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if berlin := time.Date(2026, 1, 15, 2, 30, 0, 0, time.FixedZone("CET", 3600)); !got.Active(berlin) || got.Active(berlin.Add(2*time.Hour)) {
		t.Fatalf("stored nightly window: active at 02:30 %v, at 04:30 %v; want true, false", got.Active(berlin), got.Active(berlin.Add(2*time.Hour)))
	}
	list, err := st.ListWindows(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list) != 3 || list[0].ID != oneOff.ID || list[1].ID != nightly.ID || list[2].ID != noZone.ID {
		t.Fatalf("list = %+v, want the three windows in id order", list)
	}
	if !list[1].Active(time.Date(2026, 7, 1, 0, 30, 0, 0, time.UTC)) {
		t.Fatal("listed nightly window is not compiled")
	}

	upd, err := st.UpdateWindow(ctx, oneOff.ID, func(w *alert.Window) error {
		w.Name = "db upgrade, take two"
		w.MonitorIDs = []int64{5, 5, 1}
		w.EndsAt = w.EndsAt.Add(time.Hour)
		return nil
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if upd.Name != "db upgrade, take two" || !slices.Equal(upd.MonitorIDs, []int64{1, 5}) ||
		!upd.EndsAt.Equal(start.Add(2*time.Hour)) || !upd.UpdatedAt.After(oneOff.UpdatedAt) || !upd.CreatedAt.Equal(oneOff.CreatedAt) {
		t.Fatalf("updated = %+v", upd)
	}
	// Turned into a recurring window: its one-off times go.
	upd, err = st.UpdateWindow(ctx, oneOff.ID, func(w *alert.Window) error {
		w.StartsAt, w.EndsAt, w.Cron, w.Duration = time.Time{}, time.Time{}, "@daily", time.Hour
		return nil
	})
	if err != nil || !upd.StartsAt.IsZero() || !upd.EndsAt.IsZero() || upd.Cron != "@daily" || !upd.Active(time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC)) {
		t.Fatalf("updated to recurring = %+v (%v)", upd, err)
	}
	abort := errors.New("abort")
	if _, err := st.UpdateWindow(ctx, oneOff.ID, func(w *alert.Window) error { w.Name = "lost"; return abort }); !errors.Is(err, abort) {
		t.Fatalf("aborted update = %v, want abort", err)
	}
	if got, _ := st.GetWindow(ctx, oneOff.ID); got.Name != "db upgrade, take two" {
		t.Fatalf("an aborted update changed the window: %+v", got)
	}

	if err := st.DeleteWindow(ctx, oneOff.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := st.GetWindow(ctx, oneOff.ID); !errors.Is(err, alert.ErrNotFound) {
		t.Fatalf("get after delete = %v, want ErrNotFound", err)
	}
	if err := st.DeleteWindow(ctx, oneOff.ID); !errors.Is(err, alert.ErrNotFound) {
		t.Fatalf("second delete = %v, want ErrNotFound", err)
	}
	if _, err := st.UpdateWindow(ctx, oneOff.ID, func(*alert.Window) error { return nil }); !errors.Is(err, alert.ErrNotFound) {
		t.Fatalf("update after delete = %v, want ErrNotFound", err)
	}
	if list, err := st.ListWindows(ctx); err != nil || len(list) != 2 {
		t.Fatalf("list after delete = %d windows (%v), want 2", len(list), err)
	}
}

// TestUpdateWindowLocksTheRow runs concurrent updates that each add a
// monitor: with the row lock none is lost.
func TestUpdateWindowLocksTheRow(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	start := time.Date(2026, 5, 1, 22, 0, 0, 0, time.UTC)
	w, err := st.CreateWindow(ctx, alert.Window{Name: "w", MonitorIDs: []int64{1000}, StartsAt: start, EndsAt: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := st.UpdateWindow(ctx, w.ID, func(w *alert.Window) error {
				w.MonitorIDs = append(w.MonitorIDs, int64(i+1))
				return nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("update: %v", err)
		}
	}
	got, err := st.GetWindow(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{1, 2, 3, 4, 5, 6, 7, 8, 1000}; !slices.Equal(got.MonitorIDs, want) {
		t.Fatalf("monitors = %v, want %v", got.MonitorIDs, want)
	}
}

func TestMissingMonitors(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	a, b := newMonitor(t, st), newMonitor(t, st)
	cases := []struct {
		name string
		ids  []int64
		want []int64
	}{
		{"none asked", nil, nil},
		{"all exist", []int64{b.ID, a.ID}, nil},
		{"some missing, repeated", []int64{b.ID + 100, a.ID, b.ID + 7, b.ID + 100}, []int64{b.ID + 7, b.ID + 100}},
	}
	for _, c := range cases {
		got, err := st.MissingMonitors(ctx, c.ids)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: MissingMonitors(%v) = %v, want %v", c.name, c.ids, got, c.want)
		}
	}
	if err := st.DeleteMonitor(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := st.MissingMonitors(ctx, []int64{a.ID, b.ID}); err != nil || !slices.Equal(got, []int64{a.ID}) {
		t.Fatalf("after deleting %d: missing %v (%v)", a.ID, got, err)
	}
}

// TestUptimeLeavesMaintenanceOut writes raw rows and hourly rollups with
// SQL, as the batch writer stores them: 3 hours of one check a minute from
// 10:30, in maintenance from 10:50 to 12:00, where every other check fails;
// outside, every 10th fails.
func TestUptimeLeavesMaintenanceOut(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	m := newMonitor(t, st)
	base := time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC)
	_, err := st.Pool().Exec(ctx, `
		INSERT INTO check_results (time, monitor_id, ok, latency_ms, worker, maintenance)
		SELECT @base::timestamptz + i * interval '1 minute', @id,
			CASE WHEN i >= 20 AND i < 90 THEN i % 2 <> 0 ELSE i % 10 <> 0 END,
			10, 'w', i >= 20 AND i < 90
		FROM generate_series(0, 179) AS i`, pgx.NamedArgs{"base": base, "id": m.ID})
	if err != nil {
		t.Fatalf("insert results: %v", err)
	}
	_, err = st.Pool().Exec(ctx, `
		INSERT INTO check_rollups_hourly (monitor_id, bucket, checks, failures, degraded, latency_sum_ms,
			latency_min_ms, latency_max_ms, latency_hist, maintenance, maintenance_failures)
		SELECT monitor_id, date_trunc('hour', time), count(*), count(*) FILTER (WHERE NOT ok),
			count(*) FILTER (WHERE ok AND degraded), coalesce(sum(latency_ms) FILTER (WHERE ok), 0),
			min(latency_ms) FILTER (WHERE ok), max(latency_ms) FILTER (WHERE ok), array_fill(0, ARRAY[29]),
			count(*) FILTER (WHERE maintenance), count(*) FILTER (WHERE maintenance AND NOT ok)
		FROM check_results WHERE monitor_id = $1
		GROUP BY 1, 2`, m.ID)
	if err != nil {
		t.Fatalf("insert rollups: %v", err)
	}

	type figures struct{ checks, failures, maintenance, maintenanceFailures int64 }
	of := func(s store.Stats) figures {
		return figures{s.Checks, s.Failures, s.Maintenance, s.MaintenanceFailures}
	}
	from, to := base, base.Add(3*time.Hour)
	for _, bucket := range []time.Duration{30 * time.Minute, time.Hour} {
		u, err := st.Uptime(ctx, store.UptimeQuery{MonitorID: m.ID, From: from, To: to, Bucket: bucket})
		if err != nil {
			t.Fatalf("bucket %s: %v", bucket, err)
		}
		if u.FromRollups != (bucket == time.Hour) {
			t.Fatalf("bucket %s: FromRollups = %v", bucket, u.FromRollups)
		}
		// Every check is counted; 70 were in maintenance, 35 of them failed.
		if got, want := of(u.Total), (figures{180, 46, 70, 35}); got != want {
			t.Errorf("bucket %s: total %+v, want %+v", bucket, got, want)
		}
		// Uptime is over the 110 checks outside maintenance, 11 of which failed.
		if r, ok := u.Total.UptimeRatio(); !ok || r != 0.9 {
			t.Errorf("bucket %s: uptime ratio %v (%v), want 0.9", bucket, r, ok)
		}
		if bucket != time.Hour {
			continue
		}
		// 10:30 (a partial hour, from raw rows), 11:00, 12:00 (from rollups), 13:00 (raw).
		want := []figures{{30, 7, 10, 5}, {60, 30, 60, 30}, {60, 6, 0, 0}, {30, 3, 0, 0}}
		for i, b := range u.Buckets {
			if got := of(b.Stats); i >= len(want) || got != want[i] {
				t.Errorf("hourly bucket %d (%s): %+v, want %+v", i, b.Start, got, want[min(i, len(want)-1)])
			}
		}
		if _, ok := u.Buckets[1].UptimeRatio(); ok {
			t.Error("a bucket wholly in maintenance has an uptime")
		}
		if r, ok := u.Buckets[0].UptimeRatio(); !ok || r != 0.9 {
			t.Errorf("first bucket: uptime ratio %v (%v), want 18/20", r, ok)
		}
	}

	checks, err := st.Checks(ctx, m.ID, from, to, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var flagged int
	for _, c := range checks {
		i := int(c.Time.Sub(base) / time.Minute)
		if want := i >= 20 && i < 90; c.Maintenance != want {
			t.Fatalf("check at %s: maintenance %v, want %v", c.Time, c.Maintenance, want)
		}
		if c.Maintenance {
			flagged++
		}
	}
	if len(checks) != 180 || flagged != 70 {
		t.Fatalf("%d checks, %d in maintenance; want 180 and 70", len(checks), flagged)
	}
}

// TestWriteBatchFlagsChecksInWindows stores windows and then results, and
// reads them back: the batch writer loads the windows (queryWindows) in its
// transaction and flags what falls inside.
func TestWriteBatchFlagsChecksInWindows(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	m, other := newMonitor(t, st), newMonitor(t, st)
	// Today: the batch writer leaves out one-off windows that ended more
	// than a day ago.
	base := time.Now().UTC().Truncate(24 * time.Hour).Add(10 * time.Hour)
	if _, err := st.CreateWindow(ctx, alert.Window{Name: "one-off", MonitorIDs: []int64{m.ID},
		StartsAt: base.Add(10 * time.Minute), EndsAt: base.Add(20 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// Daily at 10:50 UTC, for 5 minutes (time zones: internal/alert).
	if _, err := st.CreateWindow(ctx, alert.Window{Name: "daily", MonitorIDs: []int64{m.ID}, Cron: "50 10 * * *",
		TimeZone: "UTC", Duration: 5 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	var results []store.Result
	for i := range 60 {
		for _, id := range []int64{m.ID, other.ID} {
			results = append(results, store.Result{Time: base.Add(time.Duration(i) * time.Minute), MonitorID: id,
				OK: false, LatencyMS: 5, Worker: "w"})
		}
	}
	if err := st.WriteBatch(ctx, results, nil); err != nil {
		t.Fatalf("write batch: %v", err)
	}
	for _, c := range []struct{ id, maint int64 }{{m.ID, 15}, {other.ID, 0}} {
		u, err := st.Uptime(ctx, store.UptimeQuery{MonitorID: c.id, From: base, To: base.Add(time.Hour), Bucket: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if u.Total.Checks != 60 || u.Total.Maintenance != c.maint || u.Total.MaintenanceFailures != c.maint {
			t.Errorf("monitor %d: %+v, want 60 checks, %d in maintenance", c.id, u.Total, c.maint)
		}
	}
	checks, err := st.Checks(ctx, m.ID, base, base.Add(time.Hour), time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var flagged []string
	for _, c := range slices.Backward(checks) {
		if c.Maintenance {
			flagged = append(flagged, c.Time.Format("15:04"))
		}
	}
	if got := fmt.Sprint(flagged); got != "[10:10 10:11 10:12 10:13 10:14 10:15 10:16 10:17 10:18 10:19 10:50 10:51 10:52 10:53 10:54]" {
		t.Fatalf("flagged checks %s, want 10:10 to 10:19 and 10:50 to 10:54", got)
	}
}
