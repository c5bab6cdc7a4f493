package bench

import (
	"fmt"
	"strconv"
	"time"
)

// knobs are the load's size and length, from PINGUIN_BENCH_* variables.
type knobs struct {
	monitors int           // PINGUIN_BENCH_MONITORS: monitors inserted with COPY
	interval time.Duration // PINGUIN_BENCH_INTERVAL: every monitor's interval
	duration time.Duration // PINGUIN_BENCH_DURATION: the measured window
	workers  int           // PINGUIN_BENCH_WORKERS: worker processes
}

// knobsFrom reads the knobs through getenv (os.Getenv), with defaults for
// the unset ones.
func knobsFrom(getenv func(string) string) (knobs, error) {
	k := knobs{monitors: 10000, interval: 10 * time.Second, duration: 60 * time.Second, workers: 1}
	var err error
	if k.monitors, err = intKnob(getenv, "PINGUIN_BENCH_MONITORS", k.monitors, 1, 1_000_000); err != nil {
		return k, err
	}
	if k.workers, err = intKnob(getenv, "PINGUIN_BENCH_WORKERS", k.workers, 1, 64); err != nil {
		return k, err
	}
	if k.interval, err = durationKnob(getenv, "PINGUIN_BENCH_INTERVAL", k.interval); err != nil {
		return k, err
	}
	if k.interval%time.Second != 0 || k.interval > 24*time.Hour {
		return k, fmt.Errorf("PINGUIN_BENCH_INTERVAL=%s: must be whole seconds, at most 24h", k.interval)
	}
	if k.duration, err = durationKnob(getenv, "PINGUIN_BENCH_DURATION", k.duration); err != nil {
		return k, err
	}
	return k, nil
}

func intKnob(getenv func(string) string, name string, def, low, high int) (int, error) {
	s := getenv(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < low || n > high {
		return 0, fmt.Errorf("%s=%q: want a whole number from %d to %d", name, s, low, high)
	}
	return n, nil
}

// durationKnob reads a Go duration ("90s", "2m"); a bare number is seconds.
func durationKnob(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	s := getenv(name)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.Atoi(s)
		if nerr != nil {
			return 0, fmt.Errorf("%s=%q: want a duration such as 10s or 2m", name, s)
		}
		d = time.Duration(n) * time.Second
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s=%q: must be positive", name, s)
	}
	return d, nil
}
