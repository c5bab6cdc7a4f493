package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// Metric names read from the scheduler's and workers' /metrics.
const (
	mChecks         = "pinguin_worker_checks_total"
	mChecksDown     = `pinguin_worker_checks_total{outcome="down"}`
	mLag            = "pinguin_worker_dispatch_lag_seconds"
	mLagMax         = "pinguin_worker_dispatch_lag_max_seconds"
	mEndToEnd       = "pinguin_worker_end_to_end_seconds"
	mStale          = "pinguin_worker_jobs_stale_total"
	mWorkerSkipped  = "pinguin_worker_jobs_skipped_total"
	mWritten        = "pinguin_worker_results_written_total"
	mDropped        = "pinguin_worker_results_dropped_total"
	mSchedSkipped   = "pinguin_scheduler_jobs_skipped_total"
	mSchedEnqueued  = "pinguin_scheduler_jobs_enqueued_total"
	mDispatchErrors = "pinguin_scheduler_dispatch_errors_total"
	mWriteErrors    = "pinguin_worker_write_errors_total"
)

// cpuFigure is one line of the CPU table.
type cpuFigure struct {
	name string
	cpu  time.Duration
}

// count is a number of something about a named process.
type count struct {
	name string
	n    int
}

// memFigure is one process's peak resident memory.
type memFigure struct {
	name  string
	bytes int64
}

// report is what one load run measured.
type report struct {
	knobs        knobs
	viaAPI       int           // monitors created through the API, besides knobs.monitors
	warmUp       time.Duration // before the window
	window       time.Duration // between the two snapshots
	checks       float64       // checks run in the window
	down         float64       // of which failed
	enqueued     float64       // jobs the scheduler pushed in the window
	written      float64       // results the workers reported written
	rows         int64         // check_results rows added in the window
	lag, e2e     histogram     // observed in the window
	lagMax       float64       // seconds, over the whole run
	stale        float64
	skipped      float64 // by the scheduler: previous job still queued
	otherSkipped float64 // by workers: unknown or paused monitor
	dropped      float64
	errors       float64 // dispatch and write errors
	pinguinCPU   []cpuFigure
	redisCPU     time.Duration
	pgCPU        time.Duration
	pgVisible    bool
	pgOwnCPU     time.Duration // backends of the bench database only
	pgBgCPU      time.Duration // background processes: WAL writer, checkpointer, ...
	peak         []memFigure
	tables       []table // check_results, rollups, states at the end
	storedRows   int64   // rows in check_results at the end
	warmChecked  int64   // monitors with a state at the end of the warm-up
	logLines     []count // lines each Pinguin process logged (at warn and above)
	bare         bareResult
	bareRate     float64
	loadStart    string // host load average when the window starts
	loadEnd      string // and when it ends
}

// fill sets the figures that come from two snapshots. own and background
// are PostgreSQL's processes serving the bench database and the whole
// server (see pgProcesses).
func (r *report) fill(first, second snapshot, own, background []int) error {
	r.window = second.at.Sub(first.at)
	d := func(name string) float64 { return second.metrics.delta(first.metrics, name) }
	r.checks, r.down, r.enqueued, r.written = d(mChecks), d(mChecksDown), d(mSchedEnqueued), d(mWritten)
	r.stale, r.skipped, r.otherSkipped, r.dropped = d(mStale), d(mSchedSkipped), d(mWorkerSkipped), d(mDropped)
	r.errors = d(mDispatchErrors) + d(mWriteErrors)
	r.rows = second.rows - first.rows
	r.lagMax = second.metrics.max[mLagMax]
	var err error
	if r.lag, err = second.metrics.histDelta(first.metrics, mLag); err != nil {
		return err
	}
	if r.e2e, err = second.metrics.histDelta(first.metrics, mEndToEnd); err != nil {
		return err
	}
	for name, c := range second.cpu {
		r.pinguinCPU = append(r.pinguinCPU, cpuFigure{name, c - first.cpu[name]})
	}
	r.redisCPU = second.redisCPU - first.redisCPU
	r.pgVisible = first.pg.visible && second.pg.visible
	r.pgCPU = second.pg.total - first.pg.total
	r.pgOwnCPU = backendsCPU(first.pg, second.pg, own)
	r.pgBgCPU = backendsCPU(first.pg, second.pg, background)
	return nil
}

// expected is the check rate the schedule asks for.
func (r *report) expected() float64 {
	return float64(r.knobs.monitors+r.viaAPI) / r.knobs.interval.Seconds()
}

// rate turns a count in the window into a rate per second.
func (r *report) rate(n float64) float64 { return n / r.window.Seconds() }

// perThousand is CPU seconds per 1,000 checks.
func (r *report) perThousand(cpu time.Duration) float64 {
	if r.checks == 0 {
		return math.NaN()
	}
	return cpu.Seconds() / r.checks * 1000
}

// cpuOf sums the CPU of the Pinguin processes whose names start with prefix.
func (r *report) cpuOf(prefix string) time.Duration {
	var d time.Duration
	for _, c := range r.pinguinCPU {
		if strings.HasPrefix(c.name, prefix) {
			d += c.cpu
		}
	}
	return d
}

// totalCPU is the CPU of every Pinguin process, Redis and PostgreSQL.
func (r *report) totalCPU() time.Duration {
	return r.cpuOf("") + r.redisCPU + r.pgCPU
}

// print writes the report as one aligned table.
func (r *report) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range r.table() {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

func (r *report) table() [][2]string {
	var rows [][2]string
	add := func(label, format string, args ...any) {
		rows = append(rows, [2]string{label, fmt.Sprintf(format, args...)})
	}
	k := r.knobs
	add("PINGUIN LOAD BENCHMARK", "")
	add("monitors", "%d (COPY) + %d (POST /api/v1/monitors)", k.monitors, r.viaAPI)
	add("interval", "%s", k.interval)
	add("measured window", "%s, after %s of warm-up", r.window.Round(time.Millisecond), r.warmUp)
	add("worker processes", "%d", k.workers)
	add("host load average (1, 5, 15 min)", "%s at the window's start, %s at its end", r.loadStart, r.loadEnd)
	add("", "")
	add("monitors checked once during warm-up", "%d of %d", r.warmChecked, k.monitors+r.viaAPI)
	add("checks/s expected (monitors / interval)", "%.1f", r.expected())
	add("checks/s achieved", "%.1f (%.1f%%)", r.rate(r.checks), 100*r.rate(r.checks)/r.expected())
	add("  of which failed (down)", "%.1f", r.rate(r.down))
	add("jobs/s enqueued by the scheduler", "%.1f", r.rate(r.enqueued))
	add("result rows written/s (check_results)", "%.1f (workers report %.1f)", r.rate(float64(r.rows)), r.rate(r.written))
	add("dispatch lag p50 / p99 (due → check start)", "%s / %s", fmtSeconds(r.lag.quantile(.5)), fmtSeconds(r.lag.quantile(.99)))
	add("dispatch lag max (whole run, incl. warm-up)", "%s", fmtSeconds(r.lagMax))
	add("end-to-end p50 / p99 (due → row committed)", "%s / %s", fmtSeconds(r.e2e.quantile(.5)), fmtSeconds(r.e2e.quantile(.99)))
	add("stale jobs dropped (> 1 interval late)", "%.0f", r.stale)
	add("jobs skipped, previous still queued", "%.0f", r.skipped)
	add("jobs skipped by workers (unknown, paused)", "%.0f", r.otherSkipped)
	add("results dropped", "%.0f", r.dropped)
	add("dispatch and write errors", "%.0f", r.errors)
	add("", "")
	rows = append(rows, r.cpuRows()...)
	add("", "")
	for _, m := range r.peak {
		add("peak RSS (VmHWM) "+m.name, "%s", fmtBytes(m.bytes))
	}
	rows = append(rows, r.storageRows()...)
	var logs []string
	for _, c := range r.logLines {
		logs = append(logs, fmt.Sprintf("%s %d", c.name, c.n))
	}
	add("lines logged at warn and above", "%s", strings.Join(logs, ", "))
	add("", "")
	rows = append(rows, r.bareRows()...)
	return rows
}

func (r *report) cpuRows() [][2]string {
	line := func(label string, cpu time.Duration) [2]string {
		return [2]string{label, fmt.Sprintf("%.4f  (%.2f s in the window)", r.perThousand(cpu), cpu.Seconds())}
	}
	rows := [][2]string{
		{"CPU-s per 1,000 checks", ""},
		line("  api", r.cpuOf("api")),
		line("  scheduler", r.cpuOf("scheduler")),
		line("  workers (sum)", r.cpuOf("worker")),
		line("  Redis (whole server)", r.redisCPU),
	}
	if !r.pgVisible {
		rows = append(rows, [2]string{"  PostgreSQL", "n/a: its processes are not visible here"})
	} else {
		rows = append(rows, line("  PostgreSQL (whole server)", r.pgCPU),
			line("    of which the bench database's backends", r.pgOwnCPU),
			line("    of which background (WAL writer, checkpointer...)", r.pgBgCPU),
			line("    of which other and exited backends", r.pgCPU-r.pgOwnCPU-r.pgBgCPU))
	}
	if !r.pgVisible {
		return append(rows, line("  total, without PostgreSQL", r.totalCPU()))
	}
	return append(rows, line("  total", r.totalCPU()))
}

func (r *report) storageRows() [][2]string {
	var total int64
	for _, t := range r.tables {
		total += t.bytes
	}
	rows := [][2]string{{"PostgreSQL bytes per check (rough)", fmt.Sprintf("%s (%s of results, rollups and states for %d rows)",
		perRow(total, r.storedRows), fmtBytes(total), r.storedRows)}}
	for _, t := range r.tables {
		v := fmt.Sprintf("%s; %d live, %d dead row versions; %d updates, %s HOT", fmtBytes(t.bytes), t.live, t.dead,
			t.updates, percent(t.hotUpdates, t.updates))
		if t.name == "check_results" {
			v = fmt.Sprintf("%s, %s per row", fmtBytes(t.bytes), perRow(t.bytes, r.storedRows))
		}
		rows = append(rows, [2]string{"  " + t.name, v})
	}
	return rows
}

func (r *report) bareRows() [][2]string {
	b := r.bare
	rows := [][2]string{
		{"bare net/http, fresh connection per request", fmt.Sprintf("%d requests in %s at %.1f/s asked, %d failed",
			b.requests, b.elapsed.Round(time.Millisecond), r.bareRate, b.failures)},
		{"  CPU-s per 1,000 requests", fmt.Sprintf("%.4f", b.perThousand())},
	}
	if b.perThousand() > 0 && r.checks > 0 {
		rows = append(rows, [2]string{"Pinguin total / bare (CPU per check)",
			fmt.Sprintf("%.1f×", r.perThousand(r.totalCPU())/b.perThousand())})
	}
	return rows
}

// fmtSeconds prints a time in seconds readably; NaN (no observations) as n/a.
func fmtSeconds(s float64) string {
	switch {
	case math.IsNaN(s):
		return "n/a"
	case s < 1:
		return fmt.Sprintf("%.1f ms", s*1000)
	default:
		return fmt.Sprintf("%.2f s", s)
	}
}

func fmtBytes(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func percent(part, whole int64) string {
	if whole == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(part)/float64(whole))
}

func perRow(bytes, rows int64) string {
	if rows == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f B", float64(bytes)/float64(rows))
}
