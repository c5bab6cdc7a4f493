package store

import "math"

// latencyBounds are the upper bounds, in milliseconds, of the latency
// histogram kept in rollups: roughly ×1.5 apart, so an estimate from it is
// within about a quarter of the true value. One more bucket holds
// everything above the last bound. Changing them needs a migration that
// rewrites check_rollups_hourly.latency_hist.
var latencyBounds = []float64{
	1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700,
	1000, 1500, 2000, 3000, 5000, 7000, 10000, 15000, 20000, 30000, 60000,
}

// histBuckets is the length of a latency histogram.
var histBuckets = len(latencyBounds) + 1

// histIndex returns the histogram bucket of a latency.
func histIndex(ms float64) int {
	lo, hi := 0, len(latencyBounds)
	for lo < hi {
		mid := (lo + hi) / 2
		if ms <= latencyBounds[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// aggregate accumulates checks into the figures a rollup stores.
type aggregate struct {
	Checks     int64
	Failures   int64
	Degraded   int64 // successful checks that were degraded
	LatencySum float64
	Min, Max   float64 // of successful checks; valid when Checks > Failures
	Hist       []int64
	// Checks made during maintenance, and how many of them failed; they
	// are counted in Checks and Failures too.
	Maintenance, MaintenanceFailures int64
}

func (a *aggregate) add(ok, degraded bool, latencyMS float64) {
	a.Checks++
	if !ok {
		a.Failures++
		return
	}
	if degraded {
		a.Degraded++
	}
	a.addLatency(latencyMS)
}

func (a *aggregate) addLatency(ms float64) {
	if a.Hist == nil {
		a.Hist = make([]int64, histBuckets)
	}
	if a.successes() == 1 || ms < a.Min {
		a.Min = ms
	}
	if a.successes() == 1 || ms > a.Max {
		a.Max = ms
	}
	a.LatencySum += ms
	a.Hist[histIndex(ms)]++
}

func (a *aggregate) successes() int64 { return a.Checks - a.Failures }

// merge adds b's figures into a.
func (a *aggregate) merge(b *aggregate) {
	if b.successes() > 0 {
		if a.successes() == 0 || b.Min < a.Min {
			a.Min = b.Min
		}
		if a.successes() == 0 || b.Max > a.Max {
			a.Max = b.Max
		}
	}
	a.Checks += b.Checks
	a.Failures += b.Failures
	a.Degraded += b.Degraded
	a.LatencySum += b.LatencySum
	if len(b.Hist) > 0 {
		if a.Hist == nil {
			a.Hist = make([]int64, histBuckets)
		}
		for i, n := range b.Hist {
			if i < len(a.Hist) {
				a.Hist[i] += n
			}
		}
	}
}

// quantile estimates the q-quantile of successful checks' latency from the
// histogram: it finds the bucket holding the rank and interpolates linearly
// inside it, clamped to the observed min and max. NaN without successes.
func (a *aggregate) quantile(q float64) float64 {
	n := a.successes()
	if n <= 0 || len(a.Hist) == 0 {
		return math.NaN()
	}
	rank := q * float64(n)
	var seen float64
	for i, c := range a.Hist {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo, hi := a.Min, a.Max
			if i > 0 {
				lo = max(lo, latencyBounds[i-1])
			}
			if i < len(latencyBounds) {
				hi = min(hi, latencyBounds[i])
			}
			if hi < lo {
				return lo
			}
			return lo + (hi-lo)*(rank-seen)/float64(c)
		}
		seen += float64(c)
	}
	return a.Max
}
