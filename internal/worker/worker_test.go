package worker

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pinguin-dev/pinguin/internal/check"
	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/schedule"
	"github.com/pinguin-dev/pinguin/internal/store"
	"github.com/pinguin-dev/pinguin/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// prober answers every check as told, counting them.
type prober struct{ calls chan check.HTTPRequest }

func (p *prober) Check(_ context.Context, req check.HTTPRequest) check.Result {
	p.calls <- req
	return check.Result{OK: true, StatusCode: 200, Latency: time.Millisecond}
}

func config() Config {
	return Config{ID: "test", Concurrency: 4, BatchSize: 10, FlushInterval: 20 * time.Millisecond,
		BufferLimit: 100, ConfigSweepInterval: time.Second, ShutdownTimeout: 5 * time.Second}
}

func TestJobsThatCannotRunAreCounted(t *testing.T) {
	t.Parallel()
	st, _ := testenv.Store(t)
	client, prefix := testenv.Redis(t)
	sched := schedule.New(client, prefix)
	ctx := context.Background()
	m := monitor.Defaults()
	m.Name, m.URL = "x", "http://127.0.0.1:1/"
	live, err := st.CreateMonitor(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	m.Enabled = false
	paused, err := st.CreateMonitor(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	job := func(id int64, due time.Time) string {
		return strconv.FormatInt(id, 10) + ":" + strconv.FormatInt(due.UnixMilli(), 10) + ":60000"
	}
	// Oldest first: the worker pops the right end of the list.
	err = client.LPush(ctx, sched.Keys().Queue,
		job(live.ID, now.Add(-2*time.Minute)), // more than one interval late
		job(424242, now),                      // deleted monitor
		job(paused.ID, now),                   // paused monitor
		"not a job",
		job(live.ID, now), // runs
	).Err()
	if err != nil {
		t.Fatal(err)
	}
	p := &prober{calls: make(chan check.HTTPRequest, 10)}
	reg := prometheus.NewRegistry()
	w := New(config(), sched, st, &Probers{HTTP: p}, reg, testenv.Logger(t), nil)
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-p.calls:
		if req.URL != m.URL {
			t.Fatalf("checked %s, want %s", req.URL, m.URL)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the runnable job was not checked")
	}
	testenv.Eventually(t, 30*time.Second, func() bool {
		return testutil.ToFloat64(w.metrics.staleJobs) == 1 &&
			testutil.ToFloat64(w.metrics.skippedJobs.WithLabelValues("unknown_monitor")) == 1 &&
			testutil.ToFloat64(w.metrics.skippedJobs.WithLabelValues("paused")) == 1 &&
			testutil.ToFloat64(w.metrics.badJobs) == 1
	}, "stale, unknown, paused and malformed jobs counted")
	w.Stop()
	if n := len(p.calls); n != 0 {
		t.Fatalf("%d more checks ran, want only the runnable job", n)
	}
	if got := testutil.ToFloat64(w.metrics.resultsWritten); got != 1 {
		t.Fatalf("results written = %v, want 1", got)
	}
	w.Stop() // twice is fine
}

func TestBufferOverflowAndShutdownLossAreCounted(t *testing.T) {
	t.Parallel()
	// A database that does not exist: every write fails.
	missing := strings.Replace(testenv.Database(t), "/pinguin_test_", "/pinguin_missing_", 1)
	st, err := store.Open(context.Background(), missing, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	client, prefix := testenv.Redis(t)
	cfg := config()
	cfg.BufferLimit, cfg.BatchSize, cfg.ShutdownTimeout = 5, 2, 300*time.Millisecond
	w := New(cfg, schedule.New(client, prefix), st, &Probers{HTTP: &prober{}}, prometheus.NewRegistry(), testenv.Logger(t), nil)
	if err := w.batcher.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		w.batcher.add(item{due: time.Now(), result: store.Result{Time: time.Now(), MonitorID: int64(i + 1), OK: true, Worker: "t"}})
	}
	if got := testutil.ToFloat64(w.metrics.resultsDropped); got < 7 {
		t.Fatalf("dropped %v results on overflow, want at least 7 of 12 with room for 5", got)
	}
	if n := w.batcher.pending(); n > cfg.BufferLimit {
		t.Fatalf("%d results held, more than the limit of %d", n, cfg.BufferLimit)
	}
	w.Stop()
	// Whatever was held is counted as lost at shutdown: nothing vanishes silently.
	if got := testutil.ToFloat64(w.metrics.resultsDropped); got != 12 {
		t.Fatalf("dropped %v results in all, want 12", got)
	}
	if got := testutil.ToFloat64(w.metrics.writeErrors); got < 1 {
		t.Fatalf("write errors = %v, want at least 1", got)
	}
}
