// Package worker runs the worker binary: it pops jobs from the work list,
// runs checks with bounded concurrency against configuration cached in
// memory, decides each monitor's live state in Redis and writes results to
// PostgreSQL in batches (DESIGN.md invariants 3, 5 and 6).
package worker

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pinguin-dev/pinguin/internal/lifecycle"
	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/schedule"
	"github.com/pinguin-dev/pinguin/internal/store"
)

// Store is what the worker needs of PostgreSQL.
type Store interface {
	LoadMonitors(ctx context.Context, ids []int64) ([]monitor.Monitor, error)
	MonitorsChangedSince(ctx context.Context, t time.Time) ([]monitor.Monitor, []int64, time.Time, error)
	WriteBatch(ctx context.Context, results []store.Result, states []store.State) error
	States(ctx context.Context, ids []int64) ([]store.State, error)
}

// LiveStates is what the batcher needs of Redis.
type LiveStates interface {
	ApplyStates(ctx context.Context, obs []schedule.Observation) ([]schedule.LiveState, error)
	Seed(ctx context.Context, states []schedule.SeedState) (int, error)
}

// Config tunes a worker.
type Config struct {
	ID                  string
	Concurrency         int
	BatchSize           int
	FlushInterval       time.Duration
	BufferLimit         int
	ConfigSweepInterval time.Duration
	ShutdownTimeout     time.Duration
}

// Worker pops jobs and runs checks until stopped.
type Worker struct {
	cfg     Config
	sched   *schedule.Schedule
	cache   *cache
	batcher *batcher
	logger  *slog.Logger
	now     func() time.Time
	metrics *metrics
	runner  lifecycle.Runner
}

// New builds a worker. now may be nil for the wall clock.
func New(cfg Config, sched *schedule.Schedule, st Store, probers *Probers, reg prometheus.Registerer, logger *slog.Logger, now func() time.Time) *Worker {
	if now == nil {
		now = time.Now
	}
	if cfg.ID == "" {
		cfg.ID, _ = os.Hostname() // an empty name only makes results less telling
	}
	m := newMetrics(reg)
	return &Worker{
		cfg: cfg, sched: sched, logger: logger, now: now, metrics: m,
		cache: newCache(st, probers, logger),
		batcher: &batcher{
			store: st, sched: sched, logger: logger, metrics: m, now: now,
			size: cfg.BatchSize, delay: cfg.FlushInterval, limit: cfg.BufferLimit,
			shutdown: cfg.ShutdownTimeout, wake: make(chan struct{}, 1),
		},
	}
}

// Start runs the worker until Stop. On Stop it takes no more jobs, finishes
// the checks in flight, writes every result, and returns (invariant 6).
func (w *Worker) Start(ctx context.Context) error {
	if err := w.batcher.start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	return w.runner.Start(ctx, func(ctx context.Context) {
		var wg sync.WaitGroup
		wg.Go(func() { w.sched.SubscribeChanges(ctx, w.cache.invalidate, w.cache.clear) })
		wg.Go(func() { w.sweepLoop(ctx) })
		wg.Go(func() { w.pingLoop(ctx) })
		w.jobLoop(ctx)
		wg.Wait()
		w.batcher.stop()
	})
}

// Stop stops the worker and waits until its results are written.
func (w *Worker) Stop() {
	w.runner.Stop()
	w.batcher.stop() // when Start was never called
}

func (w *Worker) sweepLoop(ctx context.Context) {
	tick := time.NewTicker(w.cfg.ConfigSweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := w.cache.sweep(ctx); err != nil && ctx.Err() == nil {
				w.logger.WarnContext(ctx, "sweep monitor configuration", "err", err)
			}
		}
	}
}

// maxPop bounds how many jobs one pop takes, so that work spreads over
// workers instead of going to whichever asks first.
const maxPop = 64

func (w *Worker) jobLoop(ctx context.Context) {
	slots := make(chan struct{}, w.cfg.Concurrency)
	var checks sync.WaitGroup
	defer checks.Wait() // finish the checks in flight
	failing := false
	for ctx.Err() == nil {
		// Wait for a free slot, then take as many more as are free.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		free := 1
		for free < maxPop {
			select {
			case slots <- struct{}{}:
				free++
				continue
			default:
			}
			break
		}
		// A pop in progress is not cut short by shutdown: the jobs it
		// takes off the list must run, and it returns within a second.
		popCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		jobs, bad, err := w.sched.Pop(popCtx, free, time.Second)
		cancel()
		w.metrics.badJobs.Add(float64(bad))
		if err != nil {
			if !failing {
				w.logger.ErrorContext(ctx, "pop jobs", "err", err)
			}
			failing = true
		} else if failing {
			w.logger.InfoContext(ctx, "pop jobs recovered")
			failing = false
		}
		started := w.run(ctx, jobs, slots, &checks)
		for range free - started {
			<-slots
		}
		if err != nil && len(jobs) == 0 {
			select { // Redis is down: do not spin
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// run starts a check for each runnable job and returns how many it started;
// each started check frees its slot when done.
func (w *Worker) run(ctx context.Context, jobs []schedule.Job, slots chan struct{}, checks *sync.WaitGroup) int {
	if len(jobs) == 0 {
		return 0
	}
	now := w.now()
	ids := make([]int64, 0, len(jobs))
	for _, j := range jobs {
		ids = append(ids, j.MonitorID)
	}
	targets, err := w.cache.get(context.WithoutCancel(ctx), ids)
	missing := "unknown_monitor"
	if err != nil {
		// PostgreSQL is unreachable: cached monitors are still checked,
		// the others cannot be this time.
		w.logger.ErrorContext(ctx, "load monitor configuration", "err", err)
		missing = "configuration_unavailable"
	}
	started := 0
	for _, j := range jobs {
		t := targets[j.MonitorID]
		switch {
		case now.Sub(j.Due) > j.Interval && (t == nil || !t.heartbeat):
			// Picked up more than one interval late: running it would only
			// add to the backlog (invariant 3). Not so a heartbeat's job: it
			// is a missed deadline, which is news however late.
			w.metrics.staleJobs.Inc()
			continue
		case t == nil:
			w.metrics.skippedJobs.WithLabelValues(missing).Inc()
			continue
		case !t.enabled:
			w.metrics.skippedJobs.WithLabelValues("paused").Inc()
			continue
		}
		started++
		checks.Go(func() {
			defer func() { <-slots }()
			w.check(ctx, j, t)
		})
	}
	return started
}

func (w *Worker) check(ctx context.Context, j schedule.Job, t *target) {
	start := w.now()
	w.metrics.observeLag(start.Sub(j.Due).Seconds())
	w.metrics.inFlight.Inc()
	// A check in flight at shutdown finishes: its own timeout bounds it.
	res := t.run(context.WithoutCancel(ctx))
	w.metrics.inFlight.Dec()
	w.metrics.checks.WithLabelValues(outcome(res.OK)).Inc()
	if t.cron != nil {
		w.nextCronDeadline(context.WithoutCancel(ctx), j, t.cron)
	}
	w.metrics.checkDuration.Observe(res.Latency.Seconds())
	w.batcher.add(item{due: j.Due, result: store.Result{
		Time: start.UTC(), MonitorID: j.MonitorID, OK: res.OK, StatusCode: res.StatusCode,
		LatencyMS: ms(res.Latency), DNSMS: ms(res.Phases.DNS), ConnectMS: ms(res.Phases.Connect),
		TLSMS: ms(res.Phases.TLS), TTFBMS: ms(res.Phases.TTFB),
		ErrorKind: string(res.ErrorKind), Error: res.Error, Worker: w.cfg.ID,
		Degraded: res.OK && res.Degraded, CertExpiry: res.CertExpiry, Detail: res.Detail,
	}})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// pingLoop stores heartbeat pings, which the api queued in Redis, with the
// other results: one batch write for many pings.
func (w *Worker) pingLoop(ctx context.Context) {
	for ctx.Err() == nil {
		popCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		pings, err := w.sched.PopPings(popCtx, 500, time.Second)
		cancel()
		if err != nil {
			select { // the job loop logs Redis outages; here, just wait
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for _, p := range pings {
			res := store.Result{Time: p.Time.UTC(), MonitorID: p.MonitorID, OK: p.Kind == schedule.PingOK,
				LatencyMS: ms(p.Duration), Worker: w.cfg.ID}
			if !res.OK {
				res.ErrorKind, res.Error = "reported", "the job reported a failure (/fail)"
			}
			w.metrics.checks.WithLabelValues(outcome(res.OK)).Inc()
			w.batcher.add(item{due: p.Time, result: res})
		}
	}
}

func outcome(ok bool) string {
	if ok {
		return "up"
	}
	return "down"
}

// nextCronDeadline moves a cron heartbeat's deadline, which dispatch moved
// by a fixed interval, to the next time its schedule fires.
func (w *Worker) nextCronDeadline(ctx context.Context, j schedule.Job, m *monitor.Monitor) {
	grace := time.Duration(m.GraceSeconds) * time.Second
	next, err := m.NextDeadline(j.Due.Add(-grace))
	if err == nil {
		err = w.sched.SetDue(ctx, m.ID, m.Interval(), next)
	}
	if err != nil {
		w.logger.WarnContext(ctx, "set next heartbeat deadline", "monitor", m.ID, "err", err)
	}
}
