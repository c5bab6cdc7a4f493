package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/store"
)

// The alerting pipeline, which writes incidents, events and deliveries,
// is not this file's subject: its rows are inserted here with plain SQL.

var incidentsT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// incidentRow inserts an incident of monitorID that started at started
// and, unless resolved is zero, was resolved (recovered) then.
func incidentRow(t *testing.T, st *store.Store, monitorID int64, started, resolved time.Time) int64 {
	t.Helper()
	var resolvedAt *time.Time
	var resolution *string
	if !resolved.IsZero() {
		r := alert.ResolvedRecovered
		resolvedAt, resolution = &resolved, &r
	}
	var id int64
	err := st.Pool().QueryRow(context.Background(), `
		INSERT INTO incidents (monitor_id, started_at, resolved_at, resolution, error, status_code, failed_checks, next_reminder_at)
		VALUES ($1, $2, $3, $4, 'HTTP 503', 503, 3, $2::timestamptz + interval '10 minutes')
		RETURNING id`, monitorID, started, resolvedAt, resolution).Scan(&id)
	if err != nil {
		t.Fatalf("insert incident: %v", err)
	}
	return id
}

func eventRow(t *testing.T, st *store.Store, incidentID int64, at time.Time, kind string, channelID *int64, message string) {
	t.Helper()
	_, err := st.Pool().Exec(context.Background(), `
		INSERT INTO incident_events (incident_id, at, kind, channel_id, message) VALUES ($1, $2, $3, $4, $5)`,
		incidentID, at, kind, channelID, message)
	if err != nil {
		t.Fatalf("insert event: %v", err)
	}
}

func channelRow(t *testing.T, st *store.Store, name string) int64 {
	t.Helper()
	var id int64
	err := st.Pool().QueryRow(context.Background(), `
		INSERT INTO channels (name, type) VALUES ($1, 'webhook') RETURNING id`, name).Scan(&id)
	if err != nil {
		t.Fatalf("insert channel: %v", err)
	}
	return id
}

// deliveryRow inserts a delivery in state with attempts made, its last
// error "HTTP 500", leased until an hour after incidentsT0.
func deliveryRow(t *testing.T, st *store.Store, channelID, monitorID int64, incidentID *int64, state string, attempts int) int64 {
	t.Helper()
	var id int64
	err := st.Pool().QueryRow(context.Background(), `
		INSERT INTO deliveries (idempotency_key, channel_id, monitor_id, incident_id, kind, payload, state,
			attempts, next_attempt_at, locked_until, locked_by, last_status, last_error)
		VALUES (gen_random_uuid()::text, $1, $2, $3, 'down',
			'{"monitor_name":"example","target":"https://example.com/","error":"HTTP 503","status_code":503,"since":"2026-03-01T12:00:00Z","at":"2026-03-01T12:01:00Z","duration_seconds":60}',
			$4, $5, $6, $6::timestamptz + interval '1 hour', 'worker-1', 500, 'HTTP 500')
		RETURNING id`, channelID, monitorID, incidentID, state, attempts, incidentsT0).Scan(&id)
	if err != nil {
		t.Fatalf("insert delivery: %v", err)
	}
	return id
}

func listedIncidentIDs(incs []alert.Incident) []int64 {
	out := make([]int64, len(incs))
	for i, inc := range incs {
		out[i] = inc.ID
	}
	return out
}

func TestListIncidents(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	a, b := newMonitor(t, st), newMonitor(t, st)
	// a: resolved at incidentsT0, resolved at incidentsT0+1h, open since incidentsT0+2h; b: resolved at incidentsT0+30m.
	a1 := incidentRow(t, st, a.ID, incidentsT0, incidentsT0.Add(5*time.Minute))
	b1 := incidentRow(t, st, b.ID, incidentsT0.Add(30*time.Minute), incidentsT0.Add(40*time.Minute))
	a2 := incidentRow(t, st, a.ID, incidentsT0.Add(time.Hour), incidentsT0.Add(70*time.Minute))
	a3 := incidentRow(t, st, a.ID, incidentsT0.Add(2*time.Hour), time.Time{})

	cases := []struct {
		name string
		q    store.IncidentQuery
		want []int64
	}{
		{"all", store.IncidentQuery{}, []int64{a3, a2, b1, a1}},
		{"monitor", store.IncidentQuery{MonitorID: a.ID}, []int64{a3, a2, a1}},
		{"open", store.IncidentQuery{State: store.IncidentOpen}, []int64{a3}},
		{"resolved", store.IncidentQuery{State: store.IncidentResolved}, []int64{a2, b1, a1}},
		{"monitor and resolved", store.IncidentQuery{MonitorID: b.ID, State: store.IncidentResolved}, []int64{b1}},
		{"from inclusive", store.IncidentQuery{From: incidentsT0.Add(30 * time.Minute)}, []int64{a3, a2, b1}},
		{"to exclusive", store.IncidentQuery{To: incidentsT0.Add(time.Hour)}, []int64{b1, a1}},
		{"window", store.IncidentQuery{From: incidentsT0.Add(time.Minute), To: incidentsT0.Add(2 * time.Hour)}, []int64{a2, b1}},
		{"limit", store.IncidentQuery{Limit: 2}, []int64{a3, a2}},
		{"before", store.IncidentQuery{BeforeID: a2, Limit: 2}, []int64{b1, a1}},
		{"unknown monitor", store.IncidentQuery{MonitorID: b.ID + 100}, []int64{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := st.ListIncidents(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if ids := listedIncidentIDs(got); !slices.Equal(ids, c.want) {
				t.Fatalf("ids = %v, want %v", ids, c.want)
			}
		})
	}
	if _, err := st.ListIncidents(ctx, store.IncidentQuery{State: "closed"}); err == nil {
		t.Fatal("state closed: no error")
	}

	got, err := st.ListIncidents(ctx, store.IncidentQuery{MonitorID: a.ID, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	open, resolved := got[0], got[1]
	if open.MonitorName != "example" || open.MonitorID != a.ID || !open.StartedAt.Equal(incidentsT0.Add(2*time.Hour)) ||
		!open.Open() || open.Resolution != "" || open.Error != "HTTP 503" || open.StatusCode != 503 ||
		open.FailedChecks != 3 || !open.AcknowledgedAt.IsZero() || open.AcknowledgedBy != "" || open.Events != nil {
		t.Errorf("open incident = %+v", open)
	}
	if resolved.Open() || !resolved.ResolvedAt.Equal(incidentsT0.Add(70*time.Minute)) || resolved.Resolution != alert.ResolvedRecovered {
		t.Errorf("resolved incident = %+v", resolved)
	}
}

func TestGetIncident(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	m := newMonitor(t, st)
	ch := channelRow(t, st, "ops")
	id := incidentRow(t, st, m.ID, incidentsT0, time.Time{})
	// Inserted out of order: the timeline is ordered by time.
	eventRow(t, st, id, incidentsT0.Add(time.Minute), alert.EventNotified, &ch, "sent to ops")
	eventRow(t, st, id, incidentsT0, alert.EventOpened, nil, "HTTP 503")

	inc, err := st.GetIncident(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if inc.ID != id || inc.MonitorName != "example" || !inc.Open() {
		t.Fatalf("incident = %+v", inc)
	}
	want := []alert.Event{
		{At: incidentsT0, Kind: alert.EventOpened, Message: "HTTP 503"},
		{At: incidentsT0.Add(time.Minute), Kind: alert.EventNotified, ChannelID: ch, Message: "sent to ops"},
	}
	if len(inc.Events) != len(want) {
		t.Fatalf("events = %+v, want %+v", inc.Events, want)
	}
	for i, e := range inc.Events {
		if e.ID == 0 || !e.At.Equal(want[i].At) || e.Kind != want[i].Kind || e.ChannelID != want[i].ChannelID || e.Message != want[i].Message {
			t.Errorf("event %d = %+v, want %+v", i, e, want[i])
		}
	}

	if _, err := st.GetIncident(ctx, id+100); !errors.Is(err, alert.ErrNotFound) {
		t.Fatalf("unknown incident: %v, want ErrNotFound", err)
	}
}

func TestAcknowledgeIncident(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	m := newMonitor(t, st)
	id := incidentRow(t, st, m.ID, incidentsT0, time.Time{})
	eventRow(t, st, id, incidentsT0, alert.EventOpened, nil, "")

	at := incidentsT0.Add(3 * time.Minute)
	inc, err := st.AcknowledgeIncident(ctx, id, "alice", at)
	if err != nil {
		t.Fatal(err)
	}
	if !inc.AcknowledgedAt.Equal(at) || inc.AcknowledgedBy != "alice" || !inc.Open() {
		t.Fatalf("acknowledged incident = %+v", inc)
	}
	if len(inc.Events) != 2 || inc.Events[1].Kind != alert.EventAcknowledged ||
		inc.Events[1].Message != "acknowledged by alice" || !inc.Events[1].At.Equal(at) {
		t.Fatalf("timeline = %+v, want opened then acknowledged by alice", inc.Events)
	}
	var reminder *time.Time
	if err := st.Pool().QueryRow(ctx, `SELECT next_reminder_at FROM incidents WHERE id = $1`, id).Scan(&reminder); err != nil {
		t.Fatal(err)
	}
	if reminder != nil {
		t.Fatalf("next_reminder_at = %v after acknowledging, want NULL", reminder)
	}

	// Again, by someone else: nothing changes.
	again, err := st.AcknowledgeIncident(ctx, id, "bob", at.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if again.AcknowledgedBy != "alice" || !again.AcknowledgedAt.Equal(at) || len(again.Events) != 2 {
		t.Fatalf("second acknowledgement changed the incident: %+v", again)
	}
	// Still after it was resolved.
	if _, err := st.Pool().Exec(ctx, `UPDATE incidents SET resolved_at = $2, resolution = 'recovered' WHERE id = $1`, id, incidentsT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcknowledgeIncident(ctx, id, "bob", incidentsT0.Add(2*time.Hour)); err != nil {
		t.Fatalf("acknowledged, then resolved: %v", err)
	}

	resolved := incidentRow(t, st, m.ID, incidentsT0.Add(-time.Hour), incidentsT0.Add(-50*time.Minute))
	if _, err := st.AcknowledgeIncident(ctx, resolved, "alice", at); !errors.Is(err, alert.ErrIncidentResolved) {
		t.Fatalf("resolved incident: %v, want ErrIncidentResolved", err)
	}
	inc, err = st.GetIncident(ctx, resolved)
	if err != nil {
		t.Fatal(err)
	}
	if !inc.AcknowledgedAt.IsZero() || len(inc.Events) != 0 {
		t.Fatalf("refused acknowledgement changed the incident: %+v", inc)
	}
	if _, err := st.AcknowledgeIncident(ctx, resolved+100, "alice", at); !errors.Is(err, alert.ErrNotFound) {
		t.Fatalf("unknown incident: %v, want ErrNotFound", err)
	}
}

func listedDeliveryIDs(ds []alert.Delivery) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func TestListDeliveries(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	m := newMonitor(t, st)
	ops, dev := channelRow(t, st, "ops"), channelRow(t, st, "dev")
	inc := incidentRow(t, st, m.ID, incidentsT0, time.Time{})
	d1 := deliveryRow(t, st, ops, m.ID, &inc, alert.DeliveryDelivered, 1)
	d2 := deliveryRow(t, st, dev, m.ID, &inc, alert.DeliveryDead, 10)
	d3 := deliveryRow(t, st, ops, m.ID, nil, alert.DeliveryPending, 0)

	cases := []struct {
		name string
		q    store.DeliveryQuery
		want []int64
	}{
		{"all", store.DeliveryQuery{}, []int64{d3, d2, d1}},
		{"dead", store.DeliveryQuery{State: alert.DeliveryDead}, []int64{d2}},
		{"incident", store.DeliveryQuery{IncidentID: inc}, []int64{d2, d1}},
		{"channel", store.DeliveryQuery{ChannelID: ops}, []int64{d3, d1}},
		{"channel and incident", store.DeliveryQuery{ChannelID: ops, IncidentID: inc}, []int64{d1}},
		{"limit", store.DeliveryQuery{Limit: 1}, []int64{d3}},
		{"before", store.DeliveryQuery{BeforeID: d3, Limit: 1}, []int64{d2}},
		{"none", store.DeliveryQuery{State: alert.DeliveryPending, IncidentID: inc}, []int64{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := st.ListDeliveries(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if ids := listedDeliveryIDs(got); !slices.Equal(ids, c.want) {
				t.Fatalf("ids = %v, want %v", ids, c.want)
			}
		})
	}

	got, err := st.ListDeliveries(ctx, store.DeliveryQuery{State: alert.DeliveryDead})
	if err != nil {
		t.Fatal(err)
	}
	d := got[0]
	wantPayload := alert.Payload{MonitorName: "example", Target: "https://example.com/", Error: "HTTP 503", StatusCode: 503,
		Since: incidentsT0, At: incidentsT0.Add(time.Minute), DurationSeconds: 60}
	if d.IdempotencyKey == "" || d.ChannelID != dev || d.MonitorID != m.ID || d.IncidentID != inc || d.Kind != "down" ||
		d.Attempts != 10 || d.LastStatus != 500 || d.LastError != "HTTP 500" || d.CreatedAt.IsZero() || !d.DeliveredAt.IsZero() {
		t.Errorf("dead delivery = %+v", d)
	}
	if !d.Payload.Since.Equal(wantPayload.Since) || !d.Payload.At.Equal(wantPayload.At) {
		t.Errorf("payload times = %v, %v, want %v, %v", d.Payload.Since, d.Payload.At, wantPayload.Since, wantPayload.At)
	}
	d.Payload.Since, d.Payload.At = wantPayload.Since, wantPayload.At
	if d.Payload != wantPayload {
		t.Errorf("payload = %+v, want %+v", d.Payload, wantPayload)
	}
	cert, err := st.ListDeliveries(ctx, store.DeliveryQuery{State: alert.DeliveryPending})
	if err != nil {
		t.Fatal(err)
	}
	if cert[0].IncidentID != 0 {
		t.Errorf("delivery without incident has IncidentID %d", cert[0].IncidentID)
	}
}

func TestRetryDelivery(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	m := newMonitor(t, st)
	ch := channelRow(t, st, "ops")
	inc := incidentRow(t, st, m.ID, incidentsT0, time.Time{})
	dead := deliveryRow(t, st, ch, m.ID, &inc, alert.DeliveryDead, 10)
	pending := deliveryRow(t, st, ch, m.ID, &inc, alert.DeliveryPending, 2)
	delivered := deliveryRow(t, st, ch, m.ID, &inc, alert.DeliveryDelivered, 1)

	var before time.Time
	if err := st.Pool().QueryRow(ctx, `SELECT now()`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	d, err := st.RetryDelivery(ctx, dead)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != dead || d.State != alert.DeliveryPending || d.Attempts != 0 || d.LastError != "HTTP 500" ||
		d.LastStatus != 500 || d.NextAttemptAt.Before(before) {
		t.Fatalf("retried delivery = %+v, want pending, no attempts, due from %v, last error kept", d, before)
	}
	var leased bool
	if err := st.Pool().QueryRow(ctx, `SELECT locked_until IS NOT NULL OR locked_by IS NOT NULL FROM deliveries WHERE id = $1`, dead).Scan(&leased); err != nil {
		t.Fatal(err)
	}
	if leased {
		t.Fatal("retried delivery keeps its lease")
	}

	for name, id := range map[string]int64{"pending": pending, "delivered": delivered, "retried": dead} {
		if _, err := st.RetryDelivery(ctx, id); !errors.Is(err, alert.ErrDeliveryNotDead) {
			t.Errorf("%s: %v, want ErrDeliveryNotDead", name, err)
		}
	}
	if _, err := st.RetryDelivery(ctx, delivered+100); !errors.Is(err, alert.ErrNotFound) {
		t.Errorf("unknown delivery: %v, want ErrNotFound", err)
	}
}
