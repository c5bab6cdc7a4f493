package bench

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestHistogramQuantile(t *testing.T) {
	t.Parallel()
	inf := math.Inf(+1)
	h := histogram{bounds: []float64{1, 2, 4, inf}, counts: []float64{10, 20, 30, 30}}
	for _, tc := range []struct {
		name string
		h    histogram
		q    float64
		want float64
	}{
		{"lowest bucket starts at zero", h, 0.25, 0.75},
		{"upper edge of a bucket", h, 1.0 / 3, 1},
		{"middle of the second bucket", h, 0.5, 1.5},
		{"interpolated in a wider bucket", h, 0.9, 3.4},
		{"all observations", h, 1, 4},
		{"rank in +Inf gives the highest finite bound",
			histogram{bounds: []float64{1, 2, inf}, counts: []float64{1, 2, 10}}, 0.99, 2},
		{"empty buckets are skipped",
			histogram{bounds: []float64{1, 2, 4, inf}, counts: []float64{0, 0, 4, 4}}, 0.5, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.h.quantile(tc.q); math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
	if got := (histogram{bounds: []float64{1, inf}, counts: []float64{0, 0}}).quantile(.5); !math.IsNaN(got) {
		t.Fatalf("quantile of no observations = %v, want NaN", got)
	}
}

// page is a /metrics page of one worker: lag histogram bucket counts
// (le 0.01, le 0.1, total) and failed checks.
func page(le01, le1, total, down int) string {
	return fmt.Sprintf(`# TYPE pinguin_worker_dispatch_lag_seconds histogram
pinguin_worker_dispatch_lag_seconds_bucket{le="0.01"} %d
pinguin_worker_dispatch_lag_seconds_bucket{le="0.1"} %d
pinguin_worker_dispatch_lag_seconds_bucket{le="+Inf"} %d
pinguin_worker_dispatch_lag_seconds_sum 1
pinguin_worker_dispatch_lag_seconds_count %d
# TYPE pinguin_worker_checks_total counter
pinguin_worker_checks_total{outcome="down"} %d
pinguin_worker_checks_total{outcome="up"} 100
`, le01, le1, total, total, down)
}

func TestMetricsMergeAndDelta(t *testing.T) {
	t.Parallel()
	read := func(pages ...string) metrics {
		m := newMetrics()
		for _, p := range pages {
			if err := m.addText(strings.NewReader(p)); err != nil {
				t.Fatal(err)
			}
		}
		return m
	}
	// Two workers, read twice: the second reading has 10 more
	// observations under 10 ms and 10 between 10 and 100 ms.
	first := read(page(5, 10, 10, 1), page(0, 0, 0, 0))
	second := read(page(10, 15, 15, 3), page(5, 15, 15, 0))
	if got := second.delta(first, mChecksDown); got != 2 {
		t.Fatalf("delta of failed checks = %v, want 2", got)
	}
	if got := second.delta(first, mChecks); got != 2 {
		t.Fatalf("delta of all checks = %v, want 2 (up stayed at 100 per worker)", got)
	}
	lag, err := second.histDelta(first, mLag)
	if err != nil {
		t.Fatal(err)
	}
	if got := lag.count(); got != 20 {
		t.Fatalf("observations in the window = %v, want 20", got)
	}
	if got, want := lag.quantile(.75), 0.01+0.09*0.5; math.Abs(got-want) > 1e-9 {
		t.Fatalf("p75 = %v, want %v", got, want)
	}
}

func TestParseStat(t *testing.T) {
	t.Parallel()
	// A command name with spaces and parentheses, as proc(5) allows.
	line := "4242 (a (b) c) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 75 12 8 20 0 1 0 1000 0 0"
	s, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := procStat{pid: 4242, comm: "a (b) c", ppid: 17, utime: 250, stime: 75, cutime: 12, cstime: 8}
	if s != want {
		t.Fatalf("parseStat = %+v, want %+v", s, want)
	}
	if s.cpu() != 3250*time.Millisecond || s.childrenCPU() != 200*time.Millisecond {
		t.Fatalf("cpu = %s, children %s; want 3.25s and 200ms", s.cpu(), s.childrenCPU())
	}
	if _, err := parseStat([]byte("12 (x) S 1 2")); err == nil {
		t.Fatal("parseStat of a short line: no error")
	}
}

func TestReadSelfStat(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("/proc/<pid>/stat is Linux's")
	}
	s, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.pid != os.Getpid() || s.ppid != os.Getppid() || s.comm == "" {
		t.Fatalf("readStat(self) = %+v, want pid %d, ppid %d and a name", s, os.Getpid(), os.Getppid())
	}
	if rss, err := peakRSS(os.Getpid()); err != nil || rss <= 0 {
		t.Fatalf("peakRSS(self) = %d, %v", rss, err)
	}
}

func TestParseRedisCPU(t *testing.T) {
	t.Parallel()
	info := "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:2.250000\r\nused_cpu_sys_children:9.0\r\n"
	got, err := parseRedisCPU(info)
	if err != nil || got != 3750*time.Millisecond {
		t.Fatalf("parseRedisCPU = %s, %v; want 3.75s", got, err)
	}
	if _, err := parseRedisCPU("# CPU\r\n"); err == nil {
		t.Fatal("parseRedisCPU without figures: no error")
	}
}

func TestKnobs(t *testing.T) {
	t.Parallel()
	env := map[string]string{"PINGUIN_BENCH_MONITORS": "2000", "PINGUIN_BENCH_INTERVAL": "5"}
	k, err := knobsFrom(func(name string) string { return env[name] })
	if err != nil {
		t.Fatal(err)
	}
	want := knobs{monitors: 2000, interval: 5 * time.Second, duration: time.Minute, workers: 1}
	if k != want {
		t.Fatalf("knobs = %+v, want %+v", k, want)
	}
	env["PINGUIN_BENCH_INTERVAL"] = "1500ms"
	if _, err := knobsFrom(func(name string) string { return env[name] }); err == nil {
		t.Fatal("an interval of 1500ms: no error")
	}
}
