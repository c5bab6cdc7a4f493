package alert

import (
	"slices"
	"strings"
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

	sched cron.Schedule // parsed Cron, set by Compile
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
		if !w.StartsAt.IsZero() || !w.EndsAt.IsZero() {
			v.Add("starts_at", "is for one-off windows; a recurring window has cron, time_zone and duration_seconds")
		}
		if w.Duration < time.Minute || w.Duration > MaxWindowDuration {
			v.Add("duration_seconds", "must be between 60 and %d", int(MaxWindowDuration/time.Second))
		}
		if err := w.Compile(); err != nil {
			field := "cron"
			if strings.HasPrefix(err.Error(), "time zone") {
				field = "time_zone"
			}
			v.Add(field, "%s", err.Error())
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
	return v.Err()
}

// Compile parses the window's cron expression and time zone for Active; a
// one-off window needs nothing. It is called by Validate and by whoever
// loads windows from storage.
func (w *Window) Compile() error {
	if !w.Recurring() {
		return nil
	}
	sched, loc, err := monitor.ParseCron(w.Cron, w.TimeZone)
	if err != nil {
		return err
	}
	// A schedule that never fires (February 30th) would make a window that
	// never starts: say so rather than store it.
	if next := sched.Next(time.Now().In(loc)); next.IsZero() {
		return errNeverFires
	}
	w.sched, w.loc = sched, loc
	return nil
}

type windowError string

func (e windowError) Error() string { return string(e) }

const errNeverFires = windowError("never fires")

// Covers tells whether the window applies to a monitor.
func (w *Window) Covers(monitorID int64) bool {
	if w.AllMonitors {
		return true
	}
	_, ok := slices.BinarySearch(w.MonitorIDs, monitorID)
	return ok
}

// Active tells whether t falls inside the window (its start included, its
// end not). A recurring window is active at t when it fired in
// (t - Duration, t]: when the first firing after t - Duration is not later
// than t. Compile must have succeeded for a recurring window.
func (w *Window) Active(t time.Time) bool {
	if !w.Recurring() {
		return !t.Before(w.StartsAt) && t.Before(w.EndsAt)
	}
	if w.sched == nil {
		return false
	}
	next := w.sched.Next(t.Add(-w.Duration).In(w.loc))
	return !next.IsZero() && !next.After(t)
}

// Current returns the occurrence of the window that holds t, or else the
// next one after t; ok is false when there is none (a one-off window that
// has ended). The API shows it.
func (w *Window) Current(t time.Time) (start, end time.Time, ok bool) {
	if !w.Recurring() {
		if !t.Before(w.EndsAt) {
			return time.Time{}, time.Time{}, false
		}
		return w.StartsAt, w.EndsAt, true
	}
	if w.sched == nil {
		return time.Time{}, time.Time{}, false
	}
	next := w.sched.Next(t.Add(-w.Duration).In(w.loc))
	if next.IsZero() {
		return time.Time{}, time.Time{}, false
	}
	return next.UTC(), next.Add(w.Duration).UTC(), true
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
