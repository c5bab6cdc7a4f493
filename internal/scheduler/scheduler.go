// Package scheduler runs the scheduler binary's loops: dispatch (move due
// monitors onto the work list, DESIGN.md invariants 2–4), reconcile
// (rebuild the schedule from PostgreSQL, invariant 1) and housekeeping
// (purge deleted monitors' history, retention on plain PostgreSQL).
package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pinguin-dev/pinguin/internal/lifecycle"
	"github.com/pinguin-dev/pinguin/internal/schedule"
	"github.com/pinguin-dev/pinguin/internal/store"
)

// Config tunes the loops.
type Config struct {
	DispatchInterval     time.Duration
	DispatchBatch        int
	ReconcileInterval    time.Duration
	HousekeepingInterval time.Duration
	ResultsRetention     time.Duration
	RollupsRetention     time.Duration
}

// Store is what the scheduler needs of PostgreSQL.
type Store interface {
	EnabledMonitors(ctx context.Context, pageSize int, fn func([]store.ScheduleEntry) error) error
	LoadMonitorsEnabled(ctx context.Context, ids []int64) (map[int64]bool, error)
	PurgeDeleted(ctx context.Context, now time.Time, maxStatements int) (int64, error)
	ApplyRetention(ctx context.Context, resultsBefore, rollupsBefore time.Time, maxStatements int) (int64, error)
	ResealSecrets(ctx context.Context, limit int) (int, error)
}

// Scheduler owns the dispatch, reconcile and housekeeping loops.
type Scheduler struct {
	cfg     Config
	sched   *schedule.Schedule
	store   Store
	logger  *slog.Logger
	now     func() time.Time
	metrics metrics
	runner  lifecycle.Runner
	owner   string
}

type metrics struct {
	dispatched, skipped, removed prometheus.Counter
	dispatchErrors               prometheus.Counter
	reconciled                   prometheus.Counter
	reconcileErrors              prometheus.Counter
	queueLength, scheduleSize    prometheus.Gauge
	housekeepingRemoved          prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) metrics {
	c := func(name, help string) prometheus.Counter {
		m := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "pinguin", Subsystem: "scheduler", Name: name, Help: help})
		reg.MustRegister(m)
		return m
	}
	g := func(name, help string) prometheus.Gauge {
		m := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "pinguin", Subsystem: "scheduler", Name: name, Help: help})
		reg.MustRegister(m)
		return m
	}
	return metrics{
		dispatched:          c("jobs_enqueued_total", "Jobs pushed onto the work list."),
		skipped:             c("jobs_skipped_total", "Due monitors not enqueued because their previous job was still queued."),
		removed:             c("stale_entries_removed_total", "Schedule entries dropped because the monitor is gone."),
		dispatchErrors:      c("dispatch_errors_total", "Dispatch calls that failed."),
		reconciled:          c("reconcile_rescheduled_total", "Monitors (re)scheduled by the reconcile loop."),
		reconcileErrors:     c("reconcile_errors_total", "Reconcile runs that failed."),
		queueLength:         g("queue_length", "Jobs waiting on the work list."),
		scheduleSize:        g("schedule_size", "Monitors on the schedule."),
		housekeepingRemoved: c("housekeeping_rows_removed_total", "Rows removed by retention and purges."),
	}
}

// New builds a Scheduler. now may be nil for the wall clock.
func New(cfg Config, sched *schedule.Schedule, st Store, reg prometheus.Registerer, logger *slog.Logger, now func() time.Time) *Scheduler {
	if now == nil {
		now = time.Now
	}
	host, _ := os.Hostname() // only names the lock holder in Redis
	return &Scheduler{
		cfg: cfg, sched: sched, store: st, logger: logger, now: now,
		metrics: newMetrics(reg), owner: fmt.Sprintf("%s/%d", host, os.Getpid()),
	}
}

// Start runs the loops until Stop.
func (s *Scheduler) Start(ctx context.Context) error {
	return s.runner.Start(ctx, func(ctx context.Context) {
		done := make(chan struct{}, 3)
		for _, loop := range []func(context.Context){s.dispatchLoop, s.reconcileLoop, s.housekeepingLoop} {
			go func() {
				loop(ctx)
				done <- struct{}{}
			}()
		}
		for range 3 {
			<-done
		}
	})
}

// Stop stops the loops and waits for them.
func (s *Scheduler) Stop() { s.runner.Stop() }

func (s *Scheduler) dispatchLoop(ctx context.Context) {
	tick := time.NewTicker(s.cfg.DispatchInterval)
	defer tick.Stop()
	failing := false
	for {
		if err := s.DispatchDue(ctx); err != nil && ctx.Err() == nil {
			s.metrics.dispatchErrors.Inc()
			if !failing { // log the start of an outage, not every tick of it
				s.logger.ErrorContext(ctx, "dispatch", "err", err)
			}
			failing = true
		} else if failing {
			s.logger.InfoContext(ctx, "dispatch recovered")
			failing = false
		}
		s.observeSizes(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// DispatchDue dispatches every monitor due now, in calls of DispatchBatch.
func (s *Scheduler) DispatchDue(ctx context.Context) error {
	for {
		r, err := s.sched.Dispatch(ctx, s.now(), s.cfg.DispatchBatch)
		if err != nil {
			return err
		}
		s.metrics.dispatched.Add(float64(r.Enqueued))
		s.metrics.skipped.Add(float64(r.Skipped))
		s.metrics.removed.Add(float64(r.Removed))
		if r.Enqueued+r.Skipped+r.Removed < s.cfg.DispatchBatch {
			return nil
		}
	}
}

func (s *Scheduler) reconcileLoop(ctx context.Context) {
	every(ctx, s.cfg.ReconcileInterval, func() {
		if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
			s.metrics.reconcileErrors.Inc()
			s.logger.ErrorContext(ctx, "reconcile", "err", err)
		}
	})
}

// observeSizes exports the length of the work list and of the schedule,
// the figures to alert on when workers fall behind.
func (s *Scheduler) observeSizes(ctx context.Context) {
	if q, z, err := s.sched.Sizes(ctx); err == nil {
		s.metrics.queueLength.Set(float64(q))
		s.metrics.scheduleSize.Set(float64(z))
	}
}

// Reconcile makes the schedule match the enabled monitors in PostgreSQL:
// missing monitors are scheduled, changed intervals applied, and monitors
// that are gone or paused taken off.
func (s *Scheduler) Reconcile(ctx context.Context) error {
	enabled := make(map[int64]struct{})
	set := 0
	err := s.store.EnabledMonitors(ctx, 1000, func(page []store.ScheduleEntry) error {
		entries := make([]schedule.Entry, len(page))
		for i, e := range page {
			entries[i] = schedule.Entry{ID: e.ID, Interval: e.Interval, FirstDue: e.FirstDue}
			enabled[e.ID] = struct{}{}
		}
		n, err := s.sched.Upsert(ctx, s.now(), entries)
		set += n
		return err
	})
	if err != nil {
		return fmt.Errorf("schedule enabled monitors: %w", err)
	}
	var extra []int64
	err = s.sched.ScheduledIDs(ctx, func(ids []int64) error {
		for _, id := range ids {
			if _, ok := enabled[id]; !ok {
				extra = append(extra, id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(extra) > 0 {
		// A monitor created or enabled since the read above is scheduled by
		// the api already: look again before taking anything off.
		still, err := s.store.LoadMonitorsEnabled(ctx, extra)
		if err != nil {
			return err
		}
		remove := extra[:0]
		for _, id := range extra {
			if !still[id] {
				remove = append(remove, id)
			}
		}
		if err := s.sched.Remove(ctx, remove...); err != nil {
			return err
		}
		extra = remove
	}
	s.metrics.reconciled.Add(float64(set))
	if set > 0 || len(extra) > 0 {
		s.logger.InfoContext(ctx, "reconciled schedule", "scheduled", set, "removed", len(extra), "enabled", len(enabled))
	}
	return nil
}

func (s *Scheduler) housekeepingLoop(ctx context.Context) {
	every(ctx, s.cfg.HousekeepingInterval, func() {
		ok, err := s.sched.TryLock(ctx, "housekeeping", s.owner, s.cfg.HousekeepingInterval/2)
		if err != nil || !ok {
			return // another scheduler does it this time, or Redis is down
		}
		if err := s.Housekeeping(ctx); err != nil && ctx.Err() == nil {
			s.logger.ErrorContext(ctx, "housekeeping", "err", err)
		}
	})
}

// Housekeeping purges deleted monitors' history and applies retention.
func (s *Scheduler) Housekeeping(ctx context.Context) error {
	now := s.now()
	purged, err := s.store.PurgeDeleted(ctx, now, 1000)
	s.metrics.housekeepingRemoved.Add(float64(purged))
	if err != nil {
		return err
	}
	expired, err := s.store.ApplyRetention(ctx, now.Add(-s.cfg.ResultsRetention), now.Add(-s.cfg.RollupsRetention), 1000)
	s.metrics.housekeepingRemoved.Add(float64(expired))
	if err != nil {
		return err
	}
	resealed, err := s.store.ResealSecrets(ctx, 1000)
	if err != nil {
		return err
	}
	if purged+expired > 0 || resealed > 0 {
		s.logger.InfoContext(ctx, "housekeeping", "purged_rows", purged, "expired_rows", expired, "resealed_monitors", resealed)
	}
	return nil
}

// every calls fn now and then every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
