package monitor_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pinguin-dev/pinguin/internal/monitor"
)

func valid() monitor.Monitor {
	m := monitor.Defaults()
	m.Name, m.URL = "example", "https://example.com/"
	return m
}

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(*monitor.Monitor)
		field  string
		msg    string
	}{
		{"defaults are valid", func(*monitor.Monitor) {}, "", ""},
		{"empty name", func(m *monitor.Monitor) { m.Name = "" }, "name", "is required"},
		{"200 characters", func(m *monitor.Monitor) { m.Name = strings.Repeat("é", 200) }, "", ""},
		{"201 characters", func(m *monitor.Monitor) { m.Name = strings.Repeat("é", 201) }, "name", "must be at most 200 characters"},
		{"no url", func(m *monitor.Monitor) { m.URL = "" }, "url", "is required"},
		{"mailto", func(m *monitor.Monitor) { m.URL = "mailto:a@b.c" }, "url", "must be an absolute http or https URL"},
		{"no host", func(m *monitor.Monitor) { m.URL = "https:///path" }, "url", "must have a host"},
		{"credentials in url", func(m *monitor.Monitor) { m.URL = "https://user:pw@example.com/" }, "url", "must not carry credentials; send them in a header such as Authorization, which is stored sealed and shown masked"},
		{"port zero", func(m *monitor.Monitor) { m.URL = "http://a:0/" }, "url", "has an invalid port"},
		{"ipv6 literal", func(m *monitor.Monitor) { m.URL = "http://[::1]:8080/" }, "", ""},
		{"long url", func(m *monitor.Monitor) { m.URL = "https://a/" + strings.Repeat("x", 2048) }, "url", "must be at most 2048 bytes"},
		{"lower-case method before Normalize", func(m *monitor.Monitor) { m.Method = "get" }, "method", "must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"},
		{"interval 1", func(m *monitor.Monitor) { m.IntervalSeconds, m.TimeoutMS = 1, 999 }, "", ""},
		{"timeout equal to interval", func(m *monitor.Monitor) { m.IntervalSeconds, m.TimeoutMS = 1, 1000 }, "timeout_ms", "must be less than the interval (1000 ms)"},
		{"timeout 60001", func(m *monitor.Monitor) { m.TimeoutMS = 60001 }, "timeout_ms", "must be between 100 and 60000"},
		{"51 headers", func(m *monitor.Monitor) {
			for i := range 51 {
				m.Headers[strings.Repeat("h", i+1)] = "v"
			}
		}, "headers", "must have at most 50 entries"},
		{"header NUL", func(m *monitor.Monitor) { m.Headers["X"] = "a\x00" }, "headers", `value of "X" must not contain line breaks or NUL`},
		{"headers too large", func(m *monitor.Monitor) { m.Headers["X"] = strings.Repeat("v", 9000) }, "headers", "must be at most 8192 bytes in all"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := valid()
			c.change(&m)
			err := m.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want valid", err)
				}
				return
			}
			var v *monitor.ValidationError
			if !errors.As(err, &v) {
				t.Fatalf("Validate = %v, want a ValidationError", err)
			}
			if len(v.Fields) != 1 || v.Fields[0].Field != c.field || v.Fields[0].Message != c.msg {
				t.Fatalf("Validate = %+v, want %s: %s", v.Fields, c.field, c.msg)
			}
		})
	}
}

func TestNormalizeAndPatch(t *testing.T) {
	t.Parallel()
	m := valid()
	name, method, status := "  spaced  ", "post", " 200 - 204 , 301 "
	p := monitor.Patch{Name: &name, Method: &method, ExpectedStatus: &status}
	p.Apply(&m)
	m.Normalize()
	if m.Name != "spaced" || m.Method != "POST" || m.ExpectedStatus != "200-204,301" {
		t.Fatalf("normalized = %q %q %q", m.Name, m.Method, m.ExpectedStatus)
	}
	if m.URL != "https://example.com/" || m.IntervalSeconds != 60 {
		t.Fatal("fields absent from the patch changed")
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultTimeoutFor(t *testing.T) {
	t.Parallel()
	for interval, want := range map[int]int{1: 800, 5: 4000, 12: 9600, 13: 10000, 3600: 10000} {
		if got := monitor.DefaultTimeoutFor(interval); got != want {
			t.Errorf("DefaultTimeoutFor(%d) = %d, want %d", interval, got, want)
		}
	}
}

func TestParseID(t *testing.T) {
	t.Parallel()
	if id, err := monitor.ParseID("42"); err != nil || id != 42 {
		t.Fatalf("ParseID(42) = %d, %v", id, err)
	}
	for _, s := range []string{"", "0", "-1", "042", "+42", "4.2", "abc", "99999999999999999999"} {
		if _, err := monitor.ParseID(s); !errors.Is(err, monitor.ErrNotFound) {
			t.Errorf("ParseID(%q) = %v, want ErrNotFound", s, err)
		}
	}
}

func TestStatusRanges(t *testing.T) {
	t.Parallel()
	r, err := monitor.ParseStatusRanges("200-299,301,418")
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[int]bool{199: false, 200: true, 250: true, 299: true, 300: false, 301: true, 418: true, 500: false} {
		if got := r.Contains(code); got != want {
			t.Errorf("Contains(%d) = %v, want %v", code, got, want)
		}
	}
	for in, want := range map[string]string{
		"":         `must list status codes, e.g. "200-299,301"`,
		"99":       `"99": status codes are whole numbers from 100 to 599`,
		"600":      `"600": status codes are whole numbers from 100 to 599`,
		"200-":     `"200-": status codes are whole numbers from 100 to 599`,
		"300-200":  `"300-200": range ends before it starts`,
		"2xx":      `"2xx": status codes are whole numbers from 100 to 599`,
		"200,,300": `"": status codes are whole numbers from 100 to 599`,
	} {
		if _, err := monitor.ParseStatusRanges(in); err == nil || err.Error() != want {
			t.Errorf("ParseStatusRanges(%q) = %v, want %s", in, err, want)
		}
	}
	if _, err := monitor.ParseStatusRanges(strings.Repeat("200,", 50) + "200"); err == nil {
		t.Error("51 ranges accepted")
	}
}

func FuzzParseStatusRanges(f *testing.F) {
	for _, s := range []string{"200-299", "200-299,301", "100-599", "", "-", "200--300", "599,100", "1e2", " 200 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := monitor.ParseStatusRanges(s)
		if err != nil {
			return
		}
		for _, x := range r {
			if x.Low < 100 || x.High > 599 || x.Low > x.High {
				t.Fatalf("ParseStatusRanges(%q) accepted range %v", s, x)
			}
		}
	})
}

func TestHeartbeatDeadlines(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		m    monitor.Monitor
		want time.Time
	}{
		{"fixed period and grace", monitor.Monitor{IntervalSeconds: 3600, GraceSeconds: 300}, from.Add(65 * time.Minute)},
		{"daily at 03:00 UTC", monitor.Monitor{Cron: "0 3 * * *", TimeZone: "UTC", GraceSeconds: 60}, time.Date(2026, 3, 29, 3, 1, 0, 0, time.UTC)},
		// 29 March 2026: Berlin moves to summer time, 03:00 local is 01:00 UTC.
		{"daily at 03:00 in Berlin", monitor.Monitor{Cron: "0 3 * * *", TimeZone: "Europe/Berlin"}, time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		{"descriptor", monitor.Monitor{Cron: "@hourly", TimeZone: "UTC"}, from.Add(time.Hour)},
	}
	for _, c := range cases {
		got, err := c.m.NextDeadline(from)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%s: NextDeadline = %s, %v; want %s", c.name, got.UTC(), err, c.want)
		}
	}
	never := monitor.Monitor{Cron: "0 0 30 2 *", TimeZone: "UTC"}
	if _, err := never.NextDeadline(from); err == nil || err.Error() != "never fires within a year" {
		t.Errorf("30 February: %v", err)
	}
}

func FuzzNextDeadline(f *testing.F) {
	for _, s := range []string{"0 3 * * *", "@daily", "*/5 * * * *", "0 0 30 2 *", "61 * * * *", "", "@every 5m", "* * * * * *"} {
		f.Add(s, "UTC")
	}
	f.Add("0 9 * * 1-5", "America/New_York")
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr, zone string) {
		m := monitor.Monitor{Cron: expr, TimeZone: zone, IntervalSeconds: 60}
		if expr == "" {
			return
		}
		next, err := m.NextDeadline(from)
		if err == nil && (!next.After(from) || next.Sub(from) > 367*24*time.Hour) {
			t.Fatalf("NextDeadline(%q, %q) = %s", expr, zone, next)
		}
	})
}

// robfig/cron panics on "TZ=UTC" without a space; ParseCron refuses any
// zone in the expression before the parser sees it.
func TestParseCronRefusesAZoneInTheExpression(t *testing.T) {
	for _, expr := range []string{"TZ=UTC", "CRON_TZ=Europe/Berlin 0 3 * * *", "TZ=UTC 0 3 * * *"} {
		if _, _, err := monitor.ParseCron(expr, "UTC"); err == nil {
			t.Errorf("ParseCron(%q) accepted a zone in the expression", expr)
		}
	}
}
