package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/schedule"
	"github.com/pinguin-dev/pinguin/internal/store"
)

// monitorJSON is a monitor as the API shows it.
type monitorJSON struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	URL             string            `json:"url"`
	Method          string            `json:"method"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IntervalSeconds int               `json:"interval_seconds"`
	TimeoutMS       int               `json:"timeout_ms"`
	ExpectedStatus  string            `json:"expected_status"`
	FollowRedirects bool              `json:"follow_redirects"`
	VerifyTLS       bool              `json:"verify_tls"`
	Enabled         bool              `json:"enabled"`
	Status          monitor.Status    `json:"status"`
	StatusSince     *time.Time        `json:"status_since"`
	LastCheckAt     *time.Time        `json:"last_check_at"`
	LastLatencyMS   *float64          `json:"last_latency_ms"`
	LastError       *string           `json:"last_error"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
}

func utc(t time.Time) *time.Time {
	t = t.UTC()
	return &t
}

func viewJSON(v store.MonitorView) monitorJSON {
	m := v.Monitor
	out := monitorJSON{
		ID: monitor.FormatID(m.ID), Name: m.Name, URL: m.URL, Method: m.Method, Headers: m.Headers,
		Body: m.Body, IntervalSeconds: m.IntervalSeconds, TimeoutMS: m.TimeoutMS,
		ExpectedStatus: m.ExpectedStatus, FollowRedirects: m.FollowRedirects, VerifyTLS: m.VerifyTLS,
		Enabled: m.Enabled, CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
	}
	out.Headers = monitor.MaskHeaders(m.Headers)
	if st := v.State; st != nil {
		out.LastCheckAt = utc(st.LastCheckAt)
		lat := round(st.LastLatencyMS, 3)
		out.LastLatencyMS = &lat
		if !st.LastOK || st.LastDegraded {
			e := st.LastError
			out.LastError = &e
		}
	}
	switch {
	case !m.Enabled:
		out.Status = monitor.StatusPaused
	case v.State == nil || v.State.Status == monitor.StatusPending:
		out.Status, out.StatusSince = monitor.StatusPending, utc(m.CreatedAt)
	default:
		out.Status, out.StatusSince = v.State.Status, utc(v.State.StatusSince)
	}
	return out
}

func (s *Server) createMonitor(w http.ResponseWriter, r *http.Request) {
	fields, err := readObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	patch, err := decodePatch(fields)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m := monitor.Defaults()
	if patch.TimeoutMS == nil && patch.IntervalSeconds != nil {
		m.TimeoutMS = monitor.DefaultTimeoutFor(*patch.IntervalSeconds)
	}
	patch.Apply(&m)
	m.Normalize()
	if err := m.Validate(); err != nil {
		s.writeError(w, r, err)
		return
	}
	created, err := s.store.CreateMonitor(r.Context(), m)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.syncSchedule(r.Context(), created, false)
	w.Header().Set("Location", "/api/v1/monitors/"+monitor.FormatID(created.ID))
	writeJSON(w, s.logger, http.StatusCreated, viewJSON(store.MonitorView{Monitor: created}))
}

// syncSchedule brings the schedule in line with a monitor just written to
// PostgreSQL. A failure is logged, not returned: the write is done, and the
// reconcile loop repairs the schedule within one reconcile period.
func (s *Server) syncSchedule(ctx context.Context, m monitor.Monitor, changed bool) {
	ctx = context.WithoutCancel(ctx)
	var err error
	if m.Enabled {
		_, err = s.sched.Upsert(ctx, s.now(), []schedule.Entry{{ID: m.ID, Interval: m.Interval()}})
	} else {
		err = s.sched.Remove(ctx, m.ID)
	}
	if err == nil && changed {
		err = s.sched.PublishChange(ctx, m.ID)
	}
	if err != nil {
		s.logger.WarnContext(ctx, "update schedule (reconcile will repair it)", "monitor", m.ID, "err", err)
	}
}

func monitorID(r *http.Request) (int64, error) {
	return monitor.ParseID(chi.URLParam(r, "id"))
}

func (s *Server) getMonitor(w http.ResponseWriter, r *http.Request) {
	id, err := monitorID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.store.GetMonitor(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, s.logger, http.StatusOK, viewJSON(v))
}

func (s *Server) updateMonitor(w http.ResponseWriter, r *http.Request) {
	id, err := monitorID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	fields, err := readObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	patch, err := decodePatch(fields)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	updated, err := s.store.UpdateMonitor(r.Context(), id, func(m *monitor.Monitor) error {
		patch.KeepMasked(m.Headers)
		patch.Apply(m)
		m.Normalize()
		return m.Validate()
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.syncSchedule(r.Context(), updated, true)
	v, err := s.store.GetMonitor(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, s.logger, http.StatusOK, viewJSON(v))
}

func (s *Server) deleteMonitor(w http.ResponseWriter, r *http.Request) {
	id, err := monitorID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.DeleteMonitor(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.syncSchedule(r.Context(), monitor.Monitor{ID: id, Enabled: false}, true)
	w.WriteHeader(http.StatusNoContent)
}

// Page sizes.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

func parseLimit(r *http.Request) (int, error) {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxLimit {
		return 0, invalid("limit", "must be a whole number from 1 to "+strconv.Itoa(maxLimit))
	}
	return n, nil
}

// Cursors are opaque to clients: a kind letter and a number, base64url.
func encodeCursor(kind byte, n int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(string(kind) + strconv.FormatInt(n, 10)))
}

func decodeCursor(r *http.Request, kind byte) (n int64, ok bool, err error) {
	raw := r.URL.Query().Get("cursor")
	if raw == "" {
		return 0, false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	bad := invalid("cursor", "is not a cursor this list returned")
	if err != nil || len(b) < 2 || b[0] != kind {
		return 0, false, bad
	}
	n, err = strconv.ParseInt(string(b[1:]), 10, 64)
	if err != nil || strings.HasPrefix(string(b[1:]), "+") {
		return 0, false, bad
	}
	return n, true, nil
}

func (s *Server) listMonitors(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	after, _, err := decodeCursor(r, 'm')
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views, err := s.store.ListMonitors(r.Context(), after, limit+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var next *string
	if len(views) > limit {
		views = views[:limit]
		c := encodeCursor('m', views[limit-1].ID)
		next = &c
	}
	out := make([]monitorJSON, len(views))
	for i, v := range views {
		out[i] = viewJSON(v)
	}
	writeJSON(w, s.logger, http.StatusOK, map[string]any{"monitors": out, "next_cursor": next})
}
