package bench

import (
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

const page = `# TYPE pinguin_worker_dispatch_lag_seconds histogram
pinguin_worker_dispatch_lag_seconds_bucket{le="0.01"} %d
pinguin_worker_dispatch_lag_seconds_bucket{le="0.1"} %d
pinguin_worker_dispatch_lag_seconds_bucket{le="+Inf"} %d
pinguin_worker_dispatch_lag_seconds_sum 1
pinguin_worker_dispatch_lag_seconds_count %d
# TYPE pinguin_worker_checks_total counter
pinguin_worker_checks_total{outcome="down"} %d
pinguin_worker_checks_total{outcome="up"} 100
`

func parsePage(t *testing.T, m metrics, le01, le1, inf, down int) {
	t.Helper()
	text := strings.NewReplacer("%d", "").Replace(page) // placeholder check below
	_ = text
	var b strings.Builder
	b.WriteString(page)
	s := b.String()
	for _, v := range []int{le01, le1, inf, inf, down} {
		s = strings.Replace(s, "%d", itoa(v), 1)
	}
	if err := m.addText(strings.NewReader(s)); err != nil {
		t.Fatal(err)
	}
}
