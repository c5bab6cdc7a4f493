package worker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/pinguin-dev/pinguin/internal/check"
	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// Probers run the checks of each monitor type.
type Probers struct {
	HTTP interface {
		Check(context.Context, check.HTTPRequest) check.Result
	}
	TCP interface {
		Check(context.Context, check.TCPRequest) check.Result
	}
	DNS interface {
		Check(context.Context, check.DNSRequest) check.Result
	}
	TLS interface {
		Check(context.Context, check.TLSRequest) check.Result
	}
	ICMP interface {
		Check(context.Context, check.ICMPRequest) check.Result
	}
}

// target is a monitor's configuration, ready to check: run is the check of
// its type with its request built once, when the monitor was loaded. It
// keeps no more of the monitor than the job loop needs: a worker holds one
// per monitor it has seen.
type target struct {
	enabled bool
	// cron is set for heartbeat monitors with a cron schedule, whose next
	// deadline the worker sets after a missed one.
	cron *monitor.Monitor
	// heartbeat jobs are missed deadlines: never dropped as stale.
	heartbeat bool
	run       func(ctx context.Context) check.Result
}

func newTarget(m monitor.Monitor, p *Probers) *target {
	t := &target{enabled: m.Enabled, heartbeat: m.Type == monitor.TypeHeartbeat}
	if t.heartbeat && m.Cron != "" {
		t.cron = &monitor.Monitor{ID: m.ID, IntervalSeconds: m.IntervalSeconds, Cron: m.Cron,
			TimeZone: m.TimeZone, GraceSeconds: m.GraceSeconds}
	}
	timeout := m.Timeout()
	switch m.Type {
	case monitor.TypeTCP:
		req := check.TCPRequest{Host: m.Host, Port: m.Port, Timeout: timeout, TLS: m.TLS, VerifyTLS: m.VerifyTLS, Send: m.Send, Expect: m.Expect}
		t.run = func(ctx context.Context) check.Result { return p.TCP.Check(ctx, req) }
	case monitor.TypeDNS:
		req := check.DNSRequest{Name: m.Host, Type: m.RecordType, Resolver: m.Resolver, Timeout: timeout, Expected: m.ExpectedValues, MatchAll: m.MatchAll}
		t.run = func(ctx context.Context) check.Result { return p.DNS.Check(ctx, req) }
	case monitor.TypeTLS:
		req := check.TLSRequest{Host: m.Host, Port: m.Port, Timeout: timeout, WarnDays: m.WarnDays}
		t.run = func(ctx context.Context) check.Result { return p.TLS.Check(ctx, req) }
	case monitor.TypeICMP:
		req := check.ICMPRequest{Host: m.Host, Packets: m.Packets, Timeout: timeout, IPVersion: m.IPVersion}
		t.run = func(ctx context.Context) check.Result { return p.ICMP.Check(ctx, req) }
	case monitor.TypeHeartbeat:
		// The job is the deadline passing: a ping would have moved it.
		msg := "no ping within the period and " + (time.Duration(m.GraceSeconds) * time.Second).String() + " of grace"
		t.run = func(context.Context) check.Result {
			return check.Result{ErrorKind: check.KindNoPing, Error: msg}
		}
	default:
		req, err := httpRequest(m)
		if err != nil { // validated on the way in; an old row may still differ
			t.run = func(context.Context) check.Result {
				return check.Result{ErrorKind: check.KindInvalid, Error: err.Error()}
			}
			break
		}
		t.run = func(ctx context.Context) check.Result { return p.HTTP.Check(ctx, req) }
	}
	return t
}

// httpRequest builds the HTTP check of a monitor, compiling its assertions,
// certificate and proxy once.
func httpRequest(m monitor.Monitor) (check.HTTPRequest, error) {
	ranges, err := monitor.ParseStatusRanges(m.ExpectedStatus)
	if err != nil {
		return check.HTTPRequest{}, fmt.Errorf("expected_status: %w", err)
	}
	req := check.HTTPRequest{
		Method: m.Method, URL: m.URL, Headers: m.Headers, Body: m.Body,
		Timeout: m.Timeout(), FollowRedirects: m.FollowRedirects, MaxRedirects: m.MaxRedirects,
		VerifyTLS: m.VerifyTLS, Expected: ranges, BearerToken: m.BearerToken, IPVersion: m.IPVersion,
	}
	if m.FollowRedirects && m.MaxRedirects == 0 {
		req.FollowRedirects = false // zero hops allowed: the first answer is final
	}
	for _, a := range m.Assertions {
		c, err := check.Compile(check.Assertion(a))
		if err != nil {
			return req, fmt.Errorf("assertion %s: %w", a.Type, err)
		}
		req.Assertions = append(req.Assertions, c)
	}
	if m.BasicAuthUser != "" || m.BasicAuthPassword != "" {
		req.BasicAuth = &check.BasicAuth{Username: m.BasicAuthUser, Password: m.BasicAuthPassword}
	}
	if m.ProxyURL != "" {
		if req.ProxyURL, err = url.Parse(m.ProxyURL); err != nil {
			return req, errors.New("proxy_url is not a URL")
		}
	}
	if m.ClientCert != "" {
		cert, err := tls.X509KeyPair([]byte(m.ClientCert), []byte(m.ClientKey))
		if err != nil {
			return req, errors.New("client_cert and client_key do not match")
		}
		req.ClientCert = &cert
	}
	return req, nil
}

// cache keeps monitor configuration in memory so that a check costs no
// database round trip (DESIGN.md invariant 5). Entries are dropped when the
// api announces a change, and refreshed by a periodic sweep of updated_at.
type cache struct {
	store   Store
	probers *Probers
	logger  *slog.Logger

	mu      sync.RWMutex
	targets map[int64]*target
	swept   time.Time // database time of the last sweep
}

func newCache(st Store, probers *Probers, logger *slog.Logger) *cache {
	// Entries are loaded fresh from the database, so the first sweep only
	// needs to look back from now.
	return &cache{store: st, probers: probers, logger: logger, targets: make(map[int64]*target), swept: time.Now()}
}

// get returns the targets of ids, loading the ones not cached in one query.
// A monitor that does not exist is absent from the result.
func (c *cache) get(ctx context.Context, ids []int64) (map[int64]*target, error) {
	out := make(map[int64]*target, len(ids))
	var missing []int64
	c.mu.RLock()
	for _, id := range ids {
		if t, ok := c.targets[id]; ok {
			out[id] = t
		} else {
			missing = append(missing, id)
		}
	}
	c.mu.RUnlock()
	if len(missing) == 0 {
		return out, nil
	}
	loaded, err := c.store.LoadMonitors(ctx, missing)
	if err != nil {
		return out, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range loaded {
		t := newTarget(m, c.probers)
		c.targets[m.ID] = t
		out[m.ID] = t
	}
	return out, nil
}

func (c *cache) invalidate(id int64) {
	c.mu.Lock()
	delete(c.targets, id)
	c.mu.Unlock()
}

func (c *cache) clear() {
	c.mu.Lock()
	clear(c.targets)
	c.mu.Unlock()
}

// sweepOverlap covers transactions that committed after the last sweep with
// an updated_at from before it.
const sweepOverlap = 10 * time.Second

// sweep refreshes cached monitors changed since the last sweep.
func (c *cache) sweep(ctx context.Context) error {
	c.mu.RLock()
	since := c.swept.Add(-sweepOverlap)
	c.mu.RUnlock()
	changed, deleted, now, err := c.store.MonitorsChangedSince(ctx, since)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range changed {
		if _, ok := c.targets[m.ID]; ok {
			c.targets[m.ID] = newTarget(m, c.probers)
		}
	}
	for _, id := range deleted {
		delete(c.targets, id)
	}
	c.swept = now
	return nil
}
