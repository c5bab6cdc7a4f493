package worker

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/pinguin-dev/pinguin/internal/lifecycle"
	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/schedule"
	"github.com/pinguin-dev/pinguin/internal/store"
)

// item is one result on its way to PostgreSQL.
type item struct {
	result store.Result
	due    time.Time
	live   *schedule.LiveState // set once the live state has been decided
}

// batcher holds results and writes them in batches, by size or after a short
// delay (DESIGN.md invariant 5). While PostgreSQL is unreachable it keeps up
// to limit results and retries with backoff; beyond that it drops the oldest
// and counts them (invariant 6).
type batcher struct {
	store    Store
	sched    LiveStates
	logger   *slog.Logger
	metrics  *metrics
	size     int
	delay    time.Duration
	limit    int
	now      func() time.Time
	runner   lifecycle.Runner
	wake     chan struct{}
	shutdown time.Duration

	mu       sync.Mutex
	buf      []item
	inflight int // items taken by the flusher and not yet written

	dropped       int       // dropped since the last log line about it
	droppedLogged time.Time // when that line was written
	decideWarned  time.Time // when a failure to decide live state was last logged (flusher only)
}

func (b *batcher) add(it item) {
	b.mu.Lock()
	if len(b.buf)+b.inflight >= b.limit && len(b.buf) > 0 {
		// Drop a tenth of the oldest at once, so that a long outage costs
		// one shift per many results instead of one per result.
		n := min(len(b.buf), max(1, b.limit/10))
		b.buf = b.buf[n:]
		b.metrics.resultsDropped.Add(float64(n))
		b.dropped += n
		if now := time.Now(); now.Sub(b.droppedLogged) >= 10*time.Second {
			b.logger.Error("result buffer full while PostgreSQL is unreachable: dropped the oldest results",
				"dropped", b.dropped, "limit", b.limit)
			b.dropped, b.droppedLogged = 0, now
		}
	}
	b.buf = append(b.buf, it)
	n := len(b.buf)
	b.metrics.buffered.Set(float64(n + b.inflight))
	b.mu.Unlock()
	if n >= b.size {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}

// take moves up to size items out of the buffer.
func (b *batcher) take() []item {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(b.buf), b.size)
	batch := slices.Clone(b.buf[:n])
	// Shift the rest down rather than re-slicing, so the buffer's array is
	// reused: at steady state the whole buffer is taken and nothing moves.
	b.buf = slices.Delete(b.buf, 0, n)
	b.inflight = n
	return batch
}

func (b *batcher) pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.buf) + b.inflight
}

func (b *batcher) start(ctx context.Context) error {
	return b.runner.Start(ctx, b.loop)
}

// stop writes what is left, retrying until the shutdown timeout, and
// returns once every result is written or counted as lost.
func (b *batcher) stop() { b.runner.Stop() }

func (b *batcher) loop(ctx context.Context) {
	timer := time.NewTimer(b.delay)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			// Stop was called: flush what is left, retrying with backoff
			// until the shutdown timeout.
			b.drain(time.Now().Add(b.shutdown))
			return
		case <-b.wake:
		case <-timer.C:
		}
		b.flushAll(ctx)
		timer.Reset(b.delay)
	}
}

// flushAll writes batches until the buffer holds less than one full batch,
// or a write fails (then it waits for the next tick: the retry backoff).
func (b *batcher) flushAll(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for {
		batch := b.take()
		if len(batch) == 0 {
			return
		}
		for !b.write(ctx, batch) {
			select {
			case <-ctx.Done():
				b.putBack(batch)
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
		}
		if b.pending() < b.size {
			return
		}
	}
}

func (b *batcher) putBack(batch []item) {
	b.mu.Lock()
	b.buf = append(batch, b.buf...)
	b.inflight = 0
	b.mu.Unlock()
}

func (b *batcher) drain(deadline time.Time) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for b.pending() > 0 && ctx.Err() == nil {
		b.flushAll(ctx)
	}
	if n := b.pending(); n > 0 {
		b.metrics.resultsDropped.Add(float64(n))
		b.logger.Error("shutdown: results not written before the timeout", "lost", n)
	}
}

// write decides the live state of the batch's monitors (once per item) and
// writes results, rollups and states in one transaction. It reports
// success; on failure the batch is kept for the next try.
func (b *batcher) write(ctx context.Context, batch []item) bool {
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := b.decide(wctx, batch); err != nil {
		// Redis is down: results still go to PostgreSQL; the monitors'
		// status catches up with their next results. Logged once in a
		// while, not for every batch of an outage.
		if now := time.Now(); now.Sub(b.decideWarned) >= 10*time.Second {
			b.logger.WarnContext(ctx, "decide live state (results are still written)", "err", err)
			b.decideWarned = now
		}
	}
	results := make([]store.Result, len(batch))
	latest := make(map[int64]int, len(batch))
	for i := range batch {
		results[i] = batch[i].result
		if j, ok := latest[results[i].MonitorID]; !ok || results[i].Time.After(results[j].Time) {
			latest[results[i].MonitorID] = i
		}
	}
	states := make([]store.State, 0, len(latest))
	for _, i := range latest {
		it := &batch[i]
		if it.live == nil {
			continue
		}
		r := &it.result
		states = append(states, store.State{
			MonitorID: r.MonitorID, Status: monitor.Status(it.live.Status), StatusSince: it.live.Since,
			LastCheckAt: r.Time, LastOK: r.OK, LastDegraded: r.Degraded, LastStatusCode: r.StatusCode, LastLatencyMS: r.LatencyMS,
			LastError: r.Error, ConsecutiveFailures: it.live.ConsecutiveFailures,
			ConsecutiveSuccesses: it.live.ConsecutiveSuccesses,
		})
	}
	if err := b.store.WriteBatch(wctx, results, states); err != nil {
		b.metrics.writeErrors.Inc()
		b.logger.ErrorContext(ctx, "write results (will retry)", "err", err, "results", len(batch), "buffered", b.pending())
		return false
	}
	now := b.now()
	for i := range batch {
		b.metrics.endToEnd.Observe(now.Sub(batch[i].due).Seconds())
	}
	b.metrics.resultsWritten.Add(float64(len(batch)))
	b.metrics.batchesWritten.Inc()
	b.mu.Lock()
	b.inflight = 0
	b.metrics.buffered.Set(float64(len(b.buf)))
	b.mu.Unlock()
	return true
}

// decide applies the batch's results to the live states in Redis, seeding
// from PostgreSQL the states Redis has lost.
func (b *batcher) decide(ctx context.Context, batch []item) error {
	var idx []int
	for i := range batch {
		if batch[i].live == nil {
			idx = append(idx, i)
		}
	}
	for attempt := 0; len(idx) > 0 && attempt < 2; attempt++ {
		obs := make([]schedule.Observation, len(idx))
		for k, i := range idx {
			r := &batch[i].result
			obs[k] = schedule.Observation{MonitorID: r.MonitorID, Time: r.Time, OK: r.OK, Degraded: r.Degraded}
		}
		live, err := b.sched.ApplyStates(ctx, obs)
		if err != nil {
			return err
		}
		var missing []int
		var ids []int64
		for k, i := range idx {
			if live[k].Missing {
				missing = append(missing, i)
				ids = append(ids, batch[i].result.MonitorID)
				continue
			}
			batch[i].live = &live[k]
		}
		if len(missing) == 0 {
			return nil
		}
		if err := b.seed(ctx, ids); err != nil {
			return err
		}
		idx = missing
	}
	return nil
}

func (b *batcher) seed(ctx context.Context, ids []int64) error {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	stored, err := b.store.States(ctx, ids)
	if err != nil {
		return err
	}
	byID := make(map[int64]store.State, len(stored))
	for _, st := range stored {
		byID[st.MonitorID] = st
	}
	seeds := make([]schedule.SeedState, len(ids))
	for i, id := range ids {
		st, ok := byID[id]
		seeds[i] = schedule.SeedState{MonitorID: id}
		if ok {
			seeds[i] = schedule.SeedState{MonitorID: id, Status: string(st.Status), Since: st.StatusSince,
				LastCheck: st.LastCheckAt, ConsecutiveFailures: st.ConsecutiveFailures,
				ConsecutiveSuccesses: st.ConsecutiveSuccesses}
		}
	}
	_, err = b.sched.Seed(ctx, seeds)
	return err
}
