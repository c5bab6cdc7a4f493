package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/schedule"
)

// pingCacheTTL is how long the api trusts what it read of a heartbeat
// monitor: a burst of pings costs one database read per monitor per TTL.
// A change to the monitor reaches the ping path within it.
const pingCacheTTL = 10 * time.Second

// pingCacheMax bounds the cache; past it, it starts again empty.
const pingCacheMax = 100000

type pingEntry struct {
	monitor monitor.Monitor
	read    time.Time
}

// pingCache maps ping tokens to their monitors.
type pingCache struct {
	mu      sync.Mutex
	entries map[string]pingEntry
}

func (c *pingCache) get(token string, now time.Time) (monitor.Monitor, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[token]
	if !ok || now.Sub(e.read) > pingCacheTTL {
		return monitor.Monitor{}, false
	}
	return e.monitor, true
}

func (c *pingCache) put(token string, m monitor.Monitor, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= pingCacheMax {
		c.entries = make(map[string]pingEntry)
	}
	c.entries[token] = pingEntry{monitor: m, read: now}
}

var errNoPingURL = problem(http.StatusNotFound, "No heartbeat monitor has this ping URL.")

// ping answers a heartbeat ping of the given kind: /ping/{token} (ok),
// /ping/{token}/start and /ping/{token}/fail, by GET or POST.
func (s *Server) ping(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		now := s.now()
		m, err := s.pingMonitor(r.Context(), chi.URLParam(r, "token"), now)
		if errors.Is(err, monitor.ErrNotFound) {
			err = errNoPingURL
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !m.Enabled {
			fmt.Fprintln(w, "OK (the monitor is paused: ping ignored)")
			return
		}
		next, err := m.NextDeadline(now)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		_, err = s.sched.RecordPing(r.Context(), m.ID, now, kind, next, m.Interval())
		switch {
		case errors.Is(err, schedule.ErrPingsDropped):
			s.logger.WarnContext(r.Context(), "heartbeat pings are not being stored: are workers running?", "err", err)
		case err != nil:
			s.logger.ErrorContext(r.Context(), "record ping", "monitor", m.ID, "err", err)
			writeProblem(w, problem(http.StatusServiceUnavailable, "The ping could not be recorded; retry."))
			return
		}
		fmt.Fprintln(w, "OK")
	}
}

func (s *Server) pingMonitor(ctx context.Context, token string, now time.Time) (monitor.Monitor, error) {
	if m, ok := s.pings.get(token, now); ok {
		return m, nil
	}
	if len(token) < 16 || len(token) > 64 {
		return monitor.Monitor{}, monitor.ErrNotFound
	}
	m, err := s.store.MonitorByPingToken(ctx, token)
	if err != nil {
		return m, err
	}
	s.pings.put(token, m, now)
	return m, nil
}
