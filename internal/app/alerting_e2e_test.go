package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pinguin-dev/pinguin/internal/config"
	"github.com/pinguin-dev/pinguin/internal/notify"
	"github.com/pinguin-dev/pinguin/internal/store"
	"github.com/pinguin-dev/pinguin/internal/testenv"
)

// receiver is a webhook endpoint that records what it receives and answers
// with the statuses it is told to, in turn (200 once they run out).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	messages []received
	statuses []int
}

type received struct {
	status  int // what the receiver answered
	header  http.Header
	body    []byte
	payload notify.WebhookPayload
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	rc := &receiver{statuses: statuses}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p notify.WebhookPayload
		_ = json.Unmarshal(body, &p) // a bad body fails the test's assertions on payload
		rc.mu.Lock()
		status := http.StatusOK
		if len(rc.statuses) > 0 {
			status, rc.statuses = rc.statuses[0], rc.statuses[1:]
		}
		rc.messages = append(rc.messages, received{status: status, header: r.Header.Clone(), body: body, payload: p})
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.messages...)
}

// delivered are the messages answered with 200, by event kind.
func (rc *receiver) delivered(kind string) []received {
	var out []received
	for _, m := range rc.all() {
		if m.status == http.StatusOK && m.payload.Event == kind {
			out = append(out, m)
		}
	}
	return out
}

// fastDelivery makes retries quick for tests.
func fastDelivery(c *config.Worker) {
	c.DeliveryConcurrency, c.DeliveryTimeout, c.DeliveryMaxAttempts = 4, 5*time.Second, 10
	c.DeliveryRetryBase, c.DeliveryPollInterval = 50*time.Millisecond, 100*time.Millisecond
	c.PublicURL = "https://pinguin.example.com"
}

func (s *stack) createChannel(url, secret string) string {
	s.t.Helper()
	status, c := s.call("POST", "/api/v1/channels",
		`{"name":"hook","type":"webhook","secrets":{"url":"`+url+`","signing_secret":"`+secret+`"}}`)
	if status != http.StatusCreated {
		s.t.Fatalf("create channel = %d %v", status, c)
	}
	return c["id"].(string)
}

func (s *stack) incidents(monitorID string) []map[string]any {
	s.t.Helper()
	status, body := s.call("GET", "/api/v1/monitors/"+monitorID+"/incidents", "")
	if status != http.StatusOK {
		s.t.Fatalf("list incidents = %d %v", status, body)
	}
	var out []map[string]any
	for _, i := range body["incidents"].([]any) {
		out = append(out, i.(map[string]any))
	}
	return out
}

// The whole path: a monitor fails its confirmations, one signed alert goes
// out with what is down, since when and why; it recovers, one recovery
// message says for how long; the timeline shows it all.
func TestOutageAlertsOnceAndRecoveryTellsTheDuration(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	s.startWorker(fastDelivery)
	rc := newReceiver(t)
	tg := newTarget(t)
	ch := s.createChannel(rc.URL, "s3cret")
	id := s.createMonitor(`{"name":"shop","url":"` + tg.URL + `","interval_seconds":1,"timeout_ms":500,
		"confirmations":3,"channels":["` + ch + `"]}`)
	waitStatus(s, id, "up")

	tg.fail.Store(true)
	testenv.Eventually(t, wait, func() bool { return len(rc.delivered("down")) == 1 }, "one down alert")
	if f := tg.failures.Load(); f < 3 {
		t.Fatalf("alerted after %d failed checks, confirmations is 3", f)
	}
	down := rc.delivered("down")[0]
	p := down.payload
	if p.Monitor.Name != "shop" || p.Monitor.Target != tg.URL || p.Error != "status 500, expected 200-299" ||
		p.StatusCode != 500 || p.Since == "" || p.Monitor.Link != "https://pinguin.example.com/api/v1/monitors/"+id {
		t.Fatalf("down payload = %+v", p)
	}
	ts, err := strconv.ParseInt(down.header.Get("X-Pinguin-Timestamp"), 10, 64)
	if err != nil || !notify.VerifySignature("s3cret", down.header.Get("X-Pinguin-Signature"), ts, down.body) {
		t.Fatalf("signature %q does not verify over the body with timestamp %q",
			down.header.Get("X-Pinguin-Signature"), down.header.Get("X-Pinguin-Timestamp"))
	}
	_, m := s.call("GET", "/api/v1/monitors/"+id, "")
	inc, _ := m["incident"].(map[string]any)
	if inc == nil || inc["id"] != p.IncidentID {
		t.Fatalf("monitor shows incident %v, the alert was about %q", m["incident"], p.IncidentID)
	}

	tg.fail.Store(false)
	testenv.Eventually(t, wait, func() bool { return len(rc.delivered("up")) == 1 }, "one recovery message")
	up := rc.delivered("up")[0].payload
	if up.IncidentID != p.IncidentID || up.DurationSeconds < 2 {
		t.Fatalf("up payload = %+v, want incident %s down for at least the 3 failed checks", up, p.IncidentID)
	}
	// Checks go on; nothing more is sent.
	hits := tg.hits.Load()
	testenv.Eventually(t, wait, func() bool { return tg.hits.Load() >= hits+3 }, "three more checks")
	if n := len(rc.all()); n != 2 {
		t.Fatalf("receiver got %d messages, want 2", n)
	}
	status, full := s.call("GET", "/api/v1/incidents/"+p.IncidentID, "")
	if status != http.StatusOK || full["state"] != "resolved" {
		t.Fatalf("incident = %d %v", status, full)
	}
	var kinds []string
	for _, e := range full["timeline"].([]any) {
		kinds = append(kinds, e.(map[string]any)["kind"].(string))
	}
	want := map[string]int{"opened": 1, "resolved": 1, "notified": 2}
	got := map[string]int{}
	for _, k := range kinds {
		got[k]++
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("timeline = %v, want opened, resolved and two notified", kinds)
	}
}

// Several workers checking a flapping target: each incident is announced
// once and resolved once, never twice.
func TestFlappingTargetWithSeveralWorkersNeverAlertsTwice(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	s.startWorker(fastDelivery)
	s.startWorker(fastDelivery)
	s.startWorker(fastDelivery)
	rc := newReceiver(t)
	var n atomic.Int64
	flap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%4 < 2 { // two failures, two successes, again and again
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(flap.Close)
	ch := s.createChannel(rc.URL, "k")
	id := s.createMonitor(`{"name":"flappy","url":"` + flap.URL + `","interval_seconds":1,"timeout_ms":500,
		"confirmations":2,"channels":["` + ch + `"]}`)
	testenv.Eventually(t, 2*wait, func() bool { return len(rc.delivered("up")) >= 3 }, "three outages announced and resolved")
	s.scheds[0].Stop()
	for _, w := range s.workers {
		w.Stop()
	}
	downs, ups := map[string]int{}, map[string]int{}
	for _, m := range rc.delivered("down") {
		downs[m.payload.IncidentID]++
	}
	for _, m := range rc.delivered("up") {
		ups[m.payload.IncidentID]++
	}
	for inc, c := range downs {
		if c != 1 || ups[inc] > 1 {
			t.Fatalf("incident %s: %d down and %d up messages, want one each at most", inc, c, ups[inc])
		}
	}
	if len(downs) != len(s.incidents(id)) {
		t.Fatalf("%d incidents announced, %d incidents recorded", len(downs), len(s.incidents(id)))
	}
}

// A provider that fails three times, then answers: one message delivered,
// after three retries with the same delivery id.
func TestProviderFailingThreeTimesGetsExactlyOneDelivery(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	w := s.startWorker(fastDelivery)
	rc := newReceiver(t, 500, 500, 500)
	tg := newTarget(t)
	tg.fail.Store(true)
	ch := s.createChannel(rc.URL, "k")
	id := s.createMonitor(`{"name":"api","url":"` + tg.URL + `","interval_seconds":1,"timeout_ms":500,"channels":["` + ch + `"]}`)
	testenv.Eventually(t, wait, func() bool { return len(rc.delivered("down")) == 1 }, "the alert delivered")
	all := rc.all()
	if len(all) != 4 {
		t.Fatalf("receiver got %d requests, want 4 (three 500s, then the one delivered)", len(all))
	}
	for _, m := range all {
		if m.header.Get("X-Pinguin-Delivery") != all[0].header.Get("X-Pinguin-Delivery") || m.header.Get("X-Pinguin-Delivery") == "" {
			t.Fatalf("delivery ids differ between attempts: %q, %q", m.header.Get("X-Pinguin-Delivery"), all[0].header.Get("X-Pinguin-Delivery"))
		}
	}
	status, list := s.call("GET", "/api/v1/deliveries?incident="+s.incidents(id)[0]["id"].(string), "")
	ds := list["deliveries"].([]any)
	if status != http.StatusOK || len(ds) != 1 {
		t.Fatalf("deliveries = %d %v", status, list)
	}
	d := ds[0].(map[string]any)
	if d["state"] != "delivered" || d["attempts"] != float64(4) {
		t.Fatalf("delivery = %v, want delivered after 4 attempts", d)
	}
	if got := metricValue(t, w, `pinguin_notifications_attempts_total{kind="down",result="retry"}`); got != 3 {
		t.Fatalf("retry attempts metric = %v, want 3", got)
	}
}

// A provider that never answers well: the delivery becomes a dead letter,
// listed by the API and counted; retried once the provider is mended, it
// is delivered.
func TestDeadLetterIsVisibleAndCanBeRetried(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	w := s.startWorker(func(c *config.Worker) { fastDelivery(c); c.DeliveryMaxAttempts = 3 })
	rc := newReceiver(t, 502, 502, 502)
	tg := newTarget(t)
	tg.fail.Store(true)
	ch := s.createChannel(rc.URL, "k")
	s.createMonitor(`{"name":"api","url":"` + tg.URL + `","interval_seconds":1,"timeout_ms":500,"channels":["` + ch + `"]}`)
	var dead []any
	testenv.Eventually(t, wait, func() bool {
		_, list := s.call("GET", "/api/v1/deliveries?state=dead", "")
		dead, _ = list["deliveries"].([]any)
		return len(dead) == 1
	}, "one dead letter")
	d := dead[0].(map[string]any)
	if d["attempts"] != float64(3) || d["last_status"] != float64(502) {
		t.Fatalf("dead letter = %v, want 3 attempts, last status 502", d)
	}
	if got := metricValue(t, w, `pinguin_notifications_attempts_total{kind="down",result="dead"}`); got != 1 {
		t.Fatalf("dead metric = %v, want 1", got)
	}
	if status, body := s.call("POST", "/api/v1/deliveries/"+d["id"].(string)+"/retry", ""); status != http.StatusOK {
		t.Fatalf("retry = %d %v", status, body)
	}
	testenv.Eventually(t, wait, func() bool { return len(rc.delivered("down")) == 1 }, "delivered after the retry")
}

// A worker that dies holding a delivery (claimed, never recorded) loses
// nothing: once its lease runs out, another worker sends it.
func TestDeliveryOfADeadWorkerIsSentByAnother(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	// This worker runs checks only, so the delivery waits for the test.
	s.startWorker(func(c *config.Worker) { c.DeliveryConcurrency = 0 })
	rc := newReceiver(t)
	tg := newTarget(t)
	tg.fail.Store(true)
	ch := s.createChannel(rc.URL, "k")
	s.createMonitor(`{"name":"api","url":"` + tg.URL + `","interval_seconds":1,"timeout_ms":500,"channels":["` + ch + `"]}`)

	st, err := store.Open(context.Background(), s.shared.DatabaseURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	var claimed int
	testenv.Eventually(t, wait, func() bool {
		got, err := st.ClaimDeliveries(context.Background(), "dead-worker", 10, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		claimed += len(got)
		return claimed > 0
	}, "the alert queued and claimed by the worker that will die")
	// The worker that claimed it is gone. Another one starts.
	s.startWorker(fastDelivery)
	testenv.Eventually(t, wait, func() bool { return len(rc.delivered("down")) == 1 }, "the alert delivered by the other worker")
	if n := len(rc.all()); n != 1 {
		t.Fatalf("receiver got %d messages, want 1", n)
	}
}

// During a maintenance window, checks run and are stored, flagged, and no
// incident opens; when the window is gone and the monitor is still down,
// the alert goes out.
func TestMaintenanceWindowSuppressesAlerts(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	s.startWorker(fastDelivery)
	rc := newReceiver(t)
	tg := newTarget(t)
	ch := s.createChannel(rc.URL, "k")
	id := s.createMonitor(`{"name":"db","url":"` + tg.URL + `","interval_seconds":1,"timeout_ms":500,"channels":["` + ch + `"]}`)
	waitStatus(s, id, "up")
	now := time.Now().UTC()
	status, win := s.call("POST", "/api/v1/maintenance", `{"name":"upgrade","monitors":["`+id+`"],
		"starts_at":"`+now.Add(-time.Minute).Format(time.RFC3339)+`","ends_at":"`+now.Add(time.Hour).Format(time.RFC3339)+`"}`)
	if status != http.StatusCreated {
		t.Fatalf("create window = %d %v", status, win)
	}
	tg.fail.Store(true)
	failures := tg.failures.Load()
	testenv.Eventually(t, wait, func() bool { return tg.failures.Load() >= failures+5 }, "five failed checks")
	waitStatus(s, id, "down")
	if n := len(s.incidents(id)); n != 0 {
		t.Fatalf("%d incidents during maintenance, want none", n)
	}
	if n := len(rc.all()); n != 0 {
		t.Fatalf("receiver got %d messages during maintenance, want none", n)
	}
	_, checks := s.call("GET", "/api/v1/monitors/"+id+"/checks?limit=3", "")
	for _, c := range checks["checks"].([]any) {
		if c.(map[string]any)["maintenance"] != true {
			t.Fatalf("check during maintenance not flagged: %v", c)
		}
	}
	if status, _ := s.call("DELETE", "/api/v1/maintenance/"+win["id"].(string), ""); status != http.StatusNoContent {
		t.Fatalf("delete window = %d", status)
	}
	testenv.Eventually(t, wait, func() bool { return len(rc.delivered("down")) == 1 }, "the alert after the window")
}

// A provider that never answers holds up neither the checks nor its own
// retries: each attempt ends at the delivery timeout, and the delivery
// becomes a dead letter that says so.
func TestHangingProviderStallsNothing(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	s.startWorker(func(c *config.Worker) {
		fastDelivery(c)
		c.DeliveryTimeout, c.DeliveryMaxAttempts = 300*time.Millisecond, 2
	})
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	tg := newTarget(t)
	tg.fail.Store(true)
	ch := s.createChannel(hang.URL, "k")
	id := s.createMonitor(`{"name":"api","url":"` + tg.URL + `","interval_seconds":1,"timeout_ms":500,"channels":["` + ch + `"]}`)
	var dead []any
	testenv.Eventually(t, wait, func() bool {
		_, list := s.call("GET", "/api/v1/deliveries?state=dead", "")
		dead, _ = list["deliveries"].([]any)
		return len(dead) == 1
	}, "the alert to the hanging provider given up")
	hits := tg.hits.Load()
	testenv.Eventually(t, wait, func() bool { return tg.hits.Load() >= hits+3 }, "checks going on")
	if _, m := s.call("GET", "/api/v1/monitors/"+id, ""); m["status"] != "down" {
		t.Fatalf("monitor status = %v, want down", m["status"])
	}
	if e := dead[0].(map[string]any)["last_error"].(string); !strings.Contains(e, "deadline") && !strings.Contains(e, "timeout") {
		t.Fatalf("dead letter's error = %q, want a timeout", e)
	}
}

// A reminder goes out through the channel while the incident stays open;
// acknowledging it stops them.
func TestReminderIsSentUntilAcknowledged(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	s.startWorker(fastDelivery)
	rc := newReceiver(t)
	tg := newTarget(t)
	tg.fail.Store(true)
	ch := s.createChannel(rc.URL, "k")
	id := s.createMonitor(`{"name":"api","url":"` + tg.URL + `","interval_seconds":1,"timeout_ms":500,
		"reminder_minutes":1,"channels":["` + ch + `"]}`)
	testenv.Eventually(t, wait, func() bool { return len(rc.delivered("down")) == 1 }, "the alert")
	incident := rc.delivered("down")[0].payload.IncidentID

	// Bring the reminder forward rather than wait the minute.
	conn, err := pgx.Connect(context.Background(), s.shared.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE incidents SET next_reminder_at = now() WHERE id = $1::bigint`, incident); err != nil {
		t.Fatal(err)
	}
	// Due reminders are queued by the delivery loop's housekeeping, every 15 s.
	testenv.Eventually(t, 2*wait, func() bool { return len(rc.delivered("reminder")) == 1 }, "a reminder")
	if p := rc.delivered("reminder")[0].payload; p.IncidentID != incident || p.Monitor.ID != id {
		t.Fatalf("reminder = %+v, want incident %s of monitor %s", p, incident, id)
	}
	if status, body := s.call("POST", "/api/v1/incidents/"+incident+"/acknowledge", ""); status != http.StatusOK || body["acknowledged_at"] == nil {
		t.Fatalf("acknowledge = %d %v", status, body)
	}
	var next *time.Time
	if err := conn.QueryRow(context.Background(), `SELECT next_reminder_at FROM incidents WHERE id = $1::bigint`, incident).Scan(&next); err != nil || next != nil {
		t.Fatalf("next reminder after acknowledging = %v, %v; want none", next, err)
	}
}
