package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// FuzzMonitorBody feeds arbitrary bodies through the create path's decoding
// and validation: every input is either a valid monitor or a 4xx problem.
func FuzzMonitorBody(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","url":"https://example.com"}`,
		`{"name":"a","url":"http://[::1]:80/","headers":{"X":"y"},"interval_seconds":5,"timeout_ms":100}`,
		`{"interval_seconds":1e99}`, `{"headers":{"a":null}}`, `[]`, `null`, `{}}`, `{"name":"\u0000"}`,
		`{"expected_status":"100-599,200"}`, `{"url":"http://a:65536"}`, "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/monitors", strings.NewReader(body))
		fields, err := readObject(httptest.NewRecorder(), r)
		if err != nil {
			assertClientError(t, err)
			return
		}
		p, err := decodePatch(fields)
		if err != nil {
			assertClientError(t, err)
			return
		}
		m := monitor.Defaults()
		p.Apply(&m)
		m.Normalize()
		if err := m.Validate(); err != nil {
			assertClientError(t, err)
			return
		}
		if _, err := monitor.ParseStatusRanges(m.ExpectedStatus); err != nil {
			t.Fatalf("valid monitor with unparsable expected_status %q", m.ExpectedStatus)
		}
	})
}

func assertClientError(t *testing.T, err error) {
	t.Helper()
	var p *Problem
	var v *monitor.ValidationError
	switch {
	case errors.As(err, &p):
		if p.Status < 400 || p.Status > 499 {
			t.Fatalf("problem status %d for a bad body", p.Status)
		}
	case errors.As(err, &v):
		if len(v.Fields) == 0 {
			t.Fatal("validation error without fields")
		}
	default:
		t.Fatalf("error %v is neither a problem nor a validation error: it would be a 500", err)
	}
}

// FuzzQuery feeds arbitrary query parameters to their parsers: each either
// parses or answers a 400 naming the parameter.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"1h", "1d", "90m", "0m", "-1h", "1e3m", "2026-01-01T00:00:00Z", "bTE", "YzE3", "1000", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		q := r.URL.Query()
		for _, k := range []string{"from", "to", "limit", "cursor", "state", "incident"} {
			q.Set(k, v)
		}
		r.URL.RawQuery = q.Encode()
		check := func(name string, err error) {
			if err == nil {
				return
			}
			var p *Problem
			if !errors.As(err, &p) || p.Status != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != name {
				t.Fatalf("%s=%q: error %v is not a 400 naming %s", name, v, err, name)
			}
		}
		if d, err := parseBucket(v); err == nil && (d < 60e9 || d > 86400e9) {
			t.Fatalf("bucket %q parsed to %s", v, d)
		} else {
			check("bucket", err)
		}
		_, err := parseTime(r, "from", defaultTime)
		check("from", err)
		if n, err := parseLimit(r); err == nil && (n < 1 || n > maxLimit) {
			t.Fatalf("limit %q parsed to %d", v, n)
		} else {
			check("limit", err)
		}
		_, _, err = decodeCursor(r, 'm')
		check("cursor", err)
		_, err = queryID(r, "incident", "an incident")
		check("incident", err)
		// The incident list's parser stops at its first bad parameter.
		if _, err := incidentQuery(r); err != nil {
			var p *Problem
			if !errors.As(err, &p) || p.Status != http.StatusBadRequest || len(p.Errors) != 1 {
				t.Fatalf("incident query %q: error %v is not a 400 naming one parameter", v, err)
			}
		}
	})
}

var defaultTime = time.Unix(0, 0)
