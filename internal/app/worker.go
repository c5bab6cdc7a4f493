package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pinguin-dev/pinguin/internal/check"
	"github.com/pinguin-dev/pinguin/internal/config"
	"github.com/pinguin-dev/pinguin/internal/notify"
	"github.com/pinguin-dev/pinguin/internal/server"
	"github.com/pinguin-dev/pinguin/internal/worker"
)

// Worker is the assembled worker binary.
type Worker struct {
	conns    *connections
	prober   *check.HTTP
	worker   *worker.Worker
	notifier *worker.Notifier
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
	if cfg.DeliveryConcurrency > 0 {
		w.notifier = worker.NewNotifier(worker.NotifierConfig{
			Worker: leaseHolder(cfg.WorkerID), Concurrency: cfg.DeliveryConcurrency, Timeout: cfg.DeliveryTimeout,
			MaxAttempts: cfg.DeliveryMaxAttempts, RetryBase: cfg.DeliveryRetryBase, Poll: cfg.DeliveryPollInterval,
			PublicURL: cfg.PublicURL,
		}, conns.store, NotifyClient(cfg.DeliveryTimeout, guard), reg, logger)
	}
	if cfg.AdminAddr != "" {
		w.admin = server.NewHTTP(cfg.AdminAddr, server.WithProfiles(server.Probes(reg, ready(conns))), logger)
	}
	return w, nil
}

// Start starts the admin listener, the job loop and the delivery loop.
func (w *Worker) Start(ctx context.Context) error {
	if w.admin != nil {
		if err := w.admin.Start(ctx); err != nil {
			return err
		}
	}
	if err := w.worker.Start(ctx); err != nil {
		return err
	}
	if w.notifier == nil {
		return nil
	}
	return w.notifier.Start(ctx)
}

// leaseHolder names this process in the leases of the notifications it
// sends: the worker's name (the host name by default, which replicas may
// share) and a random part, so that no two processes hold the same name.
func leaseHolder(workerID string) string {
	if workerID == "" {
		workerID, _ = os.Hostname() // an empty name is still made unique below
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return workerID + "/" + hex.EncodeToString(b)
}

// NotifyClient is the HTTP client notifications are sent with: each
// attempt bounded by timeout, each connection checked by guard (a no-op
// unless PINGUIN_BLOCK_PRIVATE_TARGETS is set).
func NotifyClient(timeout time.Duration, guard *check.Guard) *http.Client {
	return notify.NewHTTPClient(timeout, guard.Control)
}

// Stop takes no more jobs, finishes checks in flight, writes every result,
// finishes the notifications in flight, then stops the admin listener and
// closes connections.
func (w *Worker) Stop() {
	w.worker.Stop()
	if w.notifier != nil {
		w.notifier.Stop()
	}
	w.prober.Close()
	if w.admin != nil {
		w.admin.Stop()
	}
	w.conns.close()
}
