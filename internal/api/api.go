// Package api is Pinguin's REST API: a chi router under /api/v1 with JSON
// bodies and RFC 9457 problem documents for every error (DESIGN.md
// invariant 8). Monitors are written to PostgreSQL first; the schedule in
// Redis is updated right after, so a change takes effect within a second,
// and the scheduler's reconcile loop repairs it if that update is lost.
package api

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/schedule"
	"github.com/pinguin-dev/pinguin/internal/server"
	"github.com/pinguin-dev/pinguin/internal/store"
)

// Store is what the API needs of PostgreSQL.
type Store interface {
	CreateMonitor(ctx context.Context, m monitor.Monitor) (monitor.Monitor, error)
	GetMonitor(ctx context.Context, id int64) (store.MonitorView, error)
	ListMonitors(ctx context.Context, afterID int64, limit int) ([]store.MonitorView, error)
	UpdateMonitor(ctx context.Context, id int64, change func(*monitor.Monitor) error) (monitor.Monitor, error)
	DeleteMonitor(ctx context.Context, id int64) error
	Checks(ctx context.Context, monitorID int64, from, to, before time.Time, limit int) ([]store.Result, error)
	Uptime(ctx context.Context, q store.UptimeQuery) (store.Uptime, error)
	Ping(ctx context.Context) error
}

// Schedule is what the API needs of Redis.
type Schedule interface {
	Upsert(ctx context.Context, now time.Time, entries []schedule.Entry) (int, error)
	Remove(ctx context.Context, ids ...int64) error
	PublishChange(ctx context.Context, id int64) error
	Ping(ctx context.Context) error
}

// Server serves the API.
type Server struct {
	store    Store
	sched    Schedule
	logger   *slog.Logger
	gatherer prometheus.Gatherer
	now      func() time.Time
	metrics  *requestMetrics
}

// New builds a Server that registers its metrics with reg and serves
// reg's metrics on /metrics. now may be nil for the wall clock.
func New(st Store, sched Schedule, reg *prometheus.Registry, logger *slog.Logger, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	return &Server{store: st, sched: sched, logger: logger, gatherer: reg, now: now, metrics: newRequestMetrics(reg)}
}

//go:embed openapi.json
var openAPI []byte

// Handler returns the router.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.metrics.middleware, s.recoverer)
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, problem(http.StatusNotFound, "There is nothing at this path."))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Allow", strings.Join(allowed(r, req.URL.Path), ", "))
		writeProblem(w, problem(http.StatusMethodNotAllowed, "This path does not take this method."))
	})
	probes := server.Probes(s.gatherer, s.ready)
	r.Method(http.MethodGet, "/healthz", probes)
	r.Method(http.MethodGet, "/readyz", probes)
	r.Method(http.MethodGet, "/metrics", probes)
	r.Route("/api/v1", func(r chi.Router) {
		r.Get("/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(openAPI) // the client may be gone; nothing to do then
		})
		r.Post("/monitors", s.createMonitor)
		r.Get("/monitors", s.listMonitors)
		r.Get("/monitors/{id}", s.getMonitor)
		r.Patch("/monitors/{id}", s.updateMonitor)
		r.Delete("/monitors/{id}", s.deleteMonitor)
		r.Get("/monitors/{id}/checks", s.listChecks)
		r.Get("/monitors/{id}/uptime", s.getUptime)
	})
	return r
}

// allowed lists the methods routes answers for path, for the Allow header
// that RFC 9110 asks of a 405.
func allowed(routes chi.Routes, path string) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		if routes.Match(chi.NewRouteContext(), m, path) {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) ready(ctx context.Context) error {
	return errors.Join(s.store.Ping(ctx), s.sched.Ping(ctx))
}

// recoverer turns a panic into a logged 500 problem document instead of a
// dropped connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
