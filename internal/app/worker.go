package app

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pinguin-dev/pinguin/internal/check"
	"github.com/pinguin-dev/pinguin/internal/config"
	"github.com/pinguin-dev/pinguin/internal/server"
	"github.com/pinguin-dev/pinguin/internal/worker"
)

// Worker is the assembled worker binary.
type Worker struct {
	conns    *connections
	prober   *check.HTTP
	worker   *worker.Worker
	admin    *server.HTTP // nil without PINGUIN_ADMIN_ADDR
	Registry *prometheus.Registry
}

// UserAgent is what checks send unless a monitor sets its own.
const UserAgent = "Pinguin/1.0 (uptime monitor)"

// NewWorker connects and builds the worker.
func NewWorker(ctx context.Context, cfg config.Worker, logger *slog.Logger) (*Worker, error) {
	conns, err := connect(ctx, &cfg.Shared, 8, logger)
	if err != nil {
		return nil, err
	}
	reg := newRegistry()
	guard := check.NewGuard(cfg.BlockPrivateTargets)
	w := &Worker{conns: conns, prober: check.NewHTTP(UserAgent, guard), Registry: reg}
	probers := &worker.Probers{HTTP: w.prober, TCP: check.NewTCP(guard), DNS: check.NewDNS(guard),
		TLS: check.NewTLS(guard), ICMP: check.NewICMP(guard)}
	w.worker = worker.New(worker.Config{
		ID: cfg.WorkerID, Concurrency: cfg.Concurrency, BatchSize: cfg.BatchSize,
		FlushInterval: cfg.FlushInterval, BufferLimit: cfg.BufferLimit,
		ConfigSweepInterval: cfg.ConfigSweepInterval, ShutdownTimeout: cfg.ShutdownTimeout,
	}, conns.sched, conns.store, probers, reg, logger, nil)
	if cfg.AdminAddr != "" {
		w.admin = server.NewHTTP(cfg.AdminAddr, server.WithProfiles(server.Probes(reg, ready(conns))), logger)
	}
	return w, nil
}

// Start starts the admin listener and the job loop.
func (w *Worker) Start(ctx context.Context) error {
	if w.admin != nil {
		if err := w.admin.Start(ctx); err != nil {
			return err
		}
	}
	return w.worker.Start(ctx)
}

// Stop takes no more jobs, finishes checks in flight, writes every result,
// then stops the admin listener and closes connections.
func (w *Worker) Stop() {
	w.worker.Stop()
	w.prober.Close()
	if w.admin != nil {
		w.admin.Stop()
	}
	w.conns.close()
}
