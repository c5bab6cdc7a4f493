package api

import (
	"context"
	"net/http"
	"time"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/store"
)

// incidentJSON is an incident as the API shows it.
type incidentJSON struct {
	ID              string              `json:"id"`
	Monitor         incidentMonitorJSON `json:"monitor"`
	State           string              `json:"state"`
	StartedAt       time.Time           `json:"started_at"`
	ResolvedAt      *time.Time          `json:"resolved_at"`
	DurationSeconds float64             `json:"duration_seconds"`
	Resolution      *string             `json:"resolution"`
	Error           string              `json:"error"`
	StatusCode      *int                `json:"status_code"`
	FailedChecks    int                 `json:"failed_checks"`
	AcknowledgedAt  *time.Time          `json:"acknowledged_at"`
	AcknowledgedBy  *string             `json:"acknowledged_by"`
}

type incidentMonitorJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// incidentDetailJSON is one incident with its timeline and deliveries.
type incidentDetailJSON struct {
	incidentJSON
	Timeline   []timelineEventJSON `json:"timeline"`
	Deliveries []deliveryJSON      `json:"deliveries"`
}

type timelineEventJSON struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Channel *string   `json:"channel,omitempty"`
	Message string    `json:"message"`
}

// deliveryJSON is a delivery (a row of the outbox) as the API shows it.
type deliveryJSON struct {
	ID            string     `json:"id"`
	Incident      *string    `json:"incident"`
	Monitor       string     `json:"monitor"`
	Channel       string     `json:"channel"`
	Kind          string     `json:"kind"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	LastStatus    *int       `json:"last_status"`
	LastError     string     `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
}

// queryID reads the optional id parameter name of a filter (0 when
// absent); what names the kind of id for the error.
func queryID(r *http.Request, name, what string) (int64, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return 0, nil
	}
	id, err := monitor.ParseID(raw)
	if err != nil {
		return 0, invalid(name, "must be "+what+" id as the API shows it, such as 42")
	}
	return id, nil
}

func (s *Server) toIncidentJSON(inc alert.Incident) incidentJSON {
	out := incidentJSON{
		ID:        monitor.FormatID(inc.ID),
		Monitor:   incidentMonitorJSON{ID: monitor.FormatID(inc.MonitorID), Name: inc.MonitorName},
		State:     store.IncidentOpen,
		StartedAt: inc.StartedAt.UTC(),
		Error:     inc.Error, FailedChecks: inc.FailedChecks,
	}
	end := s.now()
	if !inc.Open() {
		out.State, out.ResolvedAt, out.Resolution = store.IncidentResolved, utc(inc.ResolvedAt), nonEmpty(inc.Resolution)
		end = inc.ResolvedAt
	}
	out.DurationSeconds = round(max(end.Sub(inc.StartedAt).Seconds(), 0), 3)
	if inc.StatusCode > 0 {
		out.StatusCode = ptr(inc.StatusCode)
	}
	if !inc.AcknowledgedAt.IsZero() {
		out.AcknowledgedAt, out.AcknowledgedBy = utc(inc.AcknowledgedAt), ptr(inc.AcknowledgedBy)
	}
	return out
}

func toDeliveryJSON(d alert.Delivery) deliveryJSON {
	out := deliveryJSON{
		ID: monitor.FormatID(d.ID), Monitor: monitor.FormatID(d.MonitorID), Channel: monitor.FormatID(d.ChannelID),
		Kind: d.Kind, State: d.State, Attempts: d.Attempts, NextAttemptAt: d.NextAttemptAt.UTC(),
		LastError: d.LastError, CreatedAt: d.CreatedAt.UTC(),
	}
	if d.IncidentID != 0 {
		out.Incident = ptr(monitor.FormatID(d.IncidentID))
	}
	if d.LastStatus > 0 {
		out.LastStatus = ptr(d.LastStatus)
	}
	if !d.DeliveredAt.IsZero() {
		out.DeliveredAt = utc(d.DeliveredAt)
	}
	return out
}

// incidentDetail shows inc with its timeline and all its deliveries.
func (s *Server) incidentDetail(ctx context.Context, inc alert.Incident) (incidentDetailJSON, error) {
	deliveries, err := s.store.ListDeliveries(ctx, store.DeliveryQuery{IncidentID: inc.ID})
	if err != nil {
		return incidentDetailJSON{}, err
	}
	out := incidentDetailJSON{
		incidentJSON: s.toIncidentJSON(inc),
		Timeline:     make([]timelineEventJSON, len(inc.Events)),
		Deliveries:   make([]deliveryJSON, len(deliveries)),
	}
	for i, e := range inc.Events {
		out.Timeline[i] = timelineEventJSON{At: e.At.UTC(), Kind: e.Kind, Message: e.Message}
		if e.ChannelID != 0 {
			out.Timeline[i].Channel = ptr(monitor.FormatID(e.ChannelID))
		}
	}
	for i, d := range deliveries {
		out.Deliveries[i] = toDeliveryJSON(d)
	}
	return out, nil
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	q, err := incidentQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.MonitorID, err = queryID(r, "monitor", "a monitor"); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeIncidents(w, r, q)
}

func (s *Server) listMonitorIncidents(w http.ResponseWriter, r *http.Request) {
	id, err := monitorID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := incidentQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The monitor must exist, so an unknown id is a 404 and not an empty list.
	if err := s.store.MonitorExists(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	q.MonitorID = id
	s.writeIncidents(w, r, q)
}

// incidentQuery reads the parameters that select incidents, but for the
// monitor: state, from, to, limit and cursor.
func incidentQuery(r *http.Request) (store.IncidentQuery, error) {
	var q store.IncidentQuery
	var err error
	switch q.State = r.URL.Query().Get("state"); q.State {
	case "", store.IncidentOpen, store.IncidentResolved:
	default:
		return q, invalid("state", "must be open or resolved")
	}
	if q.From, err = parseTime(r, "from", time.Time{}); err != nil {
		return q, err
	}
	if q.To, err = parseTime(r, "to", time.Time{}); err != nil {
		return q, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, invalid("from", "must be before to")
	}
	if q.Limit, err = parseLimit(r); err != nil {
		return q, err
	}
	if q.BeforeID, _, err = decodeCursor(r, 'i'); err != nil {
		return q, err
	}
	return q, nil
}

// writeIncidents answers with the page of incidents q selects.
func (s *Server) writeIncidents(w http.ResponseWriter, r *http.Request, q store.IncidentQuery) {
	limit := q.Limit
	q.Limit++ // one more tells whether there is a next page
	incidents, err := s.store.ListIncidents(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	incidents, next := nextPage(incidents, limit, 'i', func(i alert.Incident) int64 { return i.ID })
	out := make([]incidentJSON, len(incidents))
	for i, inc := range incidents {
		out[i] = s.toIncidentJSON(inc)
	}
	writeJSON(w, s.logger, http.StatusOK, map[string]any{"incidents": out, "next_cursor": next})
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	id, err := incidentRoute.pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	inc, err := s.store.GetIncident(r.Context(), id)
	if err != nil {
		s.writeError(w, r, incidentRoute.err(err))
		return
	}
	out, err := s.incidentDetail(r.Context(), inc)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, s.logger, http.StatusOK, out)
}

func (s *Server) acknowledgeIncident(w http.ResponseWriter, r *http.Request) {
	id, err := incidentRoute.pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// authenticate put the token there; the acknowledgement names it.
	tok, _ := tokenFrom(r.Context())
	inc, err := s.store.AcknowledgeIncident(r.Context(), id, tok.Name, s.now())
	err = incidentRoute.err(err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.incidentDetail(r.Context(), inc)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, s.logger, http.StatusOK, out)
}

// Delivery states a list may be filtered by.
var deliveryStates = map[string]bool{alert.DeliveryPending: true, alert.DeliveryDelivered: true, alert.DeliveryDead: true}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	q := store.DeliveryQuery{State: r.URL.Query().Get("state")}
	var err error
	if q.State != "" && !deliveryStates[q.State] {
		s.writeError(w, r, invalid("state", "must be pending, delivered or dead"))
		return
	}
	if q.IncidentID, err = queryID(r, "incident", "an incident"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.ChannelID, err = queryID(r, "channel", "a channel"); err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.Limit, err = parseLimit(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.BeforeID, _, err = decodeCursor(r, 'd'); err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := q.Limit
	q.Limit++ // one more tells whether there is a next page
	deliveries, err := s.store.ListDeliveries(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	deliveries, next := nextPage(deliveries, limit, 'd', func(d alert.Delivery) int64 { return d.ID })
	out := make([]deliveryJSON, len(deliveries))
	for i, d := range deliveries {
		out[i] = toDeliveryJSON(d)
	}
	writeJSON(w, s.logger, http.StatusOK, map[string]any{"deliveries": out, "next_cursor": next})
}

func (s *Server) retryDelivery(w http.ResponseWriter, r *http.Request) {
	id, err := deliveryRoute.pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.store.RetryDelivery(r.Context(), id)
	err = deliveryRoute.err(err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, s.logger, http.StatusOK, toDeliveryJSON(d))
}
