package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pinguin-dev/pinguin/internal/server"
)

func TestAdminHandler(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "pinguin_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Inc()
	var down error
	srv := httptest.NewServer(server.WithProfiles(server.Probes(reg, func(context.Context) error { return down })))
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	for path, want := range map[string]string{
		"/healthz": "ok", "/readyz": "ok", "/metrics": "pinguin_test_total 1", "/debug/pprof/": "goroutine",
	} {
		if code, body := get(path); code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d %.200q, want 200 with %q", path, code, body, want)
		}
	}
	down = errors.New("redis: connection refused")
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "connection refused") {
		t.Errorf("readyz while a dependency is down = %d %q", code, body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz while a dependency is down = %d, want 200 (alive)", code)
	}
}
