package api

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/pinguin-dev/pinguin/internal/check"

	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/schedule"
	"github.com/pinguin-dev/pinguin/internal/store"
)

// monitorJSON is a monitor as the API shows it. Fields of other types than
// the monitor's are left out; secrets are masked.
type monitorJSON struct {
	ID                    string             `json:"id"`
	Name                  string             `json:"name"`
	Type                  string             `json:"type"`
	URL                   *string            `json:"url,omitempty"`
	Method                *string            `json:"method,omitempty"`
	Headers               *map[string]string `json:"headers,omitempty"`
	Body                  *string            `json:"body,omitempty"`
	ExpectedStatus        *string            `json:"expected_status,omitempty"`
	FollowRedirects       *bool              `json:"follow_redirects,omitempty"`
	MaxRedirects          *int               `json:"max_redirects,omitempty"`
	Assertions            []assertionJSON    `json:"assertions,omitempty"`
	IPVersion             *string            `json:"ip_version,omitempty"`
	ProxyURL              *string            `json:"proxy_url,omitempty"`
	BasicAuth             *basicAuthJSON     `json:"basic_auth,omitempty"`
	BearerToken           *string            `json:"bearer_token,omitempty"`
	ClientCert            *string            `json:"client_cert,omitempty"`
	ClientKey             *string            `json:"client_key,omitempty"`
	Host                  *string            `json:"host,omitempty"`
	Port                  *int               `json:"port,omitempty"`
	TLS                   *bool              `json:"tls,omitempty"`
	Send                  *string            `json:"send,omitempty"`
	Expect                *string            `json:"expect,omitempty"`
	RecordType            *string            `json:"record_type,omitempty"`
	Resolver              *string            `json:"resolver,omitempty"`
	ExpectedValues        []string           `json:"expected_values,omitempty"`
	MatchAll              *bool              `json:"match_all,omitempty"`
	WarnDays              *int               `json:"warn_days,omitempty"`
	Packets               *int               `json:"packets,omitempty"`
	VerifyTLS             *bool              `json:"verify_tls,omitempty"`
	PingURL               *string            `json:"ping_url,omitempty"`
	Cron                  *string            `json:"cron,omitempty"`
	TimeZone              *string            `json:"time_zone,omitempty"`
	GraceSeconds          *int               `json:"grace_seconds,omitempty"`
	IntervalSeconds       int                `json:"interval_seconds"`
	TimeoutMS             int                `json:"timeout_ms"`
	Enabled               bool               `json:"enabled"`
	Confirmations         int                `json:"confirmations"`
	RecoveryConfirmations int                `json:"recovery_confirmations"`
	ReminderMinutes       int                `json:"reminder_minutes"`
	CertAlertDays         []int              `json:"cert_alert_days"`
	Channels              []string           `json:"channels"`
	Incident              *incidentRefJSON   `json:"incident"`
	Status                monitor.Status     `json:"status"`
	StatusSince           *time.Time         `json:"status_since"`
	LastCheckAt           *time.Time         `json:"last_check_at"`
	LastLatencyMS         *float64           `json:"last_latency_ms"`
	LastError             *string            `json:"last_error"`
	CreatedAt             time.Time          `json:"created_at"`
	UpdatedAt             time.Time          `json:"updated_at"`
}

// incidentRefJSON is a monitor's open incident, in the monitor's JSON.
type incidentRefJSON struct {
	ID             string     `json:"id"`
	StartedAt      time.Time  `json:"started_at"`
	FailedChecks   int        `json:"failed_checks"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
}

type assertionJSON struct {
	Type  string `json:"type"`
	Path  string `json:"path,omitempty"`
	Op    string `json:"op,omitempty"`
	Value string `json:"value,omitempty"`
}

type basicAuthJSON struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func ptr[T any](v T) *T { return &v }

// masked shows a secret as set or not, never its value.
func masked(secret string) *string {
	if secret == "" {
		return nil
	}
	return ptr(monitor.Masked)
}

// typeFieldsJSON fills the fields of m's type.
func (s *Server) typeFieldsJSON(out *monitorJSON, m *monitor.Monitor) {
	switch m.Type {
	case monitor.TypeHTTP:
		out.URL, out.Method, out.Body = ptr(m.URL), ptr(m.Method), ptr(m.Body)
		out.Headers = ptr(monitor.MaskHeaders(m.Headers))
		out.ExpectedStatus, out.FollowRedirects = ptr(m.ExpectedStatus), ptr(m.FollowRedirects)
		out.MaxRedirects, out.VerifyTLS = ptr(m.MaxRedirects), ptr(m.VerifyTLS)
		for _, a := range m.Assertions {
			out.Assertions = append(out.Assertions, assertionJSON(a))
		}
		if m.IPVersion != "" {
			out.IPVersion = ptr(m.IPVersion)
		}
		out.ProxyURL, out.BearerToken, out.ClientKey = masked(m.ProxyURL), masked(m.BearerToken), masked(m.ClientKey)
		if m.BasicAuthUser != "" || m.BasicAuthPassword != "" {
			out.BasicAuth = &basicAuthJSON{Username: m.BasicAuthUser, Password: *cmpOr(masked(m.BasicAuthPassword), ptr(""))}
		}
		if m.ClientCert != "" {
			out.ClientCert = ptr(m.ClientCert)
		}
	case monitor.TypeTCP:
		out.Host, out.Port, out.TLS, out.VerifyTLS = ptr(m.Host), ptr(m.Port), ptr(m.TLS), ptr(m.VerifyTLS)
		out.Send, out.Expect = ptr(m.Send), ptr(m.Expect)
	case monitor.TypeDNS:
		out.Host, out.RecordType, out.Resolver = ptr(m.Host), ptr(m.RecordType), ptr(m.Resolver)
		out.ExpectedValues, out.MatchAll = m.ExpectedValues, ptr(m.MatchAll)
	case monitor.TypeTLS:
		out.Host, out.Port, out.WarnDays = ptr(m.Host), ptr(m.Port), ptr(m.WarnDays)
	case monitor.TypeICMP:
		out.Host, out.Packets = ptr(m.Host), ptr(m.Packets)
		if m.IPVersion != "" {
			out.IPVersion = ptr(m.IPVersion)
		}
	case monitor.TypeHeartbeat:
		out.PingURL = ptr(s.opts.PublicURL + "/ping/" + m.PingToken)
		out.GraceSeconds, out.TimeZone = ptr(m.GraceSeconds), ptr(m.TimeZone)
		if m.Cron != "" {
			out.Cron = ptr(m.Cron)
		}
	}
}

func cmpOr[T comparable](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

func utc(t time.Time) *time.Time {
	t = t.UTC()
	return &t
}

func (s *Server) viewJSON(v store.MonitorView) monitorJSON {
	m := v.Monitor
	out := monitorJSON{
		ID: monitor.FormatID(m.ID), Name: m.Name, Type: m.Type, IntervalSeconds: m.IntervalSeconds,
		TimeoutMS: m.TimeoutMS, Enabled: m.Enabled, CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
		Confirmations: m.Confirmations, RecoveryConfirmations: m.RecoveryConfirmations,
		ReminderMinutes: m.ReminderMinutes, CertAlertDays: m.CertAlertDays, Channels: make([]string, len(m.Channels)),
	}
	if out.CertAlertDays == nil {
		out.CertAlertDays = []int{}
	}
	for i, id := range m.Channels {
		out.Channels[i] = monitor.FormatID(id)
	}
	if inc := v.Incident; inc != nil {
		out.Incident = &incidentRefJSON{ID: monitor.FormatID(inc.ID), StartedAt: inc.StartedAt.UTC(), FailedChecks: inc.FailedChecks}
		if !inc.AcknowledgedAt.IsZero() {
			out.Incident.AcknowledgedAt = utc(inc.AcknowledgedAt)
		}
	}
	s.typeFieldsJSON(&out, &m)
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
	m.ApplyTypeDefaults()
	if err := validate(&m, &patch); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.checkChannels(r.Context(), &patch); err != nil {
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
	writeJSON(w, s.logger, http.StatusCreated, s.viewJSON(store.MonitorView{Monitor: created}))
}

// syncSchedule brings the schedule in line with a monitor just written to
// PostgreSQL. A failure is logged, not returned: the write is done, and the
// reconcile loop repairs the schedule within one reconcile period.
func (s *Server) syncSchedule(ctx context.Context, m monitor.Monitor, changed bool) {
	ctx = context.WithoutCancel(ctx)
	var err error
	switch {
	case m.Enabled && m.Type == monitor.TypeHeartbeat:
		// The deadline counts from now: creating, changing or resuming
		// a heartbeat monitor gives the job a full period to ping.
		var due time.Time
		if due, err = m.NextDeadline(s.now()); err == nil {
			err = s.sched.SetDue(ctx, m.ID, m.Interval(), due)
		}
	case m.Enabled:
		_, err = s.sched.Upsert(ctx, s.now(), []schedule.Entry{{ID: m.ID, Interval: m.Interval()}})
	default:
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
	writeJSON(w, s.logger, http.StatusOK, s.viewJSON(v))
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
		if patch.Type != nil && strings.ToLower(strings.TrimSpace(*patch.Type)) != m.Type {
			return invalid("type", "cannot be changed; create a new monitor of the other type")
		}
		patch.KeepMasked(m)
		patch.Apply(m)
		m.Normalize()
		if err := validate(m, &patch); err != nil {
			return err
		}
		return s.checkChannels(r.Context(), &patch)
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.syncSchedule(r.Context(), updated, true)
	if !updated.Enabled {
		// A paused monitor's outage is over as far as anyone can tell:
		// its open incident is resolved, without a recovery message, and
		// it starts afresh when resumed. The pause itself is stored: a
		// failure here is repaired by the delivery loop's housekeeping.
		if err := s.store.Paused(r.Context(), id); err != nil {
			s.logger.WarnContext(r.Context(), "resolve incident of paused monitor (housekeeping will)", "monitor", id, "err", err)
		}
	}
	v, err := s.store.GetMonitor(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, s.logger, http.StatusOK, s.viewJSON(v))
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
	views, next := nextPage(views, limit, 'm', func(v store.MonitorView) int64 { return v.ID })
	out := make([]monitorJSON, len(views))
	for i, v := range views {
		out[i] = s.viewJSON(v)
	}
	writeJSON(w, s.logger, http.StatusOK, map[string]any{"monitors": out, "next_cursor": next})
}

// checkChannels refuses channel ids in the patch that are no channel,
// naming them. (A channel deleted between this check and the write is
// still refused, by the foreign key, without the names.)
func (s *Server) checkChannels(ctx context.Context, patch *monitor.Patch) error {
	if patch.Channels == nil || len(*patch.Channels) == 0 {
		return nil
	}
	missing, err := s.store.MissingChannels(ctx, *patch.Channels)
	if err != nil {
		return err
	}
	return unknownIDs("channels", "channel", missing)
}

// validate checks m after patch was applied: its fields, the patch's
// fields of other types, and its assertions compiled as the worker will, so
// that an invalid regular expression or JSON path is a 400 naming it.
func validate(m *monitor.Monitor, patch *monitor.Patch) error {
	err := m.Validate()
	var v *monitor.ValidationError
	if err != nil && !errors.As(err, &v) {
		return err
	}
	if v == nil {
		v = &monitor.ValidationError{}
	}
	for _, f := range patch.ForeignFields(m.Type) {
		v.Add(f, "is not used by %s monitors", m.Type)
	}
	for i, a := range m.Assertions {
		if _, err := check.Compile(check.Assertion(a)); err != nil {
			var fe *check.FieldError
			if errors.As(err, &fe) {
				v.Add("assertions["+strconv.Itoa(i)+"]."+fe.Field, "%s", fe.Message)
			} else {
				v.Add("assertions["+strconv.Itoa(i)+"]", "%s", err.Error())
			}
		}
	}
	return v.Err()
}
