package schedule_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pinguin-dev/pinguin/internal/schedule"
	"github.com/pinguin-dev/pinguin/internal/testenv"
)

func setup(t *testing.T) *schedule.Schedule {
	t.Helper()
	t.Parallel()
	client, prefix := testenv.Redis(t)
	return schedule.New(client, prefix)
}

var t0 = time.UnixMilli(1_800_000_000_000)

func TestUpsertSpreadsFirstDueOverInterval(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	var entries []schedule.Entry
	for i := range 1000 {
		entries = append(entries, schedule.Entry{ID: int64(i + 1), Interval: 10 * time.Second})
	}
	if n, err := s.Upsert(ctx, t0, entries); err != nil || n != 1000 {
		t.Fatalf("upsert = %d, %v", n, err)
	}
	seconds := map[int64]int{}
	for _, e := range entries {
		due, ok, err := s.Due(ctx, e.ID)
		if err != nil || !ok {
			t.Fatalf("due of %d: %v %v", e.ID, ok, err)
		}
		off := due.Sub(t0)
		if off < 0 || off >= 10*time.Second {
			t.Fatalf("first due of %d is %s after now, want within the interval", e.ID, off)
		}
		seconds[int64(off/time.Second)]++
	}
	// Spread: every second of the interval gets some of them.
	if len(seconds) != 10 {
		t.Fatalf("first due times fall in %d distinct seconds, want 10: %v", len(seconds), seconds)
	}
	// Same interval again: due times stay.
	if n, err := s.Upsert(ctx, t0.Add(time.Second), entries[:10]); err != nil || n != 0 {
		t.Fatalf("repeated upsert set %d (%v), want 0", n, err)
	}
}

func TestDispatchCadenceAndBoundedQueue(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	iv := 10 * time.Second
	if _, err := s.Upsert(ctx, t0, []schedule.Entry{{ID: 7, Interval: iv}}); err != nil {
		t.Fatal(err)
	}
	due, _, _ := s.Due(ctx, 7)

	r, err := s.Dispatch(ctx, due.Add(300*time.Millisecond), 100)
	if err != nil || r.Enqueued != 1 {
		t.Fatalf("dispatch = %+v, %v; want one job", r, err)
	}
	next, _, _ := s.Due(ctx, 7)
	if !next.Equal(due.Add(iv)) {
		t.Fatalf("next due %s, want previous due + interval %s (no drift)", next, due.Add(iv))
	}
	// Nobody popped the job: the next due time does not enqueue a second one.
	r, err = s.Dispatch(ctx, next, 100)
	if err != nil || r.Enqueued != 0 || r.Skipped != 1 {
		t.Fatalf("dispatch while queued = %+v, %v; want skipped", r, err)
	}
	queued, _, _ := s.Sizes(ctx)
	if queued != 1 {
		t.Fatalf("queue holds %d jobs, want 1", queued)
	}
	jobs, bad, err := s.Pop(ctx, 10, time.Second)
	if err != nil || bad != 0 || len(jobs) != 1 || jobs[0].MonitorID != 7 || !jobs[0].Due.Equal(due) || jobs[0].Interval != iv {
		t.Fatalf("pop = %+v, %d, %v", jobs, bad, err)
	}
	// Popped: the next due time enqueues again.
	next, _, _ = s.Due(ctx, 7)
	if r, err = s.Dispatch(ctx, next, 100); err != nil || r.Enqueued != 1 {
		t.Fatalf("dispatch after pop = %+v, %v", r, err)
	}
	// Missed slots are skipped, not replayed: an hour later, one job and
	// the next due time stays on the cadence.
	if _, _, err := s.Pop(ctx, 10, time.Second); err != nil {
		t.Fatal(err)
	}
	next, _, _ = s.Due(ctx, 7)
	late := next.Add(time.Hour + 2500*time.Millisecond)
	if r, err = s.Dispatch(ctx, late, 100); err != nil || r.Enqueued != 1 {
		t.Fatalf("late dispatch = %+v, %v", r, err)
	}
	after, _, _ := s.Due(ctx, 7)
	if !after.After(late) || after.Sub(late) > iv || after.Sub(next)%iv != 0 {
		t.Fatalf("due after a missed hour = %s, want the next slot after %s on the cadence", after, late)
	}
}

func TestLostJobDoesNotBlockMonitor(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	iv := time.Second
	if _, err := s.Upsert(ctx, t0, []schedule.Entry{{ID: 1, Interval: iv}}); err != nil {
		t.Fatal(err)
	}
	due, _, _ := s.Due(ctx, 1)
	if r, _ := s.Dispatch(ctx, due, 10); r.Enqueued != 1 {
		t.Fatalf("first dispatch = %+v", r)
	}
	// A worker pops the job with BLMPOP and dies before clearing the
	// marker: simulate by removing the job from the list only.
	if err := s.Client().Del(ctx, s.Keys().Queue).Err(); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Dispatch(ctx, due.Add(iv), 10); r.Enqueued != 0 {
		t.Fatalf("dispatch one interval later = %+v, want still blocked", r)
	}
	// Two intervals after the lost job's due time its marker no longer
	// blocks: the monitor is enqueued again.
	if r, _ := s.Dispatch(ctx, due.Add(2*iv+time.Millisecond), 10); r.Enqueued != 1 {
		t.Fatalf("dispatch two intervals later = %+v, want enqueued", r)
	}
}

func TestConcurrentDispatchClaimsEachDueTimeOnce(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	var entries []schedule.Entry
	for i := range 2000 {
		entries = append(entries, schedule.Entry{ID: int64(i + 1), Interval: time.Second})
	}
	if _, err := s.Upsert(ctx, t0, entries); err != nil {
		t.Fatal(err)
	}
	// Two schedulers call dispatch at once, repeatedly, as time advances;
	// between rounds a worker drains the queue.
	seen := map[string]int{}
	for round := range 5 {
		now := t0.Add(time.Duration(round+1) * time.Second)
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for range 10 {
					if _, err := s.Dispatch(ctx, now, 300); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		for {
			jobs, _, err := s.Pop(ctx, 1000, 10*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) == 0 {
				break
			}
			for _, j := range jobs {
				seen[j.Due.String()+"/"+time.Duration(j.MonitorID).String()]++
			}
		}
	}
	if len(seen) != 5*2000 {
		t.Fatalf("%d distinct (monitor, due) jobs, want %d", len(seen), 5*2000)
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("job %s dispatched %d times", k, n)
		}
	}
}

func TestRemoveAndUnknownIDs(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	if _, err := s.Upsert(ctx, t0, []schedule.Entry{{ID: 1, Interval: time.Second}, {ID: 2, Interval: time.Second}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Due(ctx, 1); ok {
		t.Fatal("removed monitor still scheduled")
	}
	// An id on the schedule without an interval is dropped by dispatch.
	if err := s.Client().ZAdd(ctx, s.Keys().Schedule, redisZ(3, t0)).Err(); err != nil {
		t.Fatal(err)
	}
	r, err := s.Dispatch(ctx, t0.Add(2*time.Second), 100)
	if err != nil || r.Enqueued != 1 || r.Removed != 1 {
		t.Fatalf("dispatch = %+v, %v; want 1 enqueued, 1 removed", r, err)
	}
	var ids []int64
	if err := s.ScheduledIDs(ctx, func(page []int64) error { ids = append(ids, page...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != 2 {
		t.Fatalf("scheduled ids = %v, want [2]", ids)
	}
}

func TestMalformedJobIsDropped(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	if err := s.Client().LPush(ctx, s.Keys().Queue, "garbage", "5:1000:2000").Err(); err != nil {
		t.Fatal(err)
	}
	jobs, bad, err := s.Pop(ctx, 10, time.Second)
	if err != nil || bad != 1 || len(jobs) != 1 || jobs[0].MonitorID != 5 {
		t.Fatalf("pop = %+v, bad %d, %v", jobs, bad, err)
	}
}

func TestLiveState(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	obs := []schedule.Observation{{MonitorID: 1, Time: t0, OK: true}}
	st, err := s.ApplyStates(ctx, obs)
	if err != nil || len(st) != 1 || !st[0].Missing {
		t.Fatalf("apply without state = %+v, %v; want missing", st, err)
	}
	if n, err := s.Seed(ctx, []schedule.SeedState{{MonitorID: 1}}); err != nil || n != 1 {
		t.Fatalf("seed = %d, %v", n, err)
	}
	steps := []struct {
		name      string
		at        time.Time
		ok        bool
		status    string
		since     time.Time
		failures  int
		successes int
		applied   bool
	}{
		{"first success", t0, true, "up", t0, 0, 1, true},
		{"second success", t0.Add(time.Second), true, "up", t0, 0, 2, true},
		{"failure", t0.Add(2 * time.Second), false, "down", t0.Add(2 * time.Second), 1, 0, true},
		{"older result ignored", t0.Add(time.Second), true, "down", t0.Add(2 * time.Second), 1, 0, false},
		{"second failure", t0.Add(3 * time.Second), false, "down", t0.Add(2 * time.Second), 2, 0, true},
		{"recovery", t0.Add(4 * time.Second), true, "up", t0.Add(4 * time.Second), 0, 1, true},
	}
	degradedSteps := []struct {
		at       time.Time
		degraded bool
		status   string
		since    time.Time
	}{
		{t0.Add(5 * time.Second), true, "degraded", t0.Add(5 * time.Second)},
		{t0.Add(6 * time.Second), true, "degraded", t0.Add(5 * time.Second)},
		{t0.Add(7 * time.Second), false, "up", t0.Add(7 * time.Second)},
	}
	for _, step := range steps {
		st, err := s.ApplyStates(ctx, []schedule.Observation{{MonitorID: 1, Time: step.at, OK: step.ok}})
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got := st[0]
		if got.Status != step.status || !got.Since.Equal(step.since) || got.ConsecutiveFailures != step.failures ||
			got.ConsecutiveSuccesses != step.successes || got.Applied != step.applied {
			t.Fatalf("%s: state = %+v", step.name, got)
		}
	}
	for _, step := range degradedSteps {
		st, err := s.ApplyStates(ctx, []schedule.Observation{{MonitorID: 1, Time: step.at, OK: true, Degraded: step.degraded}})
		if err != nil || st[0].Status != step.status || !st[0].Since.Equal(step.since) {
			t.Fatalf("degraded=%v at %s: %+v, %v; want %s since %s", step.degraded, step.at, st, err, step.status, step.since)
		}
	}
	// Seeding never overwrites a state that exists.
	if n, err := s.Seed(ctx, []schedule.SeedState{{MonitorID: 1, Status: "down", Since: t0, LastCheck: t0}}); err != nil || n != 0 {
		t.Fatalf("seed over existing = %d, %v", n, err)
	}
	// Seed from PostgreSQL's view keeps status_since across a Redis loss.
	seed := schedule.SeedState{MonitorID: 2, Status: "down", Since: t0, LastCheck: t0.Add(time.Minute), ConsecutiveFailures: 4}
	if _, err := s.Seed(ctx, []schedule.SeedState{seed}); err != nil {
		t.Fatal(err)
	}
	st, err = s.ApplyStates(ctx, []schedule.Observation{{MonitorID: 2, Time: t0.Add(2 * time.Minute), OK: false}})
	if err != nil || st[0].Status != "down" || !st[0].Since.Equal(t0) || st[0].ConsecutiveFailures != 5 {
		t.Fatalf("after seed = %+v, %v", st, err)
	}
}
