package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// A monitor's alerting fields: defaults, its channels, its open incident,
// and clear errors for bad values, which change nothing.
func TestMonitorAlertingFields(t *testing.T) {
	e := setup(t)
	ch := e.alertChannel(t, "ops")
	m := e.create(t, `{"name":"a","url":"https://example.com/"}`)
	if m["confirmations"] != 2.0 || m["recovery_confirmations"] != 1.0 || m["reminder_minutes"] != 0.0 ||
		fmt.Sprint(m["cert_alert_days"]) != "[14 7 3 1]" || fmt.Sprint(m["channels"]) != "[]" || m["incident"] != nil {
		t.Fatalf("defaults = %v", m)
	}
	id := m["id"].(string)
	chID := fmt.Sprint(ch)
	r := e.do(t, "PATCH", "/api/v1/monitors/"+id, "application/json",
		`{"confirmations":5,"recovery_confirmations":3,"reminder_minutes":30,"cert_alert_days":[1,30,7,7],"channels":["`+chID+`","`+chID+`"]}`)
	if r.status != http.StatusOK {
		t.Fatalf("patch = %d %s", r.status, r.raw)
	}
	if r.body["confirmations"] != 5.0 || r.body["recovery_confirmations"] != 3.0 || r.body["reminder_minutes"] != 30.0 ||
		fmt.Sprint(r.body["cert_alert_days"]) != "[30 7 1]" || fmt.Sprint(r.body["channels"]) != "["+chID+"]" {
		t.Fatalf("after patch = %s", r.raw)
	}

	for _, tt := range []struct{ body, field, message string }{
		{`{"confirmations":0}`, "confirmations", "must be between 1 and 100"},
		{`{"recovery_confirmations":101}`, "recovery_confirmations", "must be between 1 and 100"},
		{`{"reminder_minutes":-1}`, "reminder_minutes", "must be between 0 (no reminders) and 10080"},
		{`{"cert_alert_days":[0]}`, "cert_alert_days[0]", "must be between 1 and 365"},
		{`{"channels":["999999"]}`, "channels", `holds ids of no channel: "999999"`},
		{`{"channels":["x"]}`, "channels", `holds "x", which is not a channel id`},
		{`{"incident":null}`, "incident", "is read-only"},
	} {
		r := e.do(t, "PATCH", "/api/v1/monitors/"+id, "application/json", tt.body)
		errs, _ := r.body["errors"].([]any)
		var got string
		if len(errs) == 1 {
			f := errs[0].(map[string]any)
			got = fmt.Sprint(f["field"], ": ", f["message"])
		}
		if r.status != http.StatusBadRequest || got != tt.field+": "+tt.message {
			t.Errorf("PATCH %s = %d %s, want 400 on %s: %s", tt.body, r.status, r.raw, tt.field, tt.message)
		}
	}
	if got := e.do(t, "GET", "/api/v1/monitors/"+id, "", ""); got.body["confirmations"] != 5.0 || fmt.Sprint(got.body["channels"]) != "["+chID+"]" {
		t.Fatalf("a refused patch changed the monitor: %s", got.raw)
	}

	// The open incident shows on the monitor; pausing resolves it.
	var monitorID int64
	fmt.Sscan(id, &monitorID)
	inc := e.alertIncident(t, monitorID, time.Now().Add(-time.Minute), time.Time{})
	got := e.do(t, "GET", "/api/v1/monitors/"+id, "", "")
	shown, _ := got.body["incident"].(map[string]any)
	if shown == nil || shown["id"] != fmt.Sprint(inc) {
		t.Fatalf("monitor's incident = %v, want %d", got.body["incident"], inc)
	}
	if r := e.do(t, "PATCH", "/api/v1/monitors/"+id, "application/json", `{"enabled":false}`); r.status != http.StatusOK || r.body["incident"] != nil {
		t.Fatalf("pause = %d, incident %v; want resolved", r.status, r.body["incident"])
	}
	r = e.do(t, "GET", fmt.Sprintf("/api/v1/incidents/%d", inc), "", "")
	if r.body["state"] != "resolved" || r.body["resolution"] != "paused" {
		t.Fatalf("incident after pausing = %s", r.raw)
	}
}

// PostgreSQL stores no NUL character: any field holding one is a 400
// before anything is written, while an escaped backslash before "u0000"
// is just text.
func TestNULIsRefusedInEveryBody(t *testing.T) {
	e := setup(t)
	for _, tt := range []struct{ path, body string }{
		{"/api/v1/monitors", `{"name":"a\u0000b","url":"https://example.com/"}`},
		{"/api/v1/channels", `{"name":"x","type":"webhook","secrets":{"url":"https://example.com/\u0000"}}`},
		{"/api/v1/maintenance", `{"name":"\\\u0000","all_monitors":true,"starts_at":"2026-01-01T00:00:00Z","ends_at":"2026-01-02T00:00:00Z"}`},
	} {
		if r := e.do(t, "POST", tt.path, "application/json", tt.body); r.status != http.StatusBadRequest {
			t.Errorf("POST %s %s = %d %s, want 400", tt.path, tt.body, r.status, r.raw)
		}
	}
	m := e.create(t, `{"name":"a\\u0000b","url":"https://example.com/"}`)
	if m["name"] != `a\u0000b` {
		t.Fatalf("name = %q, want the text a\\u0000b", m["name"])
	}
}
