package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/store"
)

// alerting is a monitor with confirmations 3 and recovery 2, linked to one
// channel; a default channel exists too, and a third that is neither.
type alerting struct {
	st       *store.Store
	m        monitor.Monitor
	linked   alert.Channel
	fallback alert.Channel
	start    time.Time
	failures int // consecutive, as Redis would count them
	success  int
	since    time.Time
	status   monitor.Status
	clock    time.Time
}

func newAlerting(t *testing.T) *alerting {
	t.Helper()
	st := setup(t)
	ctx := context.Background()
	mk := func(name string, def bool) alert.Channel {
		c, err := st.CreateChannel(ctx, alert.Channel{Name: name, Type: "webhook", Default: def,
			Secrets: map[string]string{"url": "http://127.0.0.1:9/" + name}})
		if err != nil {
			t.Fatalf("create channel: %v", err)
		}
		return c
	}
	a := &alerting{st: st, linked: mk("linked", false), fallback: mk("default", true)}
	mk("unrelated", false)
	m := monitor.Defaults()
	m.Name, m.URL = "api", "https://api.example.com/health"
	m.Confirmations, m.RecoveryConfirmations = 3, 2
	m.Channels = []int64{a.linked.ID}
	var err error
	if a.m, err = st.CreateMonitor(ctx, m); err != nil {
		t.Fatalf("create monitor: %v", err)
	}
	a.clock = time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	return a
}

// check writes one result and the state Redis would decide for it.
func (a *alerting) check(t *testing.T, ok bool) {
	t.Helper()
	a.clock = a.clock.Add(time.Second)
	now := monitor.StatusUp
	if !ok {
		now = monitor.StatusDown
		a.failures, a.success = a.failures+1, 0
	} else {
		a.failures, a.success = 0, a.success+1
	}
	if now != a.status {
		a.status, a.since = now, a.clock
	}
	r := store.Result{Time: a.clock, MonitorID: a.m.ID, OK: ok, LatencyMS: 5, Worker: "t"}
	if !ok {
		r.StatusCode, r.Error = 503, "status 503, expected 200-299"
		if a.failures == 1 {
			r.Error = "first failure"
		}
	}
	st := store.State{MonitorID: a.m.ID, Status: a.status, StatusSince: a.since, LastCheckAt: a.clock,
		LastOK: ok, LastError: r.Error, ConsecutiveFailures: a.failures, ConsecutiveSuccesses: a.success}
	if err := a.st.WriteBatch(context.Background(), []store.Result{r}, []store.State{st}); err != nil {
		t.Fatalf("write batch: %v", err)
	}
}

func (a *alerting) incidents(t *testing.T) []alert.Incident {
	t.Helper()
	list, err := a.st.ListIncidents(context.Background(), store.IncidentQuery{MonitorID: a.m.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func (a *alerting) deliveries(t *testing.T) []alert.Delivery {
	t.Helper()
	list, err := a.st.ListDeliveries(context.Background(), store.DeliveryQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestIncidentOpensAfterExactlyConfirmationsFailures(t *testing.T) {
	a := newAlerting(t)
	a.check(t, true)
	a.check(t, false)
	a.check(t, false)
	if n := len(a.incidents(t)); n != 0 {
		t.Fatalf("%d incidents after 2 failures with confirmations 3, want none", n)
	}
	a.check(t, false)
	list := a.incidents(t)
	if len(list) != 1 {
		t.Fatalf("%d incidents after 3 failures, want 1", len(list))
	}
	inc := list[0]
	if !inc.Open() || !inc.StartedAt.Equal(a.since) || inc.Error != "first failure" || inc.StatusCode != 503 || inc.FailedChecks != 3 {
		t.Fatalf("incident = %+v, want open since the first failure %v with its error, 3 failed checks", inc, a.since)
	}
	ds := a.deliveries(t)
	if len(ds) != 2 {
		t.Fatalf("%d deliveries queued, want 2 (the linked and the default channel): %+v", len(ds), ds)
	}
	for _, d := range ds {
		if d.Kind != "down" || d.State != alert.DeliveryPending || d.IncidentID != inc.ID ||
			d.Payload.MonitorName != "api" || d.Payload.Target != "https://api.example.com/health" ||
			d.Payload.Error != "first failure" || d.Payload.StatusCode != 503 || !d.Payload.Since.Equal(a.since) {
			t.Fatalf("delivery = %+v", d)
		}
		if d.ChannelID != a.linked.ID && d.ChannelID != a.fallback.ID {
			t.Fatalf("delivery to channel %d, which neither is linked nor default", d.ChannelID)
		}
	}

	// More failures: still one incident, counting them, and nothing queued.
	a.check(t, false)
	a.check(t, false)
	if list := a.incidents(t); len(list) != 1 || list[0].FailedChecks != 5 {
		t.Fatalf("incidents after 5 failures = %+v, want one with 5 failed checks", list)
	}
	if n := len(a.deliveries(t)); n != 2 {
		t.Fatalf("%d deliveries after more failures, want still 2", n)
	}

	// Recovery needs 2 successes.
	a.check(t, true)
	if !a.incidents(t)[0].Open() {
		t.Fatal("resolved after 1 success with recovery_confirmations 2")
	}
	a.check(t, true)
	inc = a.incidents(t)[0]
	if inc.Open() || inc.Resolution != alert.ResolvedRecovered || !inc.ResolvedAt.Equal(a.since) {
		t.Fatalf("incident after 2 successes = %+v, want recovered at the first of them, %v", inc, a.since)
	}
	ups := 0
	for _, d := range a.deliveries(t) {
		if d.Kind == "up" {
			ups++
			if want := inc.ResolvedAt.Sub(inc.StartedAt).Seconds(); d.Payload.DurationSeconds != want || want != 5 {
				t.Fatalf("up delivery says %v s down, want %v", d.Payload.DurationSeconds, want)
			}
		}
	}
	if ups != 2 {
		t.Fatalf("%d up deliveries, want 2", ups)
	}
	full, err := a.st.GetIncident(context.Background(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range full.Events {
		kinds = append(kinds, e.Kind)
	}
	if len(kinds) != 2 || kinds[0] != alert.EventOpened || kinds[1] != alert.EventResolved {
		t.Fatalf("timeline = %v, want opened, resolved", kinds)
	}
}

// Two workers finishing checks of the same monitor at once open one
// incident, whatever the interleaving.
func TestConcurrentBatchesOpenOneIncident(t *testing.T) {
	a := newAlerting(t)
	a.check(t, false)
	a.check(t, false)
	base := a.clock
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			at := base.Add(time.Duration(i+1) * time.Millisecond)
			r := store.Result{Time: at, MonitorID: a.m.ID, LatencyMS: 1, Worker: "w", Error: "down"}
			st := store.State{MonitorID: a.m.ID, Status: monitor.StatusDown, StatusSince: a.since, LastCheckAt: at,
				ConsecutiveFailures: 3 + i, LastError: "down"}
			errs <- a.st.WriteBatch(context.Background(), []store.Result{r}, []store.State{st})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(a.incidents(t)); n != 1 {
		t.Fatalf("%d incidents, want 1", n)
	}
	if n := len(a.deliveries(t)); n != 2 {
		t.Fatalf("%d deliveries, want 2", n)
	}
}

func TestMaintenanceWindowSuppressesIncidents(t *testing.T) {
	a := newAlerting(t)
	ctx := context.Background()
	w, err := a.st.CreateWindow(ctx, alert.Window{Name: "upgrade", MonitorIDs: []int64{a.m.ID}, TimeZone: "UTC",
		StartsAt: a.clock, EndsAt: a.clock.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		a.check(t, false)
	}
	if n := len(a.incidents(t)); n != 0 {
		t.Fatalf("%d incidents during maintenance, want none", n)
	}
	checks, err := a.st.Checks(ctx, a.m.ID, a.clock.Add(-time.Hour), a.clock.Add(time.Second), time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if !c.Maintenance {
			t.Fatalf("check at %v during the window is not flagged as maintenance", c.Time)
		}
	}
	// After the window, a failure that keeps the streak going opens it.
	if err := a.st.DeleteWindow(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	a.check(t, false)
	if n := len(a.incidents(t)); n != 1 {
		t.Fatalf("%d incidents after the window, monitor still down, want 1", n)
	}
}

func TestCertificateWarningOncePerThreshold(t *testing.T) {
	a := newAlerting(t)
	ctx := context.Background()
	expiry := time.Now().Add(10 * 24 * time.Hour).Truncate(time.Second)
	write := func(exp time.Time) {
		a.clock = a.clock.Add(time.Second)
		r := store.Result{Time: a.clock, MonitorID: a.m.ID, OK: true, LatencyMS: 1, Worker: "t", CertExpiry: exp}
		if err := a.st.WriteBatch(ctx, []store.Result{r}, nil); err != nil {
			t.Fatal(err)
		}
	}
	certs := func() []alert.Delivery {
		var out []alert.Delivery
		for _, d := range a.deliveries(t) {
			if d.Kind == "cert" {
				out = append(out, d)
			}
		}
		return out
	}
	write(time.Now().Add(60 * 24 * time.Hour)) // beyond every threshold
	if n := len(certs()); n != 0 {
		t.Fatalf("%d certificate warnings 60 days before expiry, want none", n)
	}
	write(expiry)
	write(expiry)
	write(expiry)
	if n := len(certs()); n != 2 {
		t.Fatalf("%d certificate warnings after crossing 14 days (three checks), want 2 (one per channel)", n)
	}
	write(time.Now().Add(5 * 24 * time.Hour).Truncate(time.Second))
	got := certs()
	if len(got) != 4 {
		t.Fatalf("%d certificate warnings after crossing 7 days, want 4", len(got))
	}
	if got[0].Payload.Error == "" || got[0].IncidentID != 0 {
		t.Fatalf("certificate warning = %+v, want a message and no incident", got[0])
	}
}

func TestRemindersUntilAcknowledged(t *testing.T) {
	a := newAlerting(t)
	ctx := context.Background()
	for range 3 {
		a.check(t, false)
	}
	inc := a.incidents(t)[0]
	pool := a.st.Pool()
	if _, err := pool.Exec(ctx, `UPDATE monitors SET reminder_minutes = 30`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE incidents SET next_reminder_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	n, err := a.st.QueueReminders(ctx, 100)
	if err != nil || n != 2 {
		t.Fatalf("QueueReminders = %d, %v; want 2 (one per channel)", n, err)
	}
	if n, _ := a.st.QueueReminders(ctx, 100); n != 0 {
		t.Fatalf("second QueueReminders = %d, want 0: the next one is 30 minutes away", n)
	}
	if _, err := pool.Exec(ctx, `UPDATE incidents SET next_reminder_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.st.AcknowledgeIncident(ctx, inc.ID, "alice", time.Now()); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.st.QueueReminders(ctx, 100); n != 0 {
		t.Fatalf("QueueReminders after acknowledging = %d, want 0", n)
	}
}

// A delivery claimed by a worker that died is claimed again once its lease
// has run out, and only then.
func TestDeliveryLeaseAndOutcome(t *testing.T) {
	a := newAlerting(t)
	ctx := context.Background()
	for range 3 {
		a.check(t, false)
	}
	got, err := a.st.ClaimDeliveries(ctx, "ghost", 10, time.Hour)
	if err != nil || len(got) != 2 {
		t.Fatalf("claim = %d, %v; want 2", len(got), err)
	}
	if again, _ := a.st.ClaimDeliveries(ctx, "other", 10, time.Hour); len(again) != 0 {
		t.Fatalf("claimed %d leased deliveries", len(again))
	}
	if _, err := a.st.Pool().Exec(ctx, `UPDATE deliveries SET locked_until = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	again, err := a.st.ClaimDeliveries(ctx, "other", 10, time.Hour)
	if err != nil || len(again) != 2 || again[0].Attempts != 2 {
		t.Fatalf("claim after the lease = %+v, %v; want both, second attempt", again, err)
	}
	if mine, err := a.st.FinishDelivery(ctx, again[0].ID, "ghost", store.Outcome{Delivered: true}); err != nil || mine {
		t.Fatalf("the dead worker's late outcome = %v, %v; want refused", mine, err)
	}
	if mine, err := a.st.FinishDelivery(ctx, again[0].ID, "other", store.Outcome{Delivered: true, Status: 200}); err != nil || !mine {
		t.Fatalf("finish = %v, %v", mine, err)
	}
	if mine, err := a.st.FinishDelivery(ctx, again[1].ID, "other", store.Outcome{Error: "provider answered 400: bad"}); err != nil || !mine {
		t.Fatalf("finish dead = %v, %v", mine, err)
	}
	full, err := a.st.GetIncident(ctx, again[0].IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range full.Events {
		kinds = append(kinds, e.Kind)
	}
	if len(kinds) != 3 || kinds[1] != alert.EventNotified || kinds[2] != alert.EventNotifyFailed {
		t.Fatalf("timeline = %v, want opened, notified, notify_failed", kinds)
	}
	c, err := a.st.CountDeliveries(ctx)
	if err != nil || c.Pending != 0 || c.Dead != 1 {
		t.Fatalf("counts = %+v, %v; want 0 pending, 1 dead", c, err)
	}
}

// Pausing resolves the open incident without a recovery message and
// forgets the state, so a failure right after resuming opens nothing.
func TestPausedResolvesAndForgets(t *testing.T) {
	a := newAlerting(t)
	ctx := context.Background()
	for range 3 {
		a.check(t, false)
	}
	if _, err := a.st.UpdateMonitor(ctx, a.m.ID, func(m *monitor.Monitor) error { m.Enabled = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := a.st.Paused(ctx, a.m.ID); err != nil {
		t.Fatal(err)
	}
	inc := a.incidents(t)[0]
	if inc.Open() || inc.Resolution != alert.ResolvedPaused {
		t.Fatalf("incident after pausing = %+v, want resolved as paused", inc)
	}
	for _, d := range a.deliveries(t) {
		if d.Kind == "up" {
			t.Fatalf("a recovery message was queued for a paused monitor: %+v", d)
		}
	}
	if st, err := a.st.States(ctx, []int64{a.m.ID}); err != nil || len(st) != 0 {
		t.Fatalf("states after pausing = %+v, %v; want none", st, err)
	}
}

// Deleting a monitor with an open incident and pending deliveries takes
// them with it, while a worker records a delivery's outcome at the same
// time; neither fails.
func TestDeleteMonitorWithOpenIncident(t *testing.T) {
	a := newAlerting(t)
	ctx := context.Background()
	for range 3 {
		a.check(t, false)
	}
	claimed, err := a.st.ClaimDeliveries(ctx, "w", 10, time.Minute)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim = %d, %v", len(claimed), err)
	}
	var wg sync.WaitGroup
	var finishErr error
	wg.Go(func() {
		_, finishErr = a.st.FinishDelivery(ctx, claimed[0].ID, "w", store.Outcome{Delivered: true})
	})
	if err := a.st.DeleteMonitor(ctx, a.m.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	wg.Wait()
	if finishErr != nil {
		t.Fatalf("finish during the delete: %v", finishErr)
	}
	if n := len(a.deliveries(t)); n != 0 {
		t.Fatalf("%d deliveries left after the monitor was deleted", n)
	}
	if _, err := a.st.GetIncident(ctx, claimed[0].IncidentID); err == nil {
		t.Fatal("the incident of a deleted monitor is still there")
	}
}

// A dead alert of an incident that has resolved since is not sent again:
// it would arrive after the recovery message.
func TestRetryingAStaleAlertIsRefused(t *testing.T) {
	a := newAlerting(t)
	ctx := context.Background()
	for range 3 {
		a.check(t, false)
	}
	claimed, _ := a.st.ClaimDeliveries(ctx, "w", 10, time.Minute)
	if _, err := a.st.FinishDelivery(ctx, claimed[0].ID, "w", store.Outcome{Error: "gone"}); err != nil {
		t.Fatal(err)
	}
	a.check(t, true)
	a.check(t, true)
	if _, err := a.st.RetryDelivery(ctx, claimed[0].ID); err != alert.ErrStaleAlert {
		t.Fatalf("retry of a dead alert after recovery = %v, want ErrStaleAlert", err)
	}
}

// Retention removes sent deliveries and old resolved incidents, never what
// is pending or open.
func TestRetentionOfAlerting(t *testing.T) {
	a := newAlerting(t)
	ctx := context.Background()
	for range 3 {
		a.check(t, false)
	}
	claimed, _ := a.st.ClaimDeliveries(ctx, "w", 10, time.Minute)
	if _, err := a.st.FinishDelivery(ctx, claimed[0].ID, "w", store.Outcome{Delivered: true}); err != nil {
		t.Fatal(err)
	}
	a.check(t, true)
	a.check(t, true) // resolved: two up deliveries queued, pending
	future := time.Now().Add(time.Hour)
	if _, err := a.st.ApplyRetention(ctx, future, time.Now().Add(-time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	ds := a.deliveries(t)
	if len(ds) != 3 {
		t.Fatalf("%d deliveries after retention, want 3 (one pending down, two pending up)", len(ds))
	}
	for _, d := range ds {
		if d.State != alert.DeliveryPending {
			t.Fatalf("retention kept a %s delivery", d.State)
		}
	}
	if n := len(a.incidents(t)); n != 1 {
		t.Fatalf("%d incidents, want the one resolved within the rollups' retention", n)
	}
	if _, err := a.st.ApplyRetention(ctx, future, future, 10); err != nil {
		t.Fatal(err)
	}
	if n := len(a.incidents(t)); n != 0 {
		t.Fatalf("%d incidents after their retention, want 0", n)
	}
}
