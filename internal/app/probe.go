package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ProbeTimeout bounds one Probe, connection and answer together.
const ProbeTimeout = 3 * time.Second

// Probe sends a GET to url and returns nil only if the answer is 200 OK.
// It is the container healthcheck: the images have no shell, curl or wget,
// so each binary checks a running one with `<binary> healthcheck URL`.
// Redirects are not followed and no proxy is used, so the answer is the one
// of the process listening at url.
func Probe(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	transport := &http.Transport{DisableKeepAlives: true} // Proxy nil: never a proxy
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	// /readyz says why in a line of plain text; pass that line on.
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 256)) // a short or failed read only shortens the message
		if why, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n"); why != "" {
			return fmt.Errorf("healthcheck %s: status %s: %q", url, resp.Status, why)
		}
	}
	return fmt.Errorf("healthcheck %s: status %s", url, resp.Status)
}

// Healthcheck is the healthcheck mode of the binaries: main calls it with
// the arguments after "healthcheck", which must be one URL. It probes the
// URL and returns the exit code: 0 when healthy, 1 when not, 2 for wrong
// arguments, with the reason written to stderr. A mistyped healthcheck
// therefore never falls through to starting a second server.
func Healthcheck(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: healthcheck URL (e.g. http://127.0.0.1:8080/healthz)")
		return 2
	}
	if err := Probe(ctx, args[0]); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
