package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pinguin-dev/pinguin/internal/app"
)

// serveProbe starts a test server answering every request with handler.
func serveProbe(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL + "/healthz"
}

// refusedURL is a URL on a local port where nothing listens.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("close listener: %v", err)
	}
	return "http://" + addr + "/healthz"
}

func TestProbe(t *testing.T) {
	t.Parallel()

	t.Run("200 is healthy", func(t *testing.T) {
		t.Parallel()
		url := serveProbe(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.URL.Path != "/healthz" {
				http.Error(w, "wrong request", http.StatusBadRequest)
				return
			}
			fmt.Fprintln(w, "ok")
		})
		if err := app.Probe(context.Background(), url); err != nil {
			t.Fatalf("Probe = %v, want nil", err)
		}
	})

	t.Run("503 is unhealthy and says why", func(t *testing.T) {
		t.Parallel()
		url := serveProbe(t, func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "not ready: redis down", http.StatusServiceUnavailable)
		})
		err := app.Probe(context.Background(), url)
		want := "healthcheck " + url + `: status 503 Service Unavailable: "not ready: redis down"`
		if err == nil || err.Error() != want {
			t.Fatalf("Probe = %v, want %s", err, want)
		}
	})

	t.Run("204 is unhealthy", func(t *testing.T) {
		t.Parallel()
		url := serveProbe(t, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})
		err := app.Probe(context.Background(), url)
		want := "healthcheck " + url + ": status 204 No Content"
		if err == nil || err.Error() != want {
			t.Fatalf("Probe = %v, want %s", err, want)
		}
	})

	t.Run("redirect is not followed", func(t *testing.T) {
		t.Parallel()
		url := serveProbe(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/elsewhere" {
				fmt.Fprintln(w, "ok")
				return
			}
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		})
		err := app.Probe(context.Background(), url)
		want := "healthcheck " + url + ": status 302 Found" // an HTML body is not quoted
		if err == nil || err.Error() != want {
			t.Fatalf("Probe = %v, want %s", err, want)
		}
	})

	t.Run("only the first line of a plain text body is quoted", func(t *testing.T) {
		t.Parallel()
		url := serveProbe(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "\n  broken\nstack trace\n")
		})
		err := app.Probe(context.Background(), url)
		want := "healthcheck " + url + `: status 500 Internal Server Error: "broken"`
		if err == nil || err.Error() != want {
			t.Fatalf("Probe = %v, want %s", err, want)
		}
	})

	t.Run("refused connection is unhealthy", func(t *testing.T) {
		t.Parallel()
		err := app.Probe(context.Background(), refusedURL(t))
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("Probe = %v, want connection refused", err)
		}
	})

	t.Run("no answer before the deadline is unhealthy", func(t *testing.T) {
		t.Parallel()
		url := serveProbe(t, func(_ http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // the probe gives up and hangs up
		})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		err := app.Probe(ctx, url)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Probe = %v, want deadline exceeded", err)
		}
	})

	t.Run("malformed URL is an error", func(t *testing.T) {
		t.Parallel()
		if err := app.Probe(context.Background(), "http://[::1"); err == nil {
			t.Fatal("Probe = nil, want an error")
		}
	})
}

func TestProbeHealthcheckExitCode(t *testing.T) {
	t.Parallel()
	healthy := serveProbe(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string // start of stderr; empty for none
	}{
		{name: "healthy exits 0 silently", args: []string{healthy}, wantCode: 0},
		{name: "refused exits 1 with the reason", args: []string{refusedURL(t)}, wantCode: 1, wantErr: "healthcheck: Get "},
		{name: "no URL exits 2 with usage", args: nil, wantCode: 2, wantErr: "usage: healthcheck URL"},
		{name: "two URLs exit 2 with usage", args: []string{healthy, healthy}, wantCode: 2, wantErr: "usage: healthcheck URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			code := app.Healthcheck(context.Background(), tc.args, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d", code, tc.wantCode)
			}
			got := stderr.String()
			if (tc.wantErr == "") != (got == "") || !strings.HasPrefix(got, tc.wantErr) {
				t.Errorf("stderr = %q, want it to start with %q", got, tc.wantErr)
			}
		})
	}
}
