package api_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestMonitorTypes(t *testing.T) {
	e := setup(t)
	cases := []struct {
		name, body string
		want       map[string]any // fields of the answer
		absent     []string       // fields the answer must not have
	}{
		{"http keeps its defaults", `{"name":"h","url":"https://example.com"}`,
			map[string]any{"type": "http", "method": "GET", "max_redirects": 10.0, "follow_redirects": true}, []string{"host", "ping_url"}},
		{"http with assertions and auth", `{"name":"h","url":"https://example.com","assertions":[{"type":"json_path","path":"$.status","op":"==","value":"ok"},{"type":"response_time","value":"500"}],"basic_auth":{"username":"u","password":"p"}}`,
			map[string]any{"max_redirects": 10.0}, []string{"bearer_token"}},
		{"http with a bearer token", `{"name":"h","url":"https://example.com","bearer_token":"t"}`,
			map[string]any{"bearer_token": "********", "headers": map[string]any{}}, nil},
		{"tcp", `{"name":"db","type":"tcp","host":"db.internal","port":5432,"send":"PING\r\n","expect":"PONG"}`,
			map[string]any{"type": "tcp", "host": "db.internal", "port": 5432.0, "expect": "PONG"}, []string{"url", "method", "headers"}},
		{"dns", `{"name":"d","type":"dns","host":"example.com","record_type":"mx","expected_values":["10 mail.example.com"],"resolver":"127.0.0.1:5353"}`,
			map[string]any{"type": "dns", "record_type": "MX", "resolver": "127.0.0.1:5353"}, []string{"url"}},
		{"tls defaults", `{"name":"t","type":"tls","host":"example.com"}`,
			map[string]any{"type": "tls", "port": 443.0, "warn_days": 14.0}, []string{"url"}},
		{"icmp defaults", `{"name":"i","type":"icmp","host":"192.0.2.1"}`,
			map[string]any{"type": "icmp", "packets": 3.0}, []string{"url"}},
		{"heartbeat", `{"name":"backup","type":"heartbeat","interval_seconds":3600,"grace_seconds":300}`,
			map[string]any{"type": "heartbeat", "grace_seconds": 300.0, "time_zone": "UTC"}, []string{"url", "host"}},
		{"heartbeat with cron", `{"name":"nightly","type":"heartbeat","cron":"0 3 * * *","time_zone":"Europe/Berlin"}`,
			map[string]any{"cron": "0 3 * * *", "time_zone": "Europe/Berlin"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := e.create(t, c.body)
			for k, v := range c.want {
				if !reflect.DeepEqual(m[k], v) {
					t.Errorf("%s = %v, want %v", k, m[k], v)
				}
			}
			for _, k := range c.absent {
				if _, ok := m[k]; ok {
					t.Errorf("%s is present: %v", k, m[k])
				}
			}
			if m["type"] == "heartbeat" && !strings.HasPrefix(m["ping_url"].(string), "http") {
				t.Errorf("ping_url = %v", m["ping_url"])
			}
		})
	}
}

func TestMonitorTypeValidation(t *testing.T) {
	e := setup(t)
	id := e.create(t, `{"name":"t","type":"tcp","host":"a.example","port":22}`)["id"].(string)
	cases := []struct {
		name, method, path, body, field, message string
	}{
		{"unknown type", "POST", "/api/v1/monitors", `{"name":"x","type":"smtp","host":"a"}`, "type", "must be one of http, tcp, dns, tls, icmp, heartbeat"},
		{"tcp without port", "POST", "/api/v1/monitors", `{"name":"x","type":"tcp","host":"a.example"}`, "port", "is required: a port from 1 to 65535"},
		{"tcp without host", "POST", "/api/v1/monitors", `{"name":"x","type":"tcp","port":80}`, "host", "is required"},
		{"dns without name", "POST", "/api/v1/monitors", `{"name":"x","type":"dns"}`, "host", "is required"},
		{"dns bad record type", "POST", "/api/v1/monitors", `{"name":"x","type":"dns","host":"a.example","record_type":"PTR"}`, "record_type", "must be one of A, AAAA, CNAME, MX, TXT, NS, SOA"},
		{"url on a tcp monitor", "POST", "/api/v1/monitors", `{"name":"x","type":"tcp","host":"a","port":1,"url":"http://a"}`, "url", "is not used by tcp monitors"},
		{"icmp too many packets", "POST", "/api/v1/monitors", `{"name":"x","type":"icmp","host":"a","packets":11}`, "packets", "must be between 1 and 10"},
		{"invalid regex", "POST", "/api/v1/monitors", `{"name":"x","url":"https://a.example","assertions":[{"type":"body_regex","value":"(unclosed"}]}`, "assertions[0].value", ""},
		{"invalid json path op", "POST", "/api/v1/monitors", `{"name":"x","url":"https://a.example","assertions":[{"type":"json_path","path":"$.a","op":"~"}]}`, "assertions[0].op", ""},
		{"unknown assertion type", "POST", "/api/v1/monitors", `{"name":"x","url":"https://a.example","assertions":[{"type":"vibes"}]}`, "assertions[0].type", ""},
		{"assertion with unknown key", "POST", "/api/v1/monitors", `{"name":"x","url":"https://a.example","assertions":[{"type":"status","valeu":"200"}]}`, "assertions", "must be a list of {type, path, op, value} objects"},
		{"cron that never fires", "POST", "/api/v1/monitors", `{"name":"x","type":"heartbeat","cron":"0 0 30 2 *"}`, "cron", "never fires within a year"},
		{"cron that is not cron", "POST", "/api/v1/monitors", `{"name":"x","type":"heartbeat","cron":"every day"}`, "cron", ""},
		{"unknown time zone", "POST", "/api/v1/monitors", `{"name":"x","type":"heartbeat","time_zone":"Mars/Olympus"}`, "time_zone", "is not a known time zone such as Europe/Berlin"},
		{"client cert without key", "POST", "/api/v1/monitors", `{"name":"x","url":"https://a.example","client_cert":"-----BEGIN CERTIFICATE-----"}`, "client_cert", "needs both client_cert and client_key (PEM)"},
		{"follow_redirects on a tcp monitor", "POST", "/api/v1/monitors", `{"name":"x","type":"tcp","host":"a","port":1,"follow_redirects":true}`, "follow_redirects", "is not used by tcp monitors"},
		{"basic auth and bearer", "POST", "/api/v1/monitors", `{"name":"x","url":"https://a.example","basic_auth":{"username":"u","password":"p"},"bearer_token":"t"}`, "bearer_token", "cannot be used together with basic_auth: choose one"},
		{"unknown time zone with cron", "POST", "/api/v1/monitors", `{"name":"x","type":"heartbeat","cron":"@daily","time_zone":"Nowhere/Nothing"}`, "time_zone", "is not a known time zone such as Europe/Berlin"},
		{"type cannot change", "PATCH", "/api/v1/monitors/" + id, `{"type":"http","url":"https://a.example"}`, "type", "cannot be changed; create a new monitor of the other type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, c.method, c.path, "application/json", c.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			for _, fe := range r.body["errors"].([]any) {
				f := fe.(map[string]any)
				if f["field"] == c.field && (c.message == "" || f["message"] == c.message) {
					return
				}
			}
			t.Fatalf("errors lack %s %q: %s", c.field, c.message, r.raw)
		})
	}
}
