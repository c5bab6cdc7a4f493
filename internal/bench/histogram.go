package bench

import (
	"fmt"
	"math"
	"sort"

	dto "github.com/prometheus/client_model/go"
)

// histogram is a Prometheus histogram: cumulative counts per upper bound,
// the bounds ascending and the last one +Inf.
type histogram struct {
	bounds []float64
	counts []float64 // cumulative: counts[i] observations were <= bounds[i]
}

// histogramFromDTO converts a parsed histogram, adding the +Inf bucket
// when the exposition left it out.
func histogramFromDTO(h *dto.Histogram) histogram {
	var out histogram
	for _, b := range h.GetBucket() {
		n := float64(b.GetCumulativeCount())
		if b.CumulativeCountFloat != nil {
			n = b.GetCumulativeCountFloat()
		}
		out.bounds = append(out.bounds, b.GetUpperBound())
		out.counts = append(out.counts, n)
	}
	if len(out.bounds) == 0 || !math.IsInf(out.bounds[len(out.bounds)-1], +1) {
		total := float64(h.GetSampleCount())
		if h.SampleCountFloat != nil {
			total = h.GetSampleCountFloat()
		}
		out.bounds = append(out.bounds, math.Inf(+1))
		out.counts = append(out.counts, total)
	}
	return out
}

// count is the number of observations.
func (h histogram) count() float64 {
	if len(h.counts) == 0 {
		return 0
	}
	return h.counts[len(h.counts)-1]
}

// combine returns h with o's counts added (sign +1) or taken away (-1).
// An empty histogram combines with anything; otherwise the bounds must
// match, as they do for one metric of one binary.
func (h histogram) combine(o histogram, sign float64) (histogram, error) {
	switch {
	case len(o.bounds) == 0:
		return h, nil
	case len(h.bounds) == 0:
		h = histogram{bounds: o.bounds, counts: make([]float64, len(o.counts))}
	case len(h.bounds) != len(o.bounds):
		return h, fmt.Errorf("histogram bounds differ: %v and %v", h.bounds, o.bounds)
	}
	out := histogram{bounds: h.bounds, counts: make([]float64, len(h.counts))}
	for i := range h.counts {
		if h.bounds[i] != o.bounds[i] {
			return h, fmt.Errorf("histogram bounds differ: %v and %v", h.bounds, o.bounds)
		}
		out.counts[i] = h.counts[i] + sign*o.counts[i]
	}
	return out, nil
}

// quantile estimates the q-quantile (0 <= q <= 1) the way Prometheus's
// histogram_quantile does: it finds the bucket holding the rank q*count
// and interpolates linearly inside it, the lowest bucket starting at 0.
// A rank in the +Inf bucket yields the highest finite bound (the true
// value is at least that). With no observations it returns NaN.
func (h histogram) quantile(q float64) float64 {
	total := h.count()
	if total <= 0 || q < 0 || q > 1 {
		return math.NaN()
	}
	rank := q * total
	b := sort.Search(len(h.counts), func(i int) bool { return h.counts[i] >= rank })
	if math.IsInf(h.bounds[b], +1) {
		if b == 0 {
			return math.NaN()
		}
		return h.bounds[b-1]
	}
	lower, below := 0.0, 0.0
	if b > 0 {
		lower, below = h.bounds[b-1], h.counts[b-1]
	} else if h.bounds[0] <= 0 {
		return h.bounds[0]
	}
	inBucket := h.counts[b] - below
	if inBucket <= 0 {
		return h.bounds[b]
	}
	return lower + (h.bounds[b]-lower)*(rank-below)/inBucket
}
