package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metrics are the samples of one or more /metrics pages, merged by metric
// name: counters and gauges summed over label sets and pages (sum), their
// largest single value kept (max), histograms' buckets summed (hist).
// Counters and gauges are also kept per label set, under keys such as
// pinguin_worker_checks_total{outcome="down"} (see series).
type metrics struct {
	sum  map[string]float64
	max  map[string]float64
	hist map[string]histogram
}

func newMetrics() metrics {
	return metrics{sum: map[string]float64{}, max: map[string]float64{}, hist: map[string]histogram{}}
}

// addText parses a page in the Prometheus text format and merges it in.
func (m metrics) addText(r io.Reader) error {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return fmt.Errorf("parse metrics: %w", err)
	}
	for name, f := range families {
		for _, s := range f.GetMetric() {
			if err := m.addSample(name, f.GetType(), s); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m metrics) addSample(name string, typ dto.MetricType, s *dto.Metric) error {
	switch typ {
	case dto.MetricType_COUNTER:
		m.addValue(name, s, s.GetCounter().GetValue())
	case dto.MetricType_GAUGE:
		m.addValue(name, s, s.GetGauge().GetValue())
	case dto.MetricType_UNTYPED:
		m.addValue(name, s, s.GetUntyped().GetValue())
	case dto.MetricType_HISTOGRAM:
		h, err := m.hist[name].combine(histogramFromDTO(s.GetHistogram()), +1)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		m.hist[name] = h
	}
	return nil
}

func (m metrics) addValue(name string, s *dto.Metric, v float64) {
	keys := []string{name}
	if len(s.GetLabel()) > 0 {
		keys = append(keys, series(name, s.GetLabel()))
	}
	for _, k := range keys {
		m.sum[k] += v
		if old, ok := m.max[k]; !ok || v > old {
			m.max[k] = v
		}
	}
}

// series is the key of one label set of a metric: name{a="x",b="y"}, the
// labels in the order of the page (client_golang sorts them by name).
func series(name string, labels []*dto.LabelPair) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", l.GetName(), l.GetValue())
	}
	b.WriteByte('}')
	return b.String()
}

// scrape fetches url (a /metrics page) and merges it into m.
func (m metrics) scrape(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("scrape %s: %w", url, err)
	}
	// The text format, not protobuf or OpenMetrics: that is what we parse.
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("scrape %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("scrape %s: status %d", url, res.StatusCode)
	}
	if err := m.addText(res.Body); err != nil {
		return fmt.Errorf("scrape %s: %w", url, err)
	}
	return nil
}

// delta is how much the summed metric name grew from prev to m.
func (m metrics) delta(prev metrics, name string) float64 { return m.sum[name] - prev.sum[name] }

// histDelta is the histogram of the observations made between prev and m.
func (m metrics) histDelta(prev metrics, name string) (histogram, error) {
	h, err := m.hist[name].combine(prev.hist[name], -1)
	if err != nil {
		return histogram{}, fmt.Errorf("%s: %w", name, err)
	}
	return h, nil
}
