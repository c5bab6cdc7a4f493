// Package schedule is Pinguin's Redis layer: the schedule of due monitors,
// the work list, the live state of monitors, and the channel that tells
// workers a monitor changed. It is the only package that speaks Redis.
//
// Every key starts with the configured prefix written as a hash tag,
// {prefix}, so that all keys a Lua script touches live in one Redis Cluster
// slot. Everything here is derived state (DESIGN.md invariant 1): the
// scheduler's reconcile loop rebuilds the schedule from PostgreSQL, and the
// worker reseeds live state from PostgreSQL, after Redis loses its data.
package schedule

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed dispatch.lua
	dispatchSource string
	//go:embed upsert.lua
	upsertSource string
	//go:embed ack.lua
	ackSource string
	//go:embed state.lua
	stateSource string
	//go:embed seed.lua
	seedSource string

	dispatchScript = redis.NewScript(dispatchSource)
	upsertScript   = redis.NewScript(upsertSource)
	ackScript      = redis.NewScript(ackSource)
	stateScript    = redis.NewScript(stateSource)
	seedScript     = redis.NewScript(seedSource)
)

// Keys are the Redis keys of one Pinguin installation.
type Keys struct {
	Schedule   string // sorted set: monitor id -> next due time (Unix ms)
	Intervals  string // hash: monitor id -> interval (ms)
	Pending    string // hash: monitor id -> due time of its queued job
	Queue      string // list of jobs
	States     string // hash: monitor id -> live state
	Changes    string // pub/sub channel: ids of changed monitors
	Pings      string // list of heartbeat pings waiting for a worker
	PingStarts string // hash: monitor id -> time of its last /start ping
	prefix     string
}

// NewKeys builds the keys under prefix.
func NewKeys(prefix string) Keys {
	p := "{" + prefix + "}:"
	return Keys{
		Schedule:   p + "schedule",
		Intervals:  p + "intervals",
		Pending:    p + "pending",
		Queue:      p + "queue",
		States:     p + "states",
		Changes:    p + "changes",
		Pings:      p + "pings",
		PingStarts: p + "ping-starts",
		prefix:     p,
	}
}

// Lock is the key of a named lock.
func (k Keys) Lock(name string) string { return k.prefix + "lock:" + name }

// Schedule talks to Redis on behalf of the api, scheduler and worker.
type Schedule struct {
	client redis.UniversalClient
	keys   Keys
	// offset draws the first due offset of a monitor in [0, interval).
	offset func(interval time.Duration) time.Duration
}

// New returns a Schedule on client under prefix.
func New(client redis.UniversalClient, prefix string) *Schedule {
	return &Schedule{
		client: client,
		keys:   NewKeys(prefix),
		offset: func(iv time.Duration) time.Duration { return rand.N(iv) },
	}
}

// Keys returns the keys the schedule uses.
func (s *Schedule) Keys() Keys { return s.keys }

// Client returns the Redis client.
func (s *Schedule) Client() redis.UniversalClient { return s.client }

// Open connects to the Redis at url (redis:// or rediss://).
func Open(url string) (redis.UniversalClient, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	return redis.NewClient(opts), nil
}

// Ping checks that Redis answers.
func (s *Schedule) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// Entry is a monitor as the schedule knows it.
type Entry struct {
	ID       int64
	Interval time.Duration
	// FirstDue, when not zero, is how long after now a monitor new to the
	// schedule is first due (a heartbeat's deadline); zero spreads it at
	// random over one interval.
	FirstDue time.Duration
}

// Upsert schedules monitors, or changes their interval. A monitor already
// scheduled at its interval keeps its due time; others are first due at a
// random point within one interval from now. It returns how many were set.
func (s *Schedule) Upsert(ctx context.Context, now time.Time, entries []Entry) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	args := make([]any, 0, 1+3*len(entries))
	args = append(args, ms(now))
	for _, e := range entries {
		first := e.FirstDue
		if first <= 0 {
			first = s.offset(e.Interval)
		}
		args = append(args, e.ID, e.Interval.Milliseconds(), first.Milliseconds())
	}
	n, err := upsertScript.Run(ctx, s.client, []string{s.keys.Schedule, s.keys.Intervals}, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("upsert schedule: %w", err)
	}
	return n, nil
}

// Remove takes monitors off the schedule and forgets their pending jobs
// and live state.
func (s *Schedule) Remove(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	members := make([]any, len(ids))
	fields := make([]string, len(ids))
	for i, id := range ids {
		members[i] = id
		fields[i] = strconv.FormatInt(id, 10)
	}
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, s.keys.Schedule, members...)
		p.HDel(ctx, s.keys.Intervals, fields...)
		p.HDel(ctx, s.keys.Pending, fields...)
		// The live state too: a monitor resumed later starts afresh.
		p.HDel(ctx, s.keys.States, fields...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove from schedule: %w", err)
	}
	return nil
}

// ScheduledIDs calls fn with the ids of scheduled monitors, a page at a time.
func (s *Schedule) ScheduledIDs(ctx context.Context, fn func([]int64) error) error {
	var cursor uint64
	for {
		keys, next, err := s.client.HScan(ctx, s.keys.Intervals, cursor, "", 1000).Result()
		if err != nil {
			return fmt.Errorf("scan intervals: %w", err)
		}
		ids := make([]int64, 0, len(keys)/2)
		for i := 0; i < len(keys); i += 2 {
			id, err := strconv.ParseInt(keys[i], 10, 64)
			if err != nil {
				return fmt.Errorf("scan intervals: bad monitor id %q", keys[i])
			}
			ids = append(ids, id)
		}
		if len(ids) > 0 {
			if err := fn(ids); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// DispatchResult counts what one dispatch call did.
type DispatchResult struct {
	Enqueued int // jobs pushed onto the work list
	Skipped  int // due monitors whose previous job was still queued
	Removed  int // ids on the schedule without an interval (stale entries)
}

// Dispatch claims up to limit monitors due at now, reschedules them and
// enqueues their jobs, in one atomic script.
func (s *Schedule) Dispatch(ctx context.Context, now time.Time, limit int) (DispatchResult, error) {
	keys := []string{s.keys.Schedule, s.keys.Intervals, s.keys.Pending, s.keys.Queue}
	vals, err := dispatchScript.Run(ctx, s.client, keys, ms(now), limit).Int64Slice()
	if err != nil {
		return DispatchResult{}, fmt.Errorf("dispatch: %w", err)
	}
	if len(vals) != 3 {
		return DispatchResult{}, fmt.Errorf("dispatch: script returned %d values, want 3", len(vals))
	}
	return DispatchResult{Enqueued: int(vals[0]), Skipped: int(vals[1]), Removed: int(vals[2])}, nil
}

// Job is one check to run: a monitor and the due time it was claimed for.
type Job struct {
	MonitorID int64
	Due       time.Time
	Interval  time.Duration
	due       string // as written in the queue, for the ack
}

func parseJob(s string) (Job, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Job{}, fmt.Errorf("malformed job %q", s)
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	due, err2 := strconv.ParseInt(parts[1], 10, 64)
	iv, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return Job{}, fmt.Errorf("malformed job %q: %w", s, err)
	}
	return Job{MonitorID: id, Due: time.UnixMilli(due), Interval: time.Duration(iv) * time.Millisecond, due: parts[1]}, nil
}

// Pop takes up to max jobs off the work list, waiting up to timeout for the
// first, and clears their pending markers. It returns no jobs and no error
// when the wait ends empty. A malformed job is dropped and reported in bad.
func (s *Schedule) Pop(ctx context.Context, max int, timeout time.Duration) (jobs []Job, bad int, err error) {
	_, vals, err := s.client.BLMPop(ctx, timeout, "RIGHT", int64(max), s.keys.Queue).Result()
	if errors.Is(err, redis.Nil) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("pop jobs: %w", err)
	}
	jobs = make([]Job, 0, len(vals))
	args := make([]any, 0, 2*len(vals))
	for _, v := range vals {
		j, err := parseJob(v)
		if err != nil {
			bad++
			continue
		}
		jobs = append(jobs, j)
		args = append(args, j.MonitorID, j.due)
	}
	if len(args) > 0 {
		if err := ackScript.Run(ctx, s.client, []string{s.keys.Pending}, args...).Err(); err != nil {
			// The jobs are ours; a marker left behind only delays the
			// monitor's next job until the marker is two intervals old.
			return jobs, bad, fmt.Errorf("clear pending markers: %w", err)
		}
	}
	return jobs, bad, nil
}

// Sizes reports the length of the work list and of the schedule.
func (s *Schedule) Sizes(ctx context.Context) (queued, scheduled int64, err error) {
	pipe := s.client.Pipeline()
	q := pipe.LLen(ctx, s.keys.Queue)
	z := pipe.ZCard(ctx, s.keys.Schedule)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, 0, fmt.Errorf("read queue sizes: %w", err)
	}
	return q.Val(), z.Val(), nil
}

// Due returns the due time of a monitor and whether it is scheduled.
func (s *Schedule) Due(ctx context.Context, id int64) (time.Time, bool, error) {
	score, err := s.client.ZScore(ctx, s.keys.Schedule, strconv.FormatInt(id, 10)).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read due time: %w", err)
	}
	return time.UnixMilli(int64(score)), true, nil
}

// TryLock takes a named lock for ttl if nobody holds it.
func (s *Schedule) TryLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	ok, err := s.client.SetNX(ctx, s.keys.Lock(name), owner, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("take lock %s: %w", name, err)
	}
	return ok, nil
}

// PublishChange tells workers that a monitor's configuration changed.
func (s *Schedule) PublishChange(ctx context.Context, id int64) error {
	if err := s.client.Publish(ctx, s.keys.Changes, id).Err(); err != nil {
		return fmt.Errorf("publish monitor change: %w", err)
	}
	return nil
}

// SubscribeChanges calls fn with the id of every monitor said to have
// changed, until ctx ends. go-redis reconnects by itself after a Redis
// restart; onReconnect (may be nil) is then called, since changes published
// while the subscription was down were missed.
func (s *Schedule) SubscribeChanges(ctx context.Context, fn func(id int64), onReconnect func()) {
	sub := s.client.Subscribe(ctx, s.keys.Changes)
	// Receive blocks on the socket regardless of ctx: closing the
	// subscription is what ends it.
	stop := context.AfterFunc(ctx, func() { _ = sub.Close() })
	defer func() {
		if stop() {
			_ = sub.Close()
		}
	}()
	first := true
	for {
		msg, err := sub.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// go-redis reconnects on the next Receive; wait a little so a
			// Redis outage is not a busy loop.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if !first && onReconnect != nil {
				onReconnect()
			}
			first = false
		case *redis.Message:
			if id, err := strconv.ParseInt(m.Payload, 10, 64); err == nil {
				fn(id)
			}
		}
	}
}
