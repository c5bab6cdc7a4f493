package worker

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	checks         *prometheus.CounterVec
	skippedJobs    *prometheus.CounterVec
	staleJobs      prometheus.Counter
	badJobs        prometheus.Counter
	inFlight       prometheus.Gauge
	dispatchLag    prometheus.Histogram
	dispatchLagMax prometheus.Gauge
	checkDuration  prometheus.Histogram
	endToEnd       prometheus.Histogram
	resultsWritten prometheus.Counter
	batchesWritten prometheus.Counter
	resultsDropped prometheus.Counter
	writeErrors    prometheus.Counter
	buffered       prometheus.Gauge

	lagMu  sync.Mutex
	lagMax float64
}

// lagBuckets cover a millisecond to a minute.
var lagBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

func newMetrics(reg prometheus.Registerer) *metrics {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "pinguin", Subsystem: "worker", Name: name, Help: help}
	}
	hist := func(name, help string) prometheus.Histogram {
		o := opts(name, help)
		return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: o.Namespace, Subsystem: o.Subsystem,
			Name: o.Name, Help: o.Help, Buckets: lagBuckets})
	}
	m := &metrics{
		checks:         prometheus.NewCounterVec(prometheus.CounterOpts(opts("checks_total", "Checks run, by outcome.")), []string{"outcome"}),
		skippedJobs:    prometheus.NewCounterVec(prometheus.CounterOpts(opts("jobs_skipped_total", "Jobs not run, by reason.")), []string{"reason"}),
		staleJobs:      prometheus.NewCounter(prometheus.CounterOpts(opts("jobs_stale_total", "Jobs dropped because they were picked up more than one interval late."))),
		badJobs:        prometheus.NewCounter(prometheus.CounterOpts(opts("jobs_malformed_total", "Malformed jobs dropped from the work list."))),
		inFlight:       prometheus.NewGauge(prometheus.GaugeOpts(opts("checks_in_flight", "Checks running now."))),
		dispatchLag:    hist("dispatch_lag_seconds", "Time from a job's due time to its check's start."),
		dispatchLagMax: prometheus.NewGauge(prometheus.GaugeOpts(opts("dispatch_lag_max_seconds", "Largest dispatch lag seen since the worker started."))),
		checkDuration:  hist("check_duration_seconds", "Duration of checks."),
		endToEnd:       hist("end_to_end_seconds", "Time from a job's due time to its result committed in PostgreSQL."),
		resultsWritten: prometheus.NewCounter(prometheus.CounterOpts(opts("results_written_total", "Results written to PostgreSQL."))),
		batchesWritten: prometheus.NewCounter(prometheus.CounterOpts(opts("batches_written_total", "Batches (transactions) of results written to PostgreSQL."))),
		resultsDropped: prometheus.NewCounter(prometheus.CounterOpts(opts("results_dropped_total", "Results lost: buffer overflow while PostgreSQL was unreachable, or unwritten at shutdown."))),
		writeErrors:    prometheus.NewCounter(prometheus.CounterOpts(opts("write_errors_total", "Failed batch writes (retried)."))),
		buffered:       prometheus.NewGauge(prometheus.GaugeOpts(opts("results_buffered", "Results waiting to be written."))),
	}
	reg.MustRegister(m.checks, m.skippedJobs, m.staleJobs, m.badJobs, m.inFlight, m.dispatchLag, m.dispatchLagMax,
		m.checkDuration, m.endToEnd, m.resultsWritten, m.batchesWritten, m.resultsDropped, m.writeErrors, m.buffered)
	return m
}

// observeLag records one dispatch lag.
func (m *metrics) observeLag(seconds float64) {
	m.dispatchLag.Observe(seconds)
	m.lagMu.Lock()
	if seconds > m.lagMax {
		m.lagMax = seconds
		m.dispatchLagMax.Set(seconds)
	}
	m.lagMu.Unlock()
}
