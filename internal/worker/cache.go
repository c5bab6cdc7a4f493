package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pinguin-dev/pinguin/internal/check"
	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// target is a monitor's configuration, ready to check.
type target struct {
	monitor monitor.Monitor
	request check.HTTPRequest
}

func newTarget(m monitor.Monitor) *target {
	ranges, err := monitor.ParseStatusRanges(m.ExpectedStatus)
	if err != nil { // validated on the way in; an old row may still differ
		ranges = monitor.StatusRanges{{Low: 200, High: 299}}
	}
	return &target{
		monitor: m,
		request: check.HTTPRequest{
			Method: m.Method, URL: m.URL, Headers: m.Headers, Body: m.Body,
			Timeout: m.Timeout(), FollowRedirects: m.FollowRedirects,
			VerifyTLS: m.VerifyTLS, Expected: ranges,
		},
	}
}

// cache keeps monitor configuration in memory so that a check costs no
// database round trip (DESIGN.md invariant 5). Entries are dropped when the
// api announces a change, and refreshed by a periodic sweep of updated_at.
type cache struct {
	store  Store
	logger *slog.Logger

	mu      sync.RWMutex
	targets map[int64]*target
	swept   time.Time // database time of the last sweep
}

func newCache(st Store, logger *slog.Logger) *cache {
	// Entries are loaded fresh from the database, so the first sweep only
	// needs to look back from now.
	return &cache{store: st, logger: logger, targets: make(map[int64]*target), swept: time.Now()}
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
		t := newTarget(m)
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
			c.targets[m.ID] = newTarget(m)
		}
	}
	for _, id := range deleted {
		delete(c.targets, id)
	}
	c.swept = now
	return nil
}
