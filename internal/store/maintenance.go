package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pinguin-dev/pinguin/internal/alert"
)

const windowColumns = `id, name, all_monitors, monitor_ids, starts_at, ends_at, cron, time_zone,
	duration_seconds, created_at, updated_at`

// querier runs a query on a pool or in a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// scanWindow reads a maintenance window and compiles it.
func scanWindow(row pgx.Row) (alert.Window, error) {
	var w alert.Window
	var starts, ends *time.Time
	var seconds int32
	err := row.Scan(&w.ID, &w.Name, &w.AllMonitors, &w.MonitorIDs, &starts, &ends, &w.Cron, &w.TimeZone,
		&seconds, &w.CreatedAt, &w.UpdatedAt)
	if err != nil {
		return w, err
	}
	if starts != nil {
		w.StartsAt = *starts
	}
	if ends != nil {
		w.EndsAt = *ends
	}
	w.Duration = time.Duration(seconds) * time.Second
	// A stored window was valid when written. One that no longer compiles
	// (its time zone left the tz database) stays uncompiled, which makes
	// it never active: better than failing every batch write that loads
	// the windows.
	_ = w.Compile()
	return w, nil
}

// windowArgs are the stored columns of w, its monitor ids sorted and
// without repeats (as Covers needs them), an empty time zone as UTC.
func windowArgs(w *alert.Window) pgx.NamedArgs {
	ids := slices.Clone(w.MonitorIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if ids == nil {
		ids = []int64{}
	}
	zone := w.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	return pgx.NamedArgs{
		"name": w.Name, "all": w.AllMonitors, "ids": ids, "starts": nullTime(w.StartsAt), "ends": nullTime(w.EndsAt),
		"cron": w.Cron, "zone": zone, "seconds": int32(w.Duration / time.Second),
	}
}

// CreateWindow stores a maintenance window and returns it as stored. The
// caller validates it (alert.Window.Validate, and MissingMonitors).
func (s *Store) CreateWindow(ctx context.Context, w alert.Window) (alert.Window, error) {
	out, err := scanWindow(s.pool.QueryRow(ctx, `
		INSERT INTO maintenance_windows (name, all_monitors, monitor_ids, starts_at, ends_at, cron, time_zone, duration_seconds)
		VALUES (@name, @all, @ids, @starts, @ends, @cron, @zone, @seconds)
		RETURNING `+windowColumns, windowArgs(&w)))
	if err != nil {
		return out, fmt.Errorf("insert maintenance window: %w", err)
	}
	return out, nil
}

// GetWindow returns one maintenance window, or alert.ErrNotFound.
func (s *Store) GetWindow(ctx context.Context, id int64) (alert.Window, error) {
	w, err := scanWindow(s.pool.QueryRow(ctx, `SELECT `+windowColumns+` FROM maintenance_windows WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return w, alert.ErrNotFound
	}
	if err != nil {
		return w, fmt.Errorf("select maintenance window: %w", err)
	}
	return w, nil
}

// ListWindows returns every maintenance window, in id order.
func (s *Store) ListWindows(ctx context.Context) ([]alert.Window, error) {
	return queryWindows(ctx, s.pool, false)
}

// queryWindows loads maintenance windows, compiled, in id order, in one
// query on q. With current, one-off windows that ended more than a day ago
// are left out: the batch writer calls it so in its transaction to flag
// checks made during maintenance, and results are written within seconds
// of their check (or lost), so old windows flag nothing.
func queryWindows(ctx context.Context, q querier, current bool) ([]alert.Window, error) {
	rows, err := q.Query(ctx, windowsSQL, current)
	if err != nil {
		return nil, fmt.Errorf("select maintenance windows: %w", err)
	}
	return collectWindows(rows)
}

// windowsSQL selects the windows queryWindows returns; its argument is
// current.
const windowsSQL = `SELECT ` + windowColumns + ` FROM maintenance_windows
	WHERE NOT $1 OR cron <> '' OR ends_at > now() - interval '1 day' ORDER BY id`

// collectWindows reads the rows of windowsSQL.
func collectWindows(rows pgx.Rows) ([]alert.Window, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alert.Window, error) { return scanWindow(r) })
	if err != nil {
		return nil, fmt.Errorf("select maintenance windows: %w", err)
	}
	return out, nil
}

// UpdateWindow loads window id under a row lock, lets change modify it,
// and stores the result, all in one transaction. change returns an error to
// abort (a validation error, say), which UpdateWindow passes on unchanged.
func (s *Store) UpdateWindow(ctx context.Context, id int64, change func(*alert.Window) error) (alert.Window, error) {
	var out alert.Window
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		w, err := scanWindow(tx.QueryRow(ctx, `SELECT `+windowColumns+` FROM maintenance_windows WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return alert.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("select maintenance window for update: %w", err)
		}
		if err := change(&w); err != nil {
			return err
		}
		args := windowArgs(&w)
		args["id"] = id
		out, err = scanWindow(tx.QueryRow(ctx, `
			UPDATE maintenance_windows SET name = @name, all_monitors = @all, monitor_ids = @ids,
				starts_at = @starts, ends_at = @ends, cron = @cron, time_zone = @zone,
				duration_seconds = @seconds, updated_at = now()
			WHERE id = @id
			RETURNING `+windowColumns, args))
		if err != nil {
			return fmt.Errorf("update maintenance window: %w", err)
		}
		return nil
	})
	return out, err
}

// DeleteWindow removes a maintenance window, or returns alert.ErrNotFound.
func (s *Store) DeleteWindow(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM maintenance_windows WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete maintenance window: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return alert.ErrNotFound
	}
	return nil
}

// MissingMonitors returns which of ids are not monitors, sorted and
// without repeats, so that a window naming them can be refused.
func (s *Store) MissingMonitors(ctx context.Context, ids []int64) ([]int64, error) {
	return s.missingIDs(ctx, "monitors", ids)
}

// missingIDs returns which of ids are not ids of table (channels or
// monitors, named by this package only), ascending and without repeats.
func (s *Store) missingIDs(ctx context.Context, table string, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT u.id FROM unnest($1::bigint[]) AS u(id)
		WHERE NOT EXISTS (SELECT 1 FROM `+table+` t WHERE t.id = u.id)
		ORDER BY u.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("look for %s: %w", table, err)
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("look for %s: %w", table, err)
	}
	return missing, nil
}
