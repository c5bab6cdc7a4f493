package app

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pinguin-dev/pinguin/internal/config"
	"github.com/pinguin-dev/pinguin/internal/scheduler"
	"github.com/pinguin-dev/pinguin/internal/server"
)

// Scheduler is the assembled scheduler binary.
type Scheduler struct {
	conns     *connections
	scheduler *scheduler.Scheduler
	admin     *server.HTTP // nil without PINGUIN_ADMIN_ADDR
	Registry  *prometheus.Registry
}

// NewScheduler connects and builds the scheduler's loops.
func NewScheduler(ctx context.Context, cfg config.Scheduler, logger *slog.Logger) (*Scheduler, error) {
	conns, err := connect(ctx, &cfg.Shared, 4, logger)
	if err != nil {
		return nil, err
	}
	reg := newRegistry()
	s := &Scheduler{conns: conns, Registry: reg}
	s.scheduler = scheduler.New(scheduler.Config{
		DispatchInterval: cfg.DispatchInterval, DispatchBatch: cfg.DispatchBatch,
		ReconcileInterval: cfg.ReconcileInterval, HousekeepingInterval: cfg.HousekeepingInterval,
		ResultsRetention: cfg.ResultsRetention, RollupsRetention: cfg.RollupsRetention,
	}, conns.sched, conns.store, reg, logger, nil)
	if cfg.AdminAddr != "" {
		s.admin = server.NewHTTP(cfg.AdminAddr, server.WithProfiles(server.Probes(reg, ready(conns))), logger)
	}
	return s, nil
}

// Start starts the admin listener and the loops.
func (s *Scheduler) Start(ctx context.Context) error {
	if s.admin != nil {
		if err := s.admin.Start(ctx); err != nil {
			return err
		}
	}
	return s.scheduler.Start(ctx)
}

// Stop stops the loops, then the admin listener, then closes connections.
func (s *Scheduler) Stop() {
	s.scheduler.Stop()
	if s.admin != nil {
		s.admin.Stop()
	}
	s.conns.close()
}

// ready reports whether PostgreSQL and Redis answer.
func ready(c *connections) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := c.store.Ping(ctx); err != nil {
			return err
		}
		return c.sched.Ping(ctx)
	}
}
