package alert

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/robfig/cron/v3"

	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// Limits of a maintenance window.
const (
	MaxWindowMonitors = 10000
	MaxWindowDuration = 7 * 24 * time.Hour
	MaxWindowName     = 200
)

// Window is a maintenance window: one-off (StartsAt to EndsAt) or
// recurring (each time Cron fires in TimeZone, for Duration), for the
// monitors listed in MonitorIDs or for all monitors. During a window checks
// still run and are stored, flagged as maintenance; no incident opens and
// no alert is sent.
type Window struct {
	ID          int64
	Name        string
	AllMonitors bool
	MonitorIDs  []int64 // sorted
	StartsAt    time.Time
	EndsAt      time.Time
	Cron        string
	TimeZone    string
	Duration    time.Duration
	CreatedAt   time.Time
	UpdatedAt   time.Time

	sched *cron.SpecSchedule // parsed Cron, read in UTC as wall-clock time; set by Compile
	loc   *time.Location
}

// Recurring tells whether the window repeats on a cron schedule.
func (w *Window) Recurring() bool { return w.Cron != "" }

// Validate reports every field of w that is wrong, as a
// *monitor.ValidationError (the API answers it with a 400 naming them).
func (w *Window) Validate() error {
	var v monitor.ValidationError
	switch n := utf8.RuneCountInString(w.Name); {
	case n == 0:
		v.Add("name", "is required")
	case n > MaxWindowName:
		v.Add("name", "must be at most %d characters", MaxWindowName)
	}
	switch {
	case !w.AllMonitors && len(w.MonitorIDs) == 0:
		v.Add("monitors", "must list at least one monitor id, or set all_monitors")
	case w.AllMonitors && len(w.MonitorIDs) > 0:
		v.Add("monitors", "must be empty when all_monitors is set")
	case len(w.MonitorIDs) > MaxWindowMonitors:
		v.Add("monitors", "must list at most %d monitors", MaxWindowMonitors)
	}
	if w.Recurring() {
		if !w.StartsAt.IsZero() {
			v.Add("starts_at", "is for one-off windows; a recurring window has cron, time_zone and duration_seconds")
		}
		if !w.EndsAt.IsZero() {
			v.Add("ends_at", "is for one-off windows; a recurring window has cron, time_zone and duration_seconds")
		}
		if w.Duration < time.Minute || w.Duration > MaxWindowDuration {
			v.Add("duration_seconds", "must be between 60 and %d", int(MaxWindowDuration/time.Second))
		}
	} else {
		if w.Duration != 0 {
			v.Add("duration_seconds", "is for recurring windows; a one-off window has starts_at and ends_at")
		}
		switch {
		case w.StartsAt.IsZero():
			v.Add("starts_at", "is required (RFC 3339), or give cron and duration_seconds for a recurring window")
		case w.EndsAt.IsZero():
			v.Add("ends_at", "is required (RFC 3339)")
		case !w.EndsAt.After(w.StartsAt):
			v.Add("ends_at", "must be after starts_at")
		}
	}
	// The time zone is checked apart from the cron expression, so that an
	// error names the right field, and for one-off windows too, which
	// store and show it.
	if _, err := loadZone(w.TimeZone); err != nil {
		v.Add("time_zone", "%s", err.Error())
	} else if err := w.Compile(); err != nil {
		v.Add("cron", "%s", err.Error())
	}
	return v.Err()
}

// Compile parses the window's cron expression and time zone for Active; a
// one-off window needs nothing. It is called by Validate and by whoever
// loads windows from storage.
func (w *Window) Compile() error {
	w.sched, w.loc = nil, nil // nothing stale from an earlier Compile
	if !w.Recurring() {
		return nil
	}
	loc, err := loadZone(w.TimeZone)
	if err != nil {
		return err
	}
	sched, _, err := monitor.ParseCron(w.Cron, "UTC")
	if err != nil {
		return err
	}
	// @every is a delay from whenever it is asked, not a time of day: it
	// gives a window no fixed start.
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return errNotCalendar
	}
	// A schedule that never fires (February 30th) would make a window that
	// never starts: say so rather than store it. Cron has no year, so any
	// date will do to look from (robfig/cron looks five years ahead, which
	// holds a February 29th).
	if spec.Next(time.Unix(0, 0).UTC()).IsZero() {
		return errNeverFires
	}
	w.sched, w.loc = spec, loc
	return nil
}

// loadZone loads a time zone by its IANA name. "Local" is refused: it
// would be whatever zone the server runs in.
func loadZone(name string) (*time.Location, error) {
	if name == "Local" {
		return nil, windowError(`"Local" is not a time zone; name one such as Europe/Berlin or UTC`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, windowError(fmt.Sprintf("%q is not a known time zone (an IANA name such as Europe/Berlin or UTC)", name))
	}
	return loc, nil
}

type windowError string

func (e windowError) Error() string { return string(e) }

const (
	errNeverFires  = windowError("never fires")
	errNotCalendar = windowError("must be a time of day (minute hour day-of-month month day-of-week, or @daily), not @every")
)

// Covers tells whether the window applies to a monitor.
func (w *Window) Covers(monitorID int64) bool {
	if w.AllMonitors {
		return true
	}
	_, ok := slices.BinarySearch(w.MonitorIDs, monitorID)
	return ok
}

// Active tells whether t falls inside the window (its start included, its
// end not). A recurring window is active at t when one of its occurrences
// started in (t - Duration, t]. Compile must have succeeded for a recurring
// window.
func (w *Window) Active(t time.Time) bool {
	if !w.Recurring() {
		return !t.Before(w.StartsAt) && t.Before(w.EndsAt)
	}
	start := w.nextStart(t.Add(-w.Duration))
	return !start.IsZero() && !start.After(t)
}

// Current returns the occurrence of the window that holds t, or else the
// next one after t; ok is false when there is none (a one-off window that
// has ended). The API shows it.
func (w *Window) Current(t time.Time) (start, end time.Time, ok bool) {
	if !w.Recurring() {
		if !t.Before(w.EndsAt) {
			return time.Time{}, time.Time{}, false
		}
		return w.StartsAt.UTC(), w.EndsAt.UTC(), true
	}
	start = w.nextStart(t.Add(-w.Duration))
	if start.IsZero() {
		return time.Time{}, time.Time{}, false
	}
	return start, start.Add(w.Duration), true
}

// maxSkips bounds how many firings nextStart passes over that lie before
// the instant it looks from: only firings in an hour the clocks repeat.
const maxSkips = 10000

// nextStart returns the start of the first occurrence after t, in UTC, or
// the zero time when there is none (or Compile did not succeed).
//
// The cron expression is read on the wall clock of the window's time zone,
// and each firing becomes the first instant that shows it. So a window
// fires once in an hour the clocks repeat (autumn), and a firing in an hour
// the clocks skip (spring) starts the window at the instant they skip:
// "0 2 * * *" in Europe/Berlin starts at 03:00 CEST on the last Sunday of
// March, as cron itself does, rather than not at all. An occurrence lasts
// Duration of real time.
func (w *Window) nextStart(t time.Time) time.Time {
	if w.sched == nil {
		return time.Time{}
	}
	// No firing at or before t's wall-clock time starts after t, so the
	// search starts there; firings after it in a repeated hour may still
	// start before t, and are passed over.
	wall := wallClock(t.In(w.loc))
	for range maxSkips {
		wall = w.sched.Next(wall)
		if wall.IsZero() {
			return time.Time{}
		}
		if at := instant(wall, w.loc); at.After(t) {
			return at.UTC()
		}
	}
	return time.Time{}
}

// wallClock returns the wall-clock reading of t as a time in UTC, where
// every reading happens exactly once.
func wallClock(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// instant returns the first instant at which the clocks of loc show wall
// (a wall-clock reading as made by wallClock), or, when they skip it, the
// instant they skip at.
func instant(wall time.Time, loc *time.Location) time.Time {
	y, mo, d := wall.Date()
	h, mi, s := wall.Clock()
	t := time.Date(y, mo, d, h, mi, s, wall.Nanosecond(), loc)
	start, end := t.ZoneBounds()
	// In an hour the clocks repeat, Date may pick either instant: the one
	// in the zone period before t's comes first.
	if !start.IsZero() {
		_, offset := start.Add(-time.Nanosecond).Zone()
		earlier := wall.Add(-time.Duration(offset) * time.Second).In(loc)
		if earlier.Before(start) && wallClock(earlier).Equal(wall) {
			return earlier
		}
	}
	if wallClock(t).Equal(wall) {
		return t
	}
	// The clocks skip wall. Date picked an instant beside the gap: before
	// it, whose period ends where the clocks skip, or after it, whose
	// period starts there.
	if wallClock(t).Before(wall) {
		return end
	}
	return start
}

// InMaintenance tells whether any of windows holds monitorID at t.
func InMaintenance(windows []Window, monitorID int64, t time.Time) bool {
	for i := range windows {
		if windows[i].Covers(monitorID) && windows[i].Active(t) {
			return true
		}
	}
	return false
}
