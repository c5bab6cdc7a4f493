// Package server runs Pinguin's HTTP listeners: the api's, and the admin
// listener of the scheduler and worker with /healthz, /readyz and /metrics.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Probes serves /healthz (the process is alive), /readyz (ready reports no
// error: its dependencies answer) and /metrics from gatherer.
func Probes(gatherer prometheus.Gatherer, ready func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return mux
}

// WithProfiles adds Go's profiles under /debug/pprof/ to an admin handler:
// for the scheduler's and workers' admin listeners, which are internal.
func WithProfiles(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// HTTP is an http.Server with Start/Stop.
type HTTP struct {
	srv    *http.Server
	ln     net.Listener
	logger *slog.Logger
	done   chan error
}

// NewHTTP prepares a server for handler on addr with timeouts that bound
// slow clients.
func NewHTTP(addr string, handler http.Handler, logger *slog.Logger) *HTTP {
	return &HTTP{
		srv: &http.Server{
			Addr:              addr,
			Handler:           handler,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		logger: logger,
	}
}

// Start listens and serves in the background. A port already in use is an
// error here, not later.
func (h *HTTP) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", h.srv.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", h.srv.Addr, err)
	}
	h.ln = ln
	h.srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	h.done = make(chan error, 1)
	h.logger.InfoContext(ctx, "listening", "addr", ln.Addr().String())
	go func() {
		err := h.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		h.done <- err
	}()
	return nil
}

// Addr is the address the server listens on, after Start.
func (h *HTTP) Addr() string {
	if h.ln == nil {
		return ""
	}
	return h.ln.Addr().String()
}

// Stop stops taking connections and waits up to 10 s for requests in flight.
func (h *HTTP) Stop() {
	if h.done == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		h.logger.Warn("http shutdown", "err", err)
	}
	if err := <-h.done; err != nil {
		h.logger.Error("http server", "err", err)
	}
	h.done = nil
}
