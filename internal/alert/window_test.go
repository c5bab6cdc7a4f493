package alert_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/monitor"
)

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func compiled(t *testing.T, w alert.Window) *alert.Window {
	t.Helper()
	if err := w.Validate(); err != nil {
		t.Fatalf("window %+v: %v", w, err)
	}
	return &w
}

func TestWindowValidate(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 5, 1, 22, 0, 0, 0, time.UTC)
	oneOff := func() alert.Window {
		return alert.Window{Name: "db upgrade", MonitorIDs: []int64{3, 4}, StartsAt: start, EndsAt: start.Add(time.Hour), TimeZone: "UTC"}
	}
	recurring := func() alert.Window {
		return alert.Window{Name: "nightly", AllMonitors: true, Cron: "0 2 * * *", TimeZone: "Europe/Berlin", Duration: 2 * time.Hour}
	}
	type fieldError = monitor.FieldError
	cases := []struct {
		name   string
		window func() alert.Window
		want   []fieldError // nil: valid
	}{
		{"one-off", oneOff, nil},
		{"recurring", recurring, nil},
		{"empty time zone is UTC", func() alert.Window { w := oneOff(); w.TimeZone = ""; return w }, nil},
		{"one-off in the past", func() alert.Window {
			w := oneOff()
			w.StartsAt, w.EndsAt = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2001, 1, 2, 0, 0, 0, 0, time.UTC)
			return w
		}, nil},
		{"daily descriptor", func() alert.Window { w := recurring(); w.Cron = "@daily"; return w }, nil},
		{"February 29th", func() alert.Window { w := recurring(); w.Cron = "0 0 29 2 *"; return w }, nil},
		{"shortest and longest duration", func() alert.Window { w := recurring(); w.Duration = time.Minute; return w }, nil},
		{"longest duration", func() alert.Window { w := recurring(); w.Duration = alert.MaxWindowDuration; return w }, nil},
		{"no name", func() alert.Window { w := oneOff(); w.Name = ""; return w },
			[]fieldError{{Field: "name", Message: "is required"}}},
		{"long name", func() alert.Window { w := oneOff(); w.Name = strings.Repeat("é", 201); return w },
			[]fieldError{{Field: "name", Message: "must be at most 200 characters"}}},
		{"no monitors", func() alert.Window { w := oneOff(); w.MonitorIDs = nil; return w },
			[]fieldError{{Field: "monitors", Message: "must list at least one monitor id, or set all_monitors"}}},
		{"monitors and all", func() alert.Window { w := oneOff(); w.AllMonitors = true; return w },
			[]fieldError{{Field: "monitors", Message: "must be empty when all_monitors is set"}}},
		{"too many monitors", func() alert.Window {
			w := oneOff()
			w.MonitorIDs = make([]int64, alert.MaxWindowMonitors+1)
			for i := range w.MonitorIDs {
				w.MonitorIDs[i] = int64(i + 1)
			}
			return w
		}, []fieldError{{Field: "monitors", Message: "must list at most 10000 monitors"}}},
		{"no start", func() alert.Window { w := oneOff(); w.StartsAt = time.Time{}; return w },
			[]fieldError{{Field: "starts_at", Message: "is required (RFC 3339), or give cron and duration_seconds for a recurring window"}}},
		{"no end", func() alert.Window { w := oneOff(); w.EndsAt = time.Time{}; return w },
			[]fieldError{{Field: "ends_at", Message: "is required (RFC 3339)"}}},
		{"end at start", func() alert.Window { w := oneOff(); w.EndsAt = w.StartsAt; return w },
			[]fieldError{{Field: "ends_at", Message: "must be after starts_at"}}},
		{"end before start", func() alert.Window { w := oneOff(); w.EndsAt = w.StartsAt.Add(-time.Second); return w },
			[]fieldError{{Field: "ends_at", Message: "must be after starts_at"}}},
		{"duration on one-off", func() alert.Window { w := oneOff(); w.Duration = time.Hour; return w },
			[]fieldError{{Field: "duration_seconds", Message: "is for recurring windows; a one-off window has starts_at and ends_at"}}},
		{"one-off bad time zone", func() alert.Window { w := oneOff(); w.TimeZone = "Mars/Olympus"; return w },
			[]fieldError{{Field: "time_zone", Message: `"Mars/Olympus" is not a known time zone (an IANA name such as Europe/Berlin or UTC)`}}},
		{"starts_at on recurring", func() alert.Window { w := recurring(); w.StartsAt = start; return w },
			[]fieldError{{Field: "starts_at", Message: "is for one-off windows; a recurring window has cron, time_zone and duration_seconds"}}},
		{"ends_at on recurring", func() alert.Window { w := recurring(); w.EndsAt = start; return w },
			[]fieldError{{Field: "ends_at", Message: "is for one-off windows; a recurring window has cron, time_zone and duration_seconds"}}},
		{"no duration", func() alert.Window { w := recurring(); w.Duration = 0; return w },
			[]fieldError{{Field: "duration_seconds", Message: "must be between 60 and 604800"}}},
		{"duration too short", func() alert.Window { w := recurring(); w.Duration = 59 * time.Second; return w },
			[]fieldError{{Field: "duration_seconds", Message: "must be between 60 and 604800"}}},
		{"duration too long", func() alert.Window { w := recurring(); w.Duration = alert.MaxWindowDuration + time.Second; return w },
			[]fieldError{{Field: "duration_seconds", Message: "must be between 60 and 604800"}}},
		{"bad cron", func() alert.Window { w := recurring(); w.Cron = "every night"; return w },
			[]fieldError{{Field: "cron", Message: "is not a cron expression (minute hour day-of-month month day-of-week, or @daily): expected exactly 5 fields, found 2: [every night]"}}},
		{"cron that never fires", func() alert.Window { w := recurring(); w.Cron = "0 2 30 2 *"; return w },
			[]fieldError{{Field: "cron", Message: "never fires"}}},
		{"cron with a time zone", func() alert.Window { w := recurring(); w.Cron = "CRON_TZ=Asia/Tokyo 0 2 * * *"; return w },
			[]fieldError{{Field: "cron", Message: "must not name a time zone (TZ=); set time_zone instead"}}},
		// robfig/cron panics on this one; Validate must answer it.
		{"cron of a time zone alone", func() alert.Window { w := recurring(); w.Cron = "TZ=UTC"; return w },
			[]fieldError{{Field: "cron", Message: "must not name a time zone (TZ=); set time_zone instead"}}},
		{"cron @every", func() alert.Window { w := recurring(); w.Cron = "@every 1h"; return w },
			[]fieldError{{Field: "cron", Message: "must be a time of day (minute hour day-of-month month day-of-week, or @daily), not @every"}}},
		{"unknown time zone", func() alert.Window { w := recurring(); w.TimeZone = "Europe/Atlantis"; return w },
			[]fieldError{{Field: "time_zone", Message: `"Europe/Atlantis" is not a known time zone (an IANA name such as Europe/Berlin or UTC)`}}},
		{"server's local zone", func() alert.Window { w := recurring(); w.TimeZone = "Local"; return w },
			[]fieldError{{Field: "time_zone", Message: `"Local" is not a time zone; name one such as Europe/Berlin or UTC`}}},
		{"everything wrong", func() alert.Window {
			return alert.Window{Cron: "x", TimeZone: "Nowhere", StartsAt: start}
		}, []fieldError{
			{Field: "name", Message: "is required"},
			{Field: "monitors", Message: "must list at least one monitor id, or set all_monitors"},
			{Field: "starts_at", Message: "is for one-off windows; a recurring window has cron, time_zone and duration_seconds"},
			{Field: "duration_seconds", Message: "must be between 60 and 604800"},
			{Field: "time_zone", Message: `"Nowhere" is not a known time zone (an IANA name such as Europe/Berlin or UTC)`},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := c.window()
			err := w.Validate()
			if c.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var v *monitor.ValidationError
			if !errors.As(err, &v) {
				t.Fatalf("Validate = %v, want a *monitor.ValidationError", err)
			}
			if !slices.Equal(v.Fields, c.want) {
				t.Fatalf("Validate fields\n got %q\nwant %q", v.Fields, c.want)
			}
		})
	}
}

func TestOneOffWindowActive(t *testing.T) {
	t.Parallel()
	start := at(t, "2026-05-01T22:00:00Z")
	w := compiled(t, alert.Window{Name: "w", AllMonitors: true, StartsAt: start, EndsAt: start.Add(time.Hour)})
	cases := []struct {
		t    time.Time
		want bool
	}{
		{start.Add(-time.Nanosecond), false},
		{start, true}, // the start is included
		{start.Add(30 * time.Minute), true},
		{start.Add(time.Hour - time.Nanosecond), true},
		{start.Add(time.Hour), false}, // the end is not
		{start.In(time.FixedZone("x", 5*3600)), true},
	}
	for _, c := range cases {
		if got := w.Active(c.t); got != c.want {
			t.Errorf("Active(%s) = %v, want %v", c.t, got, c.want)
		}
	}
}

func TestRecurringWindowActive(t *testing.T) {
	t.Parallel()
	berlin := compiled(t, alert.Window{Name: "nightly", AllMonitors: true, Cron: "0 2 * * *", TimeZone: "Europe/Berlin", Duration: 2 * time.Hour})
	newYork := compiled(t, alert.Window{Name: "ny", AllMonitors: true, Cron: "30 2 * * *", TimeZone: "America/New_York", Duration: time.Hour})
	newYorkOne := compiled(t, alert.Window{Name: "ny", AllMonitors: true, Cron: "30 1 * * *", TimeZone: "America/New_York", Duration: time.Hour})
	cases := []struct {
		name string
		w    *alert.Window
		t    string
		want bool
	}{
		// A winter night in Berlin (CET, UTC+1): 02:00-04:00 local.
		{"before", berlin, "2026-01-15T01:59:59+01:00", false},
		{"at the start", berlin, "2026-01-15T02:00:00+01:00", true},
		{"02:30 Berlin", berlin, "2026-01-15T02:30:00+01:00", true},
		{"just before the end", berlin, "2026-01-15T03:59:59.999+01:00", true},
		{"04:00 Berlin", berlin, "2026-01-15T04:00:00+01:00", false},
		{"noon", berlin, "2026-01-15T12:00:00+01:00", false},
		// A summer night (CEST, UTC+2).
		{"summer 02:30 Berlin", berlin, "2026-07-15T02:30:00+02:00", true},
		{"summer 04:00 Berlin", berlin, "2026-07-15T04:00:00+02:00", false},
		{"summer 02:30 UTC", berlin, "2026-07-15T02:30:00Z", false},
		// 29 March 2026: clocks go from 02:00 CET to 03:00 CEST, so 02:00
		// never shows; the window starts where they skip, at 03:00 CEST, and
		// lasts two hours.
		{"spring: before the skip", berlin, "2026-03-29T01:59:59+01:00", false},
		{"spring: at the skip", berlin, "2026-03-29T03:00:00+02:00", true},
		{"spring: 04:59 CEST", berlin, "2026-03-29T04:59:59+02:00", true},
		{"spring: 05:00 CEST", berlin, "2026-03-29T05:00:00+02:00", false},
		{"spring: the day after", berlin, "2026-03-30T02:30:00+02:00", true},
		// 25 October 2026: clocks go from 03:00 CEST back to 02:00 CET, so
		// 02:00 shows twice; the window starts at the first, once.
		{"autumn: first 02:00", berlin, "2026-10-25T02:00:00+02:00", true},
		{"autumn: second 02:30", berlin, "2026-10-25T02:30:00+01:00", true},
		{"autumn: 03:00 CET", berlin, "2026-10-25T03:00:00+01:00", false},
		{"autumn: 03:30 CET", berlin, "2026-10-25T03:30:00+01:00", false},
		// New York, behind UTC: 8 March 2026 skips 02:00-03:00 EST/EDT.
		{"NY spring: 01:59 EST", newYork, "2026-03-08T01:59:59-05:00", false},
		{"NY spring: 03:00 EDT", newYork, "2026-03-08T03:00:00-04:00", true},
		{"NY spring: 03:59 EDT", newYork, "2026-03-08T03:59:59-04:00", true},
		{"NY spring: 04:00 EDT", newYork, "2026-03-08T04:00:00-04:00", false},
		{"NY normal day", newYork, "2026-03-09T02:45:00-04:00", true},
		// 1 November 2026 repeats 01:00-02:00: 01:30 fires at the first.
		{"NY autumn: first 01:30", newYorkOne, "2026-11-01T01:30:00-04:00", true},
		{"NY autumn: first 01:59", newYorkOne, "2026-11-01T01:59:59-04:00", true},
		{"NY autumn: second 01:30", newYorkOne, "2026-11-01T01:30:00-05:00", false},
		{"NY autumn: second 01:45", newYorkOne, "2026-11-01T01:45:00-05:00", false},
	}
	for _, c := range cases {
		if got := c.w.Active(at(t, c.t)); got != c.want {
			t.Errorf("%s: Active(%s) = %v, want %v", c.name, c.t, got, c.want)
		}
	}
}

// TestRecurringWindowMinuteByMinute walks through days with and without a
// clock change and checks that Active holds for exactly the expected
// minutes, and that Current agrees with Active.
func TestRecurringWindowMinuteByMinute(t *testing.T) {
	t.Parallel()
	w := compiled(t, alert.Window{Name: "nightly", AllMonitors: true, Cron: "0 2 * * *", TimeZone: "Europe/Berlin", Duration: 2 * time.Hour})
	cases := []struct {
		day        string // UTC midnight of the day walked
		start, end string // the occurrence of that day
	}{
		{"2026-01-15T00:00:00Z", "2026-01-15T01:00:00Z", "2026-01-15T03:00:00Z"},
		{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T03:00:00Z"},
		{"2026-07-15T00:00:00Z", "2026-07-15T00:00:00Z", "2026-07-15T02:00:00Z"},
		{"2026-10-25T00:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z"},
	}
	for _, c := range cases {
		day, start, end := at(t, c.day), at(t, c.start), at(t, c.end)
		for m := time.Duration(0); m < 20*time.Hour; m += time.Minute {
			now := day.Add(m)
			want := !now.Before(start) && now.Before(end)
			if got := w.Active(now); got != want {
				t.Fatalf("Active(%s) = %v, want %v", now, got, want)
			}
			s, e, ok := w.Current(now)
			if !ok || e.Sub(s) != 2*time.Hour || !s.After(now.Add(-2*time.Hour)) {
				t.Fatalf("Current(%s) = %s, %s, %v: not the occurrence holding or following it", now, s, e, ok)
			}
			if inside := !now.Before(s) && now.Before(e); inside != want {
				t.Fatalf("Current(%s) = [%s, %s), but Active is %v", now, s, e, want)
			}
		}
	}
}

func TestWindowCovers(t *testing.T) {
	t.Parallel()
	some := alert.Window{MonitorIDs: []int64{2, 5, 9}}
	all := alert.Window{AllMonitors: true}
	for id, want := range map[int64]bool{1: false, 2: true, 5: true, 7: false, 9: true, 10: false} {
		if got := some.Covers(id); got != want {
			t.Errorf("Covers(%d) = %v, want %v", id, got, want)
		}
		if !all.Covers(id) {
			t.Errorf("all_monitors window does not cover %d", id)
		}
	}
}

func TestWindowCurrent(t *testing.T) {
	t.Parallel()
	start := at(t, "2026-05-01T22:00:00Z")
	oneOff := compiled(t, alert.Window{Name: "w", AllMonitors: true, StartsAt: start.In(time.FixedZone("x", 3600)), EndsAt: start.Add(time.Hour)})
	weekly := compiled(t, alert.Window{Name: "w", AllMonitors: true, Cron: "0 2 * * 0", TimeZone: "Europe/Berlin", Duration: 2 * time.Hour})
	cases := []struct {
		name       string
		w          *alert.Window
		t          string
		start, end string // "" for none
	}{
		{"one-off ahead", oneOff, "2026-04-01T00:00:00Z", "2026-05-01T22:00:00Z", "2026-05-01T23:00:00Z"},
		{"one-off in progress", oneOff, "2026-05-01T22:30:00Z", "2026-05-01T22:00:00Z", "2026-05-01T23:00:00Z"},
		{"one-off ended", oneOff, "2026-05-01T23:00:00Z", "", ""},
		// Sunday 3 May 2026, 02:00 CEST is 00:00 UTC.
		{"weekly ahead", weekly, "2026-04-29T12:00:00Z", "2026-05-03T00:00:00Z", "2026-05-03T02:00:00Z"},
		{"weekly in progress", weekly, "2026-05-03T01:59:59Z", "2026-05-03T00:00:00Z", "2026-05-03T02:00:00Z"},
		{"weekly just ended", weekly, "2026-05-03T02:00:00Z", "2026-05-10T00:00:00Z", "2026-05-10T02:00:00Z"},
	}
	for _, c := range cases {
		s, e, ok := c.w.Current(at(t, c.t))
		if c.start == "" {
			if ok {
				t.Errorf("%s: Current = %s, %s, want none", c.name, s, e)
			}
			continue
		}
		if !ok || !s.Equal(at(t, c.start)) || !e.Equal(at(t, c.end)) || s.Location() != time.UTC || e.Location() != time.UTC {
			t.Errorf("%s: Current = %s, %s, %v, want %s, %s in UTC", c.name, s, e, ok, c.start, c.end)
		}
	}
	// Not compiled: a recurring window without Compile has no occurrence.
	raw := alert.Window{Cron: "0 2 * * *", TimeZone: "UTC", Duration: time.Hour}
	if _, _, ok := raw.Current(at(t, "2026-01-01T02:30:00Z")); ok || raw.Active(at(t, "2026-01-01T02:30:00Z")) {
		t.Error("an uncompiled recurring window has an occurrence")
	}
}

func TestInMaintenance(t *testing.T) {
	t.Parallel()
	start := at(t, "2026-05-01T22:00:00Z")
	windows := []alert.Window{
		*compiled(t, alert.Window{Name: "a", MonitorIDs: []int64{1, 2}, StartsAt: start, EndsAt: start.Add(time.Hour)}),
		*compiled(t, alert.Window{Name: "b", MonitorIDs: []int64{3}, Cron: "0 * * * *", TimeZone: "UTC", Duration: 10 * time.Minute}),
	}
	cases := []struct {
		id   int64
		t    time.Time
		want bool
	}{
		{1, start.Add(time.Minute), true},
		{2, start.Add(time.Hour), false},
		{3, start.Add(time.Minute), true},
		{3, start.Add(30 * time.Minute), false},
		{4, start.Add(time.Minute), false},
	}
	for _, c := range cases {
		if got := alert.InMaintenance(windows, c.id, c.t); got != c.want {
			t.Errorf("InMaintenance(%d, %s) = %v, want %v", c.id, c.t, got, c.want)
		}
	}
	if alert.InMaintenance(nil, 1, start) {
		t.Error("no windows, yet in maintenance")
	}
}

// FuzzWindowCron feeds Validate cron expressions and time zones as the API
// takes them: it must answer, not panic, and a window it accepts must have
// Active and Current agree.
func FuzzWindowCron(f *testing.F) {
	for _, seed := range []struct{ cron, zone string }{
		{"0 2 * * *", "Europe/Berlin"}, {"TZ=UTC", "UTC"}, {"CRON_TZ=Asia/Tokyo 0 2 * * *", "UTC"},
		{"@every 1h", "UTC"}, {"@weekly", "America/New_York"}, {"*/15 1-3 * 3,10 0", "Australia/Lord_Howe"},
		{"0 2 30 2 *", "UTC"}, {"0 0 29 2 *", "Pacific/Apia"}, {"", "Local"},
	} {
		f.Add(seed.cron, seed.zone, int64(7200), int64(1774746000))
	}
	f.Fuzz(func(t *testing.T, expr, zone string, seconds, unix int64) {
		w := alert.Window{Name: "f", AllMonitors: true, Cron: expr, TimeZone: zone, Duration: time.Duration(seconds) * time.Second}
		if expr == "" {
			w.StartsAt = time.Unix(0, 0)
			w.EndsAt = w.StartsAt.Add(w.Duration)
		}
		if w.Validate() != nil {
			return
		}
		now := time.Unix(unix%(1<<34), 0) // years 1970 to about 2514
		s, e, ok := w.Current(now)
		inside := ok && !now.Before(s) && now.Before(e)
		if w.Active(now) != inside {
			t.Fatalf("Active(%s) = %v, but Current = %s, %s, %v", now, !inside, s, e, ok)
		}
	})
}

// TestCompileForgetsAnEarlierSchedule changes a compiled window's cron
// expression to one that does not compile: the old schedule must not stay.
func TestCompileForgetsAnEarlierSchedule(t *testing.T) {
	t.Parallel()
	w := compiled(t, alert.Window{Name: "w", AllMonitors: true, Cron: "0 2 * * *", TimeZone: "UTC", Duration: time.Hour})
	now := at(t, "2026-01-01T02:30:00Z")
	if !w.Active(now) {
		t.Fatal("compiled window is not active")
	}
	w.Cron = "0 2 30 2 *"
	if err := w.Compile(); err == nil {
		t.Fatal("Compile accepted a schedule that never fires")
	}
	if w.Active(now) {
		t.Fatal("a window whose cron no longer compiles is still active on its old schedule")
	}
}
