package schedule

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Observation is one check result as the live state needs it.
type Observation struct {
	MonitorID int64
	Time      time.Time
	OK        bool
	Degraded  bool // OK but not healthy
}

// LiveState is a monitor's live state after an observation.
type LiveState struct {
	Status               string // "up", "degraded" or "down"
	Since                time.Time
	ConsecutiveFailures  int
	ConsecutiveSuccesses int
	// Applied is false when the observation was not newer than the state's
	// last one and changed nothing.
	Applied bool
	// Missing is true when Redis held no state for the monitor: the caller
	// seeds it (Seed) and applies the observation again.
	Missing bool
}

// ApplyStates folds observations, in order, into the live states of their
// monitors with one atomic script call, and returns one LiveState each.
func (s *Schedule) ApplyStates(ctx context.Context, obs []Observation) ([]LiveState, error) {
	if len(obs) == 0 {
		return nil, nil
	}
	args := make([]any, 0, 4*len(obs))
	for _, o := range obs {
		args = append(args, o.MonitorID, o.Time.UnixMilli(), flag(o.OK), flag(o.OK && o.Degraded))
	}
	vals, err := stateScript.Run(ctx, s.client, []string{s.keys.States}, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("apply states: %w", err)
	}
	if len(vals) != 5*len(obs) {
		return nil, fmt.Errorf("apply states: script returned %d values, want %d", len(vals), 5*len(obs))
	}
	out := make([]LiveState, len(obs))
	for i := range out {
		v := vals[5*i : 5*i+5]
		status, ok1 := v[0].(string)
		since, ok2 := v[1].(int64)
		failures, ok3 := v[2].(int64)
		successes, ok4 := v[3].(int64)
		flag, ok5 := v[4].(int64)
		if !(ok1 && ok2 && ok3 && ok4 && ok5) {
			return nil, fmt.Errorf("apply states: unexpected reply %v", v)
		}
		out[i] = LiveState{
			Status: status, Since: time.UnixMilli(since),
			ConsecutiveFailures: int(failures), ConsecutiveSuccesses: int(successes),
			Applied: flag == 1, Missing: flag == -1,
		}
	}
	return out, nil
}

// SeedState is what PostgreSQL last stored of a monitor's state; a zero
// LastCheck means the monitor was never checked.
type SeedState struct {
	MonitorID            int64
	Status               string
	Since                time.Time
	LastCheck            time.Time
	ConsecutiveFailures  int
	ConsecutiveSuccesses int
}

// Seed stores live states for monitors that have none in Redis; existing
// states are left alone. It returns how many were seeded.
func (s *Schedule) Seed(ctx context.Context, states []SeedState) (int, error) {
	if len(states) == 0 {
		return 0, nil
	}
	args := make([]any, 0, 2*len(states))
	for _, st := range states {
		status, since, last := st.Status, int64(0), int64(0)
		if st.LastCheck.IsZero() {
			status = "pending"
		} else {
			since, last = st.Since.UnixMilli(), st.LastCheck.UnixMilli()
		}
		args = append(args, st.MonitorID, status+","+strconv.FormatInt(since, 10)+","+strconv.FormatInt(last, 10)+","+
			strconv.Itoa(st.ConsecutiveFailures)+","+strconv.Itoa(st.ConsecutiveSuccesses))
	}
	n, err := seedScript.Run(ctx, s.client, []string{s.keys.States}, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("seed states: %w", err)
	}
	return n, nil
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
