package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/schedule"
	"github.com/pinguin-dev/pinguin/internal/scheduler"
	"github.com/pinguin-dev/pinguin/internal/store"
	"github.com/pinguin-dev/pinguin/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

type env struct {
	store *store.Store
	sched *schedule.Schedule
	s     *scheduler.Scheduler
}

func setup(t *testing.T) env {
	t.Helper()
	t.Parallel()
	st, _ := testenv.Store(t)
	client, prefix := testenv.Redis(t)
	sched := schedule.New(client, prefix)
	s := scheduler.New(scheduler.Config{
		DispatchInterval: 50 * time.Millisecond, DispatchBatch: 2, ReconcileInterval: time.Hour,
		HousekeepingInterval: time.Hour, ResultsRetention: time.Hour, RollupsRetention: time.Hour,
	}, sched, st, prometheus.NewRegistry(), testenv.Logger(t), nil)
	return env{st, sched, s}
}

func (e env) create(t *testing.T, interval int, enabled bool) monitor.Monitor {
	t.Helper()
	m := monitor.Defaults()
	m.Name, m.URL, m.IntervalSeconds, m.TimeoutMS, m.Enabled = "m", "https://example.com", interval, 500, enabled
	out, err := e.store.CreateMonitor(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func scheduled(t *testing.T, sched *schedule.Schedule, id int64) bool {
	t.Helper()
	_, ok, err := sched.Due(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestReconcileMakesScheduleMatchMonitors(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	enabled := e.create(t, 10, true)
	paused := e.create(t, 10, false)
	deleted := e.create(t, 10, true)
	// Redis lost the enabled monitor, still holds the paused one, and holds
	// one that was deleted since.
	if _, err := e.sched.Upsert(ctx, time.Now(), []schedule.Entry{{ID: paused.ID, Interval: 10 * time.Second}, {ID: deleted.ID, Interval: 10 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeleteMonitor(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if !scheduled(t, e.sched, enabled.ID) || scheduled(t, e.sched, paused.ID) || scheduled(t, e.sched, deleted.ID) {
		t.Fatalf("after reconcile: enabled %v paused %v deleted %v; want only the enabled one scheduled",
			scheduled(t, e.sched, enabled.ID), scheduled(t, e.sched, paused.ID), scheduled(t, e.sched, deleted.ID))
	}
	// An interval changed behind Redis's back is applied.
	if _, err := e.store.UpdateMonitor(ctx, enabled.ID, func(m *monitor.Monitor) error { m.IntervalSeconds = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	due, _, _ := e.sched.Due(ctx, enabled.ID)
	if time.Until(due) > time.Second {
		t.Fatalf("due in %s after the interval became 1s", time.Until(due))
	}
}

func TestDispatchLoopDrainsEveryDueMonitor(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	var entries []schedule.Entry
	for i := range 7 {
		entries = append(entries, schedule.Entry{ID: int64(i + 1), Interval: time.Hour})
	}
	// Due now: Upsert at an hour ago puts every first due time in the past.
	if _, err := e.sched.Upsert(ctx, time.Now().Add(-time.Hour), entries); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.s.Stop()
	// DispatchBatch is 2: draining 7 due monitors takes several calls in one tick.
	testenv.Eventually(t, 30*time.Second, func() bool {
		q, _, err := e.sched.Sizes(ctx)
		return err == nil && q == 7
	}, "seven jobs queued")
	e.s.Stop()
	e.s.Stop()
}

func TestHousekeepingPurgesDeletedMonitors(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	m := e.create(t, 10, true)
	now := time.Now()
	if err := e.store.WriteBatch(ctx, []store.Result{{Time: now, MonitorID: m.ID, OK: true, LatencyMS: 1, Worker: "w"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeleteMonitor(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Housekeeping(ctx); err != nil {
		t.Fatal(err)
	}
	left, err := e.store.Checks(ctx, m.ID, now.Add(-time.Hour), now.Add(time.Hour), time.Time{}, 10)
	if err != nil || len(left) != 0 {
		t.Fatalf("%d results left after purge (%v)", len(left), err)
	}
}
