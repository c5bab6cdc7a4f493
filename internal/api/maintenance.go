package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// windowJSON is a maintenance window as the API shows it, with whether it
// is active now and its occurrence in progress or next.
type windowJSON struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	Monitors        []string   `json:"monitors"`
	AllMonitors     bool       `json:"all_monitors"`
	StartsAt        *time.Time `json:"starts_at"`
	EndsAt          *time.Time `json:"ends_at"`
	Cron            string     `json:"cron,omitempty"`
	TimeZone        string     `json:"time_zone"`
	DurationSeconds int        `json:"duration_seconds"`
	Active          bool       `json:"active"`
	CurrentStart    *time.Time `json:"current_start"`
	CurrentEnd      *time.Time `json:"current_end"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

func toWindowJSON(w *alert.Window, now time.Time) windowJSON {
	out := windowJSON{
		ID: monitor.FormatID(w.ID), Name: w.Name, Monitors: make([]string, len(w.MonitorIDs)),
		AllMonitors: w.AllMonitors, Cron: w.Cron, TimeZone: w.TimeZone,
		DurationSeconds: int(w.Duration / time.Second), Active: w.Active(now),
		CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC(),
	}
	for i, id := range w.MonitorIDs {
		out.Monitors[i] = monitor.FormatID(id)
	}
	if !w.StartsAt.IsZero() {
		out.StartsAt = utc(w.StartsAt)
	}
	if !w.EndsAt.IsZero() {
		out.EndsAt = utc(w.EndsAt)
	}
	if start, end, ok := w.Current(now); ok {
		out.CurrentStart, out.CurrentEnd = utc(start), utc(end)
	}
	return out
}

// windowInput holds the fields of a maintenance window body; nil when
// absent. A starts_at or ends_at sent as null is the zero time: it clears
// the field, to turn a one-off window into a recurring one.
type windowInput struct {
	name, cron, timeZone *string
	monitors             *[]int64
	allMonitors          *bool
	startsAt, endsAt     *time.Time
	durationSeconds      *int
}

// decodeWindow reads a maintenance window body, adding to v every field
// that is unknown, read-only, of the wrong type or (but for starts_at and
// ends_at) null.
func decodeWindow(fields map[string]json.RawMessage, v *monitor.ValidationError) windowInput {
	var in windowInput
	for _, name := range slices.Sorted(maps.Keys(fields)) { // errors in a stable order
		raw := fields[name]
		var err error
		switch name {
		case "name":
			in.name, err = field[string](raw, "a string")
		case "monitors":
			in.monitors, err = windowMonitorIDs(raw)
		case "all_monitors":
			in.allMonitors, err = field[bool](raw, "true or false")
		case "starts_at":
			in.startsAt, err = windowTime(raw)
		case "ends_at":
			in.endsAt, err = windowTime(raw)
		case "cron":
			in.cron, err = field[string](raw, "a string such as \"0 2 * * 0\"")
		case "time_zone":
			in.timeZone, err = field[string](raw, "a string such as Europe/Berlin")
		case "duration_seconds":
			in.durationSeconds, err = field[int](raw, "a whole number")
		case "id", "active", "current_start", "current_end", "created_at", "updated_at":
			err = errors.New("is read-only")
		default:
			err = errors.New("is not a known field")
		}
		if err != nil {
			v.Add(name, "%s", err.Error())
		}
	}
	return in
}

// windowMonitorIDs reads a list of monitor ids as the API shows them.
func windowMonitorIDs(raw json.RawMessage) (*[]int64, error) {
	ids, err := field[[]string](raw, "a list of monitor ids such as [\"3\"]")
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(*ids))
	for i, s := range *ids {
		if out[i], err = monitor.ParseID(s); err != nil {
			return nil, fmt.Errorf("holds %q, which is not a monitor id", s)
		}
	}
	return &out, nil
}

// windowTime reads an RFC 3339 time, or null for none.
func windowTime(raw json.RawMessage) (*time.Time, error) {
	if strings.TrimSpace(string(raw)) == "null" {
		return &time.Time{}, nil
	}
	t, err := field[time.Time](raw, "an RFC 3339 time such as 2026-01-02T15:04:05Z, or null")
	if err != nil {
		return nil, err
	}
	if t.UTC().Year() < 1970 || t.UTC().Year() > 9999 {
		return nil, errors.New("must be between the years 1970 and 9999")
	}
	return t, nil
}

// apply sets the given fields on w.
func (in *windowInput) apply(w *alert.Window) {
	if in.name != nil {
		w.Name = strings.TrimSpace(*in.name)
	}
	if in.monitors != nil {
		w.MonitorIDs = *in.monitors
	}
	if in.allMonitors != nil {
		w.AllMonitors = *in.allMonitors
	}
	if in.startsAt != nil {
		w.StartsAt = *in.startsAt
	}
	if in.endsAt != nil {
		w.EndsAt = *in.endsAt
	}
	if in.cron != nil {
		w.Cron = strings.TrimSpace(*in.cron)
	}
	if in.timeZone != nil {
		w.TimeZone = strings.TrimSpace(*in.timeZone)
	}
	if in.durationSeconds != nil {
		// Clamped just outside the bounds, so that a huge number is
		// refused by Validate instead of overflowing.
		limit := int(alert.MaxWindowDuration / time.Second)
		w.Duration = time.Duration(max(-1, min(limit+1, *in.durationSeconds))) * time.Second
	}
}

// validateWindow checks w, and that the monitor ids given in the request,
// if any, are monitors. Ids a window already had are not checked again: a
// monitor deleted since is no reason to refuse another change.
func (s *Server) validateWindow(ctx context.Context, w *alert.Window, given *[]int64) error {
	if err := w.Validate(); err != nil || given == nil || len(*given) == 0 {
		return err
	}
	missing, err := s.store.MissingMonitors(ctx, *given)
	if err != nil {
		return err
	}
	return unknownIDs("monitors", "monitor", missing)
}

// unknownIDs is the validation error of a list field that holds ids of no
// kind (none when missing is empty).
func unknownIDs(field, kind string, missing []int64) error {
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, len(missing))
	for i, id := range missing {
		names[i] = fmt.Sprintf("%q", monitor.FormatID(id))
	}
	var v monitor.ValidationError
	v.Add(field, "holds ids of no %s: %s", kind, strings.Join(names, ", "))
	return v.Err()
}

func (s *Server) createWindow(w http.ResponseWriter, r *http.Request) {
	fields, err := readObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var v monitor.ValidationError
	in := decodeWindow(fields, &v)
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	win := alert.Window{TimeZone: "UTC"}
	in.apply(&win)
	if err := s.validateWindow(r.Context(), &win, in.monitors); err != nil {
		s.writeError(w, r, err)
		return
	}
	created, err := s.store.CreateWindow(r.Context(), win)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := toWindowJSON(&created, s.now())
	w.Header().Set("Location", "/api/v1/maintenance/"+out.ID)
	writeJSON(w, s.logger, http.StatusCreated, out)
}

func (s *Server) listWindows(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.ListWindows(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now()
	out := make([]windowJSON, len(list))
	for i := range list {
		out[i] = toWindowJSON(&list[i], now)
	}
	writeJSON(w, s.logger, http.StatusOK, map[string]any{"windows": out})
}

func (s *Server) getWindow(w http.ResponseWriter, r *http.Request) {
	id, err := windowRoute.pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	win, err := s.store.GetWindow(r.Context(), id)
	if err != nil {
		s.writeError(w, r, windowRoute.err(err))
		return
	}
	writeJSON(w, s.logger, http.StatusOK, toWindowJSON(&win, s.now()))
}

func (s *Server) updateWindow(w http.ResponseWriter, r *http.Request) {
	id, err := windowRoute.pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	fields, err := readObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var v monitor.ValidationError
	in := decodeWindow(fields, &v)
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	updated, err := s.store.UpdateWindow(r.Context(), id, func(win *alert.Window) error {
		in.apply(win)
		return s.validateWindow(r.Context(), win, in.monitors)
	})
	if err != nil {
		s.writeError(w, r, windowRoute.err(err))
		return
	}
	writeJSON(w, s.logger, http.StatusOK, toWindowJSON(&updated, s.now()))
}

func (s *Server) deleteWindow(w http.ResponseWriter, r *http.Request) {
	id, err := windowRoute.pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.DeleteWindow(r.Context(), id); err != nil {
		s.writeError(w, r, windowRoute.err(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
