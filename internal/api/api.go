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
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/auth"
	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/schedule"
	"github.com/pinguin-dev/pinguin/internal/server"
	"github.com/pinguin-dev/pinguin/internal/store"
)

// Store is what the API needs of PostgreSQL.
type Store interface {
	CreateMonitor(ctx context.Context, m monitor.Monitor) (monitor.Monitor, error)
	GetMonitor(ctx context.Context, id int64) (store.MonitorView, error)
	MonitorExists(ctx context.Context, id int64) error
	ListMonitors(ctx context.Context, afterID int64, limit int) ([]store.MonitorView, error)
	UpdateMonitor(ctx context.Context, id int64, change func(*monitor.Monitor) error) (monitor.Monitor, error)
	DeleteMonitor(ctx context.Context, id int64) error
	Paused(ctx context.Context, monitorID int64) error
	MissingChannels(ctx context.Context, ids []int64) ([]int64, error)
	Checks(ctx context.Context, monitorID int64, from, to, before time.Time, limit int) ([]store.Result, error)
	Uptime(ctx context.Context, q store.UptimeQuery) (store.Uptime, error)
	Ping(ctx context.Context) error

	CreateToken(ctx context.Context, name string, scope auth.Scope, hash []byte, hint string, expires *time.Time) (auth.Token, error)
	TokenByHash(ctx context.Context, hash []byte) (auth.Token, error)
	TouchToken(ctx context.Context, id int64, now time.Time) error
	ListTokens(ctx context.Context) ([]auth.Token, error)
	DeleteToken(ctx context.Context, id int64) error

	MonitorByPingToken(ctx context.Context, token string) (monitor.Monitor, error)

	ListIncidents(ctx context.Context, q store.IncidentQuery) ([]alert.Incident, error)
	GetIncident(ctx context.Context, id int64) (alert.Incident, error)
	AcknowledgeIncident(ctx context.Context, id int64, by string, at time.Time) (alert.Incident, error)
	ListDeliveries(ctx context.Context, q store.DeliveryQuery) ([]alert.Delivery, error)
	RetryDelivery(ctx context.Context, id int64) (alert.Delivery, error)

	CreateChannel(ctx context.Context, c alert.Channel) (alert.Channel, error)
	GetChannel(ctx context.Context, id int64) (alert.Channel, error)
	ListChannels(ctx context.Context) ([]alert.Channel, error)
	UpdateChannel(ctx context.Context, id int64, change func(*alert.Channel) error) (alert.Channel, error)
	DeleteChannel(ctx context.Context, id int64) error

	CreateWindow(ctx context.Context, w alert.Window) (alert.Window, error)
	GetWindow(ctx context.Context, id int64) (alert.Window, error)
	ListWindows(ctx context.Context) ([]alert.Window, error)
	UpdateWindow(ctx context.Context, id int64, change func(*alert.Window) error) (alert.Window, error)
	DeleteWindow(ctx context.Context, id int64) error
	MissingMonitors(ctx context.Context, ids []int64) ([]int64, error)
}

// Schedule is what the API needs of Redis.
type Schedule interface {
	Upsert(ctx context.Context, now time.Time, entries []schedule.Entry) (int, error)
	Remove(ctx context.Context, ids ...int64) error
	PublishChange(ctx context.Context, id int64) error
	Ping(ctx context.Context) error
	SetDue(ctx context.Context, id int64, interval time.Duration, due time.Time) error
	RecordPing(ctx context.Context, id int64, now time.Time, kind string, next time.Time, interval time.Duration) (time.Duration, error)
}

// Options tune a Server.
type Options struct {
	// RatePerToken and RatePerIP are the requests a token, and a client
	// address, may make per minute; 0 means no limit.
	RatePerToken int
	RatePerIP    int
	// RateWindow is the window the limits count in; 0 means a minute.
	RateWindow time.Duration
	// MetricsNeedToken puts /metrics behind a read token.
	MetricsNeedToken bool
	// TrustProxy takes the client address from X-Forwarded-For / X-Real-IP
	// (set it only behind a proxy that sets them).
	TrustProxy bool
	// PublicURL is where users reach the api, for ping URLs; no trailing slash.
	PublicURL string
	// Now is the clock; nil for the wall clock.
	Now func() time.Time
	// NotifyClient sends test notifications to providers (its transport
	// is where the SSRF guard goes); nil for a client with a 15 s timeout.
	NotifyClient *http.Client
}

// Server serves the API.
type Server struct {
	store    Store
	sched    Schedule
	logger   *slog.Logger
	gatherer prometheus.Gatherer
	now      func() time.Time
	metrics  *requestMetrics
	opts     Options
	pings    pingCache
}

// New builds a Server that registers its metrics with reg and serves
// reg's metrics on /metrics.
func New(st Store, sched Schedule, reg *prometheus.Registry, logger *slog.Logger, opts Options) *Server {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if opts.PublicURL == "" {
		opts.PublicURL = "http://localhost:8080"
	}
	if opts.NotifyClient == nil {
		opts.NotifyClient = &http.Client{Timeout: testTimeout}
	}
	return &Server{store: st, sched: sched, logger: logger, gatherer: reg, now: now, metrics: newRequestMetrics(reg), opts: opts}
}

//go:embed openapi.json
var openAPI []byte

// Handler returns the router.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.metrics.middleware, s.recoverer, limitHeaders)
	if s.opts.TrustProxy {
		r.Use(middleware.RealIP)
	}
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
	if s.opts.MetricsNeedToken {
		r.With(s.rateLimit(s.opts.RatePerIP, httprate.KeyByIP), s.authenticate(auth.Read)).Method(http.MethodGet, "/metrics", probes)
	} else {
		r.Method(http.MethodGet, "/metrics", probes)
	}
	// Heartbeat pings: open (the token in the path is the secret), limited
	// per client address.
	r.Group(func(r chi.Router) {
		r.Use(s.rateLimit(s.opts.RatePerIP, httprate.KeyByIP))
		for suffix, kind := range map[string]string{"": schedule.PingOK, "/start": schedule.PingStart, "/fail": schedule.PingFail} {
			r.Get("/ping/{token}"+suffix, s.ping(kind))
			r.Post("/ping/{token}"+suffix, s.ping(kind))
		}
	})
	r.Route("/api/v1", func(r chi.Router) {
		// The description of the API is public: it holds no data.
		r.Get("/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(openAPI) // the client may be gone; nothing to do then
		})
		r.Group(func(r chi.Router) {
			// Per address before the token lookup, so guessing tokens is
			// slow; per token after it.
			r.Use(s.rateLimit(s.opts.RatePerIP, httprate.KeyByIP))
			scoped := func(scope auth.Scope) chi.Router {
				return r.With(s.authenticate(scope), s.rateLimit(s.opts.RatePerToken, rateKeyByToken))
			}
			read, write, admin := scoped(auth.Read), scoped(auth.Write), scoped(auth.Admin)
			write.Post("/monitors", s.createMonitor)
			read.Get("/monitors", s.listMonitors)
			read.Get("/monitors/{id}", s.getMonitor)
			write.Patch("/monitors/{id}", s.updateMonitor)
			write.Delete("/monitors/{id}", s.deleteMonitor)
			read.Get("/monitors/{id}/checks", s.listChecks)
			read.Get("/monitors/{id}/uptime", s.getUptime)
			admin.Post("/tokens", s.createToken)
			admin.Get("/tokens", s.listTokens)
			admin.Delete("/tokens/{id}", s.deleteToken)
			write.Post("/maintenance", s.createWindow)
			read.Get("/maintenance", s.listWindows)
			read.Get("/maintenance/{id}", s.getWindow)
			write.Patch("/maintenance/{id}", s.updateWindow)
			write.Delete("/maintenance/{id}", s.deleteWindow)
			read.Get("/incidents", s.listIncidents)
			read.Get("/incidents/{id}", s.getIncident)
			write.Post("/incidents/{id}/acknowledge", s.acknowledgeIncident)
			read.Get("/monitors/{id}/incidents", s.listMonitorIncidents)
			read.Get("/deliveries", s.listDeliveries)
			write.Post("/deliveries/{id}/retry", s.retryDelivery)
			write.Post("/channels", s.createChannel)
			read.Get("/channels", s.listChannels)
			read.Get("/channels/{id}", s.getChannel)
			write.Patch("/channels/{id}", s.updateChannel)
			write.Delete("/channels/{id}", s.deleteChannel)
			write.Post("/channels/{id}/test", s.testChannel)
		})
	})
	return r
}

// rateLimit allows perMinute requests per key a minute (none when 0), and
// answers 429 with Retry-After beyond that.
func (s *Server) rateLimit(perMinute int, key httprate.KeyFunc) func(http.Handler) http.Handler {
	if perMinute <= 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	window := s.opts.RateWindow
	if window <= 0 {
		window = time.Minute
	}
	return httprate.Limit(perMinute, window,
		httprate.WithKeyFuncs(key),
		httprate.WithLimitHandler(func(w http.ResponseWriter, _ *http.Request) {
			writeProblem(w, problem(http.StatusTooManyRequests, "Too many requests; retry after the time in Retry-After."))
		}))
}

// maxHeaders bounds how many header fields a request may carry.
const maxHeaders = 100

func limitHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := 0
		for _, v := range r.Header {
			n += len(v)
		}
		if n > maxHeaders {
			writeProblem(w, problem(http.StatusRequestHeaderFieldsTooLarge, "The request has more than "+strconv.Itoa(maxHeaders)+" header fields."))
			return
		}
		next.ServeHTTP(w, r)
	})
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
