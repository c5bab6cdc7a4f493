// Package store is Pinguin's PostgreSQL layer: the connection pool,
// migrations, monitors (the source of truth, DESIGN.md invariant 1), the
// batch writer of check results and rollups, and the history queries. It is
// the only package that speaks SQL; pgx errors are translated here.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pinguin-dev/pinguin/internal/secret"
)

// Store runs Pinguin's queries on one PostgreSQL pool.
type Store struct {
	pool *pgxpool.Pool
	keys *secret.Keys // nil: secrets are stored as they are
	// queued is signalled when this process queued deliveries (Queued).
	queued chan struct{}
}

// UseSecrets makes the store seal secrets (monitor headers) with keys, and
// open ones sealed with any of them. Call it before the store is used.
func (s *Store) UseSecrets(keys *secret.Keys) { s.keys = keys }

// Open connects a pool to url and checks that the server answers.
func Open(ctx context.Context, url string, maxConns int32) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create database pool: %w", err)
	}
	return &Store{pool: pool, queued: make(chan struct{}, 1)}, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that PostgreSQL answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// Pool exposes the pool to tests and tools in this module.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// WaitForSchema blocks until the database holds at least the schema version
// the binaries were built with, retrying and logging, or until ctx ends.
func (s *Store) WaitForSchema(ctx context.Context, logger *slog.Logger) error {
	want, err := LatestVersion()
	if err != nil {
		return err
	}
	delay := 500 * time.Millisecond
	for {
		have, dirty, err := s.schemaVersion(ctx)
		switch {
		case err == nil && !dirty && have >= want:
			return nil
		case err != nil:
			logger.WarnContext(ctx, "waiting for database", "err", err)
		default:
			logger.InfoContext(ctx, "waiting for migrations (the api applies them)", "have", have, "want", want, "dirty", dirty)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for schema version %d: %w", want, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

func (s *Store) schemaVersion(ctx context.Context) (version uint, dirty bool, err error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, false, fmt.Errorf("read schema version: %w", err)
	}
	if !exists {
		return 0, false, nil
	}
	var v int64
	err = s.pool.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations LIMIT 1`).Scan(&v, &dirty)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read schema version: %w", err)
	}
	return uint(v), dirty, nil
}
