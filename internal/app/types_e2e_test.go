package app_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pinguin-dev/pinguin/internal/app"
	"github.com/pinguin-dev/pinguin/internal/testenv"
)

// metricValue reads a counter or gauge from a worker's registry: name alone
// for a metric without labels, or name{label="value",...} for one series.
func metricValue(t *testing.T, w *app.Worker, name string) float64 {
	t.Helper()
	families, err := w.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			series := f.GetName()
			if len(m.GetLabel()) > 0 {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
				}
				series += "{" + strings.Join(labels, ",") + "}"
			}
			if series != name {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// tcpPeer answers "PONG" to "PING" lines, or "NOPE" once told to misbehave.
func tcpPeer(t *testing.T) (port int, broken *atomic.Bool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	broken = &atomic.Bool{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if line, err := bufio.NewReader(c).ReadString('\n'); err == nil && strings.TrimSpace(line) == "PING" {
					answer := "PONG\n"
					if broken.Load() {
						answer = "NOPE\n"
					}
					_, _ = c.Write([]byte(answer))
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, broken
}

func TestTCPMonitor(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	s.startWorker()
	port, broken := tcpPeer(t)
	id := s.createMonitor(fmt.Sprintf(`{"name":"tcp","type":"tcp","host":"127.0.0.1","port":%d,"send":"PING\n","expect":"PONG","interval_seconds":1,"timeout_ms":500}`, port))
	waitStatus(s, id, "up")
	broken.Store(true)
	m := waitStatus(s, id, "down")
	if !strings.Contains(m["last_error"].(string), `expected "PONG"`) {
		t.Fatalf("last_error = %v", m["last_error"])
	}
}

func TestDNSMonitor(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	s.startWorker()
	var answer atomic.Value
	answer.Store("192.0.2.10")
	mux := dns.NewServeMux()
	mux.HandleFunc("svc.pinguin.test.", func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		rr, _ := dns.NewRR("svc.pinguin.test. 60 IN A " + answer.Load().(string))
		m.Answer = append(m.Answer, rr)
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: mux}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	id := s.createMonitor(fmt.Sprintf(`{"name":"dns","type":"dns","host":"svc.pinguin.test","record_type":"A","resolver":"%s","expected_values":["192.0.2.10"],"interval_seconds":1,"timeout_ms":500}`, pc.LocalAddr()))
	waitStatus(s, id, "up")
	_, checks := s.call("GET", "/api/v1/monitors/"+id+"/checks?limit=1", "")
	if c := checks["checks"].([]any)[0].(map[string]any); !strings.Contains(fmt.Sprint(c["detail"]), "192.0.2.10") {
		t.Fatalf("check detail = %v", c["detail"])
	}
	answer.Store("192.0.2.99")
	m := waitStatus(s, id, "down")
	if !strings.Contains(m["last_error"].(string), "192.0.2.99") {
		t.Fatalf("last_error = %v", m["last_error"])
	}
}

func TestHTTPAssertionFailureSaysWhat(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	s.startWorker()
	var status atomic.Value
	status.Store("ok")
	srv := newJSONTarget(t, &status)
	id := s.createMonitor(`{"name":"api","url":"` + srv + `","interval_seconds":1,"timeout_ms":500,"assertions":[{"type":"json_path","path":"$.status","op":"==","value":"ok"}]}`)
	waitStatus(s, id, "up")
	status.Store("degraded")
	m := waitStatus(s, id, "down")
	if m["last_error"] != `expected $.status == "ok", got "degraded"` {
		t.Fatalf("last_error = %q", m["last_error"])
	}
	_, checks := s.call("GET", "/api/v1/monitors/"+id+"/checks?limit=1", "")
	if c := checks["checks"].([]any)[0].(map[string]any); c["error_kind"] != "assertion" {
		t.Fatalf("check = %v", c)
	}
}

func newJSONTarget(t *testing.T, status *atomic.Value) string {
	t.Helper()
	tg := newTarget(t)
	tg.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"status":%q}`, status.Load().(string))
	})
	return tg.URL
}

func TestHeartbeatMonitor(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	w := s.startWorker()
	_, m := s.call("POST", "/api/v1/monitors", `{"name":"backup","type":"heartbeat","interval_seconds":2,"grace_seconds":1}`)
	id, pingURL := m["id"].(string), m["ping_url"].(string)
	path := pingURL[strings.Index(pingURL, "/ping/"):]
	ping := func(suffix string) {
		t.Helper()
		res, err := http.Post(s.base+path+suffix, "text/plain", nil)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("ping%s: %v %v", suffix, res, err)
		}
		res.Body.Close()
	}
	ping("/start")
	ping("")
	waitStatus(s, id, "up")
	// No more pings: down once the period and the grace have passed.
	m = waitStatus(s, id, "down")
	if !strings.HasPrefix(m["last_error"].(string), "no ping within") {
		t.Fatalf("last_error = %v", m["last_error"])
	}
	ping("")
	waitStatus(s, id, "up")
	ping("/fail")
	waitStatus(s, id, "down")

	// A burst of pings is stored in a few batch writes, not a row each.
	batches := metricValue(t, w, "pinguin_worker_batches_written_total")
	rowsBefore := s.countRows(id)
	for range 1000 {
		ping("")
	}
	testenv.Eventually(t, wait, func() bool { return s.countRows(id) >= rowsBefore+1000 }, "1000 pings stored")
	if n := metricValue(t, w, "pinguin_worker_batches_written_total") - batches; n > 200 {
		t.Fatalf("1000 pings took %v batch writes", n)
	}
	if status, _ := s.call("GET", "/ping/not-a-real-token-at-all/fail", ""); status != 404 {
		t.Fatalf("unknown ping token: %d", status)
	}
}

func waitStatus(s *stack, id, want string) map[string]any {
	s.t.Helper()
	var m map[string]any
	testenv.Eventually(s.t, wait, func() bool {
		_, m = s.call("GET", "/api/v1/monitors/"+id, "")
		return m["status"] == want
	}, "monitor %s %s (last: %v, %v)", id, want, m["status"], m["last_error"])
	return m
}

// TestICMPMonitor pings this machine. Where the process may not ping at all,
// the check must say so clearly instead of timing out.
func TestICMPMonitor(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	s.startWorker()
	id := s.createMonitor(`{"name":"loopback","type":"icmp","host":"127.0.0.1","packets":2,"interval_seconds":1,"timeout_ms":900}`)
	var m map[string]any
	testenv.Eventually(t, wait, func() bool {
		_, m = s.call("GET", "/api/v1/monitors/"+id, "")
		return m["status"] == "up" || (m["status"] == "down" && strings.Contains(fmt.Sprint(m["last_error"]), "ICMP is not permitted"))
	}, "icmp monitor checked (last: %v %v)", m["status"], m["last_error"])
	if m["status"] == "up" {
		_, checks := s.call("GET", "/api/v1/monitors/"+id+"/checks?limit=1", "")
		if c := checks["checks"].([]any)[0].(map[string]any); !strings.HasPrefix(fmt.Sprint(c["detail"]), "2 of 2 received, round trip") {
			t.Fatalf("check detail = %v", c["detail"])
		}
	}
}

// TestCronHeartbeat runs a heartbeat on a cron schedule ("@every 2s", so
// the test need not wait for whole minutes): missed deadlines are reported
// one after another, each at the schedule's next time, and a ping brings
// the monitor back up.
func TestCronHeartbeat(t *testing.T) {
	s := newStack(t)
	s.startScheduler()
	s.startWorker()
	_, m := s.call("POST", "/api/v1/monitors", `{"name":"cron","type":"heartbeat","cron":"@every 2s","grace_seconds":1}`)
	id, pingURL := m["id"].(string), m["ping_url"].(string)
	m = waitStatus(s, id, "down")
	if !strings.HasPrefix(fmt.Sprint(m["last_error"]), "no ping within") {
		t.Fatalf("last_error = %v", m["last_error"])
	}
	// The deadlines go on: a second missed one is recorded too.
	testenv.Eventually(t, wait, func() bool { return s.countRows(id) >= 2 }, "two missed deadlines recorded")
	res, err := http.Get(s.base + pingURL[strings.Index(pingURL, "/ping/"):])
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("ping: %v %v", res, err)
	}
	res.Body.Close()
	waitStatus(s, id, "up")
}
