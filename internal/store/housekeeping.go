package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// purgeGrace is how long a tombstone stays after its monitor's rows are
// gone, so that results still in flight when it was deleted are purged too.
const purgeGrace = 10 * time.Minute

// PurgeDeleted removes the results, rollups and tombstones of deleted
// monitors, one day of one monitor's results per statement so no single
// statement runs long. It stops after maxStatements and reports the rows
// it removed.
func (s *Store) PurgeDeleted(ctx context.Context, now time.Time, maxStatements int) (int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT monitor_id, deleted_at FROM deleted_monitors ORDER BY deleted_at LIMIT 100`)
	if err != nil {
		return 0, fmt.Errorf("select tombstones: %w", err)
	}
	type tomb struct {
		id int64
		at time.Time
	}
	tombs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tomb, error) {
		var t tomb
		return t, r.Scan(&t.id, &t.at)
	})
	if err != nil {
		return 0, fmt.Errorf("select tombstones: %w", err)
	}
	var removed int64
	for _, t := range tombs {
		for {
			if maxStatements <= 0 {
				return removed, nil
			}
			maxStatements--
			tag, err := s.pool.Exec(ctx, `
				DELETE FROM check_results
				WHERE monitor_id = $1
				  AND time < (SELECT min(time) + interval '1 day' FROM check_results WHERE monitor_id = $1)`, t.id)
			if err != nil {
				return removed, fmt.Errorf("purge results of monitor %d: %w", t.id, err)
			}
			removed += tag.RowsAffected()
			if tag.RowsAffected() == 0 {
				break
			}
		}
		tag, err := s.pool.Exec(ctx, `DELETE FROM check_rollups_hourly WHERE monitor_id = $1`, t.id)
		if err != nil {
			return removed, fmt.Errorf("purge rollups of monitor %d: %w", t.id, err)
		}
		removed += tag.RowsAffected()
		if _, err := s.pool.Exec(ctx, `DELETE FROM monitor_state WHERE monitor_id = $1`, t.id); err != nil {
			return removed, fmt.Errorf("purge state of monitor %d: %w", t.id, err)
		}
		if now.Sub(t.at) > purgeGrace {
			if _, err := s.pool.Exec(ctx, `DELETE FROM deleted_monitors WHERE monitor_id = $1`, t.id); err != nil {
				return removed, fmt.Errorf("remove tombstone of monitor %d: %w", t.id, err)
			}
		}
	}
	return removed, nil
}

// Hypertable reports whether check_results is a TimescaleDB hypertable.
func (s *Store) Hypertable(ctx context.Context) (bool, error) {
	var ext bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')`).Scan(&ext); err != nil {
		return false, fmt.Errorf("look for timescaledb: %w", err)
	}
	if !ext {
		return false, nil
	}
	var hyper bool
	err := s.pool.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
		               WHERE hypertable_name = 'check_results')`).Scan(&hyper)
	if err != nil {
		return false, fmt.Errorf("look for hypertable: %w", err)
	}
	return hyper, nil
}

// ApplyRetention removes raw results older than resultsBefore and rollups
// older than rollupsBefore. On TimescaleDB whole chunks are dropped; on
// plain PostgreSQL rows are deleted an hour of data per statement, at most
// maxStatements of them per call, so a backlog is worked off over several
// runs instead of in one long transaction.
func (s *Store) ApplyRetention(ctx context.Context, resultsBefore, rollupsBefore time.Time, maxStatements int) (int64, error) {
	var removed int64
	hyper, err := s.Hypertable(ctx)
	if err != nil {
		return 0, err
	}
	if hyper {
		if _, err := s.pool.Exec(ctx, `SELECT drop_chunks('check_results', older_than => $1::timestamptz)`, resultsBefore); err != nil {
			return 0, fmt.Errorf("drop old chunks: %w", err)
		}
	} else {
		n, err := s.deleteOlder(ctx, `
			DELETE FROM check_results
			WHERE time < LEAST($1, (SELECT min(time) + interval '1 hour' FROM check_results))`, resultsBefore, maxStatements)
		removed += n
		if err != nil {
			return removed, fmt.Errorf("delete old results: %w", err)
		}
	}
	n, err := s.deleteOlder(ctx, `
		DELETE FROM check_rollups_hourly
		WHERE bucket < LEAST($1, (SELECT min(bucket) + interval '1 day' FROM check_rollups_hourly))`, rollupsBefore, maxStatements)
	removed += n
	if err != nil {
		return removed, fmt.Errorf("delete old rollups: %w", err)
	}
	n, err = s.expireAlerting(ctx, resultsBefore, rollupsBefore, maxStatements)
	removed += n
	return removed, err
}

// expireAlerting removes what alerting keeps past its use: sent and dead
// deliveries and certificate notices as old as the raw results, and
// incidents resolved as long ago as the rollups (with their timelines and
// deliveries). Pending deliveries and open incidents are never removed.
func (s *Store) expireAlerting(ctx context.Context, resultsBefore, rollupsBefore time.Time, maxStatements int) (int64, error) {
	var removed int64
	for _, step := range []struct {
		what, sql string
		before    time.Time
	}{
		{"deliveries", `DELETE FROM deliveries WHERE id IN (
			SELECT id FROM deliveries WHERE state <> 'pending' AND created_at < $1 LIMIT 10000)`, resultsBefore},
		{"certificate notices", `DELETE FROM cert_notices WHERE (monitor_id, expires_at, days) IN (
			SELECT monitor_id, expires_at, days FROM cert_notices WHERE expires_at < $1 LIMIT 10000)`, resultsBefore},
		{"incidents", `DELETE FROM incidents WHERE id IN (
			SELECT id FROM incidents WHERE resolved_at < $1 LIMIT 1000)`, rollupsBefore},
	} {
		n, err := s.deleteOlder(ctx, step.sql, step.before, maxStatements)
		removed += n
		if err != nil {
			return removed, fmt.Errorf("delete old %s: %w", step.what, err)
		}
	}
	return removed, nil
}

func (s *Store) deleteOlder(ctx context.Context, sql string, before time.Time, maxStatements int) (int64, error) {
	var removed int64
	for range maxStatements {
		tag, err := s.pool.Exec(ctx, sql, before)
		if err != nil {
			return removed, err
		}
		removed += tag.RowsAffected()
		if tag.RowsAffected() == 0 {
			break
		}
	}
	return removed, nil
}
