package schedule

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed ping.lua
	pingSource string
	pingScript = redis.NewScript(pingSource)
)

// Kinds of heartbeat ping.
const (
	PingStart = "start" // the job started; the next ok ping measures its run
	PingOK    = "ok"    // the job ran fine
	PingFail  = "fail"  // the job reported a failure
)

// MaxQueuedPings bounds the pings waiting for a worker; beyond it the
// oldest are dropped (and the api counts it).
const MaxQueuedPings = 100000

// ErrPingsDropped is returned when the ping was recorded but older ones
// were dropped because no worker has taken them for a long time.
var ErrPingsDropped = errors.New("ping queue full: older pings dropped")

// SetDue puts a monitor on the schedule at an exact due time: heartbeat
// monitors are due at their deadline.
func (s *Schedule) SetDue(ctx context.Context, id int64, interval time.Duration, due time.Time) error {
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.keys.Intervals, strconv.FormatInt(id, 10), interval.Milliseconds())
		p.ZAdd(ctx, s.keys.Schedule, redis.Z{Member: id, Score: float64(due.UnixMilli())})
		return nil
	})
	if err != nil {
		return fmt.Errorf("set due time: %w", err)
	}
	return nil
}

// RecordPing records a heartbeat ping at now: a start, or an ok or fail that
// moves the deadline to next. It returns the run's duration (since the
// last start ping; zero without one).
func (s *Schedule) RecordPing(ctx context.Context, id int64, now time.Time, kind string, next time.Time, interval time.Duration) (time.Duration, error) {
	keys := []string{s.keys.Schedule, s.keys.Intervals, s.keys.Pings, s.keys.PingStarts}
	ms, err := pingScript.Run(ctx, s.client, keys, id, now.UnixMilli(), kind, next.UnixMilli(),
		interval.Milliseconds(), MaxQueuedPings).Int64()
	if err != nil {
		return 0, fmt.Errorf("record ping: %w", err)
	}
	if ms < 0 {
		return 0, ErrPingsDropped
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Ping is a heartbeat ping waiting to be stored.
type Ping struct {
	MonitorID int64
	Time      time.Time
	Kind      string // PingOK or PingFail
	Duration  time.Duration
}

// PopPings takes up to max pings, waiting up to timeout for the first.
func (s *Schedule) PopPings(ctx context.Context, max int, timeout time.Duration) ([]Ping, error) {
	_, vals, err := s.client.BLMPop(ctx, timeout, "RIGHT", int64(max), s.keys.Pings).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pop pings: %w", err)
	}
	out := make([]Ping, 0, len(vals))
	for _, v := range vals {
		parts := strings.Split(v, ":")
		if len(parts) != 4 {
			continue
		}
		id, err1 := strconv.ParseInt(parts[0], 10, 64)
		at, err2 := strconv.ParseInt(parts[1], 10, 64)
		dur, err3 := strconv.ParseInt(parts[3], 10, 64)
		if errors.Join(err1, err2, err3) != nil {
			continue
		}
		out = append(out, Ping{MonitorID: id, Time: time.UnixMilli(at), Kind: parts[2], Duration: time.Duration(dur) * time.Millisecond})
	}
	return out, nil
}
