package monitor

import (
	"fmt"
	"strconv"
	"strings"
)

// Status is what the API says of a monitor.
type Status string

// The statuses a monitor can be in.
const (
	StatusPending  Status = "pending" // enabled, not checked yet
	StatusUp       Status = "up"
	StatusDegraded Status = "degraded" // up, but slow, losing packets or near certificate expiry
	StatusDown     Status = "down"
	StatusPaused   Status = "paused" // disabled
)

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Low, High int }

// StatusRanges is a parsed expected_status such as "200-299,301".
type StatusRanges []StatusRange

// maxRanges bounds how many ranges one expected_status may list.
const maxRanges = 50

// ParseStatusRanges parses a comma-separated list of codes and inclusive
// ranges of codes between 100 and 599.
func ParseStatusRanges(s string) (StatusRanges, error) {
	if s == "" {
		return nil, fmt.Errorf("must list status codes, e.g. \"200-299,301\"")
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxRanges {
		return nil, fmt.Errorf("must list at most %d codes or ranges", maxRanges)
	}
	out := make(StatusRanges, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		lo, hi, isRange := strings.Cut(p, "-")
		low, err := parseCode(lo)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", p, err)
		}
		high := low
		if isRange {
			if high, err = parseCode(hi); err != nil {
				return nil, fmt.Errorf("%q: %w", p, err)
			}
			if high < low {
				return nil, fmt.Errorf("%q: range ends before it starts", p)
			}
		}
		out = append(out, StatusRange{low, high})
	}
	return out, nil
}

func parseCode(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 100 || n > 599 {
		return 0, fmt.Errorf("status codes are whole numbers from 100 to 599")
	}
	return n, nil
}

// Contains reports whether code is in one of the ranges.
func (r StatusRanges) Contains(code int) bool {
	for _, x := range r {
		if code >= x.Low && code <= x.High {
			return true
		}
	}
	return false
}
