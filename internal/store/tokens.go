package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pinguin-dev/pinguin/internal/auth"
)

// ErrTokenNotFound is returned for an unknown token.
var ErrTokenNotFound = errors.New("token not found")

const tokenColumns = `id, name, scope, hint, hash, created_at, expires_at, last_used_at`

func scanToken(row pgx.Row) (auth.Token, error) {
	var t auth.Token
	var scope string
	err := row.Scan(&t.ID, &t.Name, &scope, &t.Hint, &t.Hash, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt)
	t.Scope = auth.Scope(scope)
	return t, err
}

// CreateToken stores a token's hash and returns the stored token.
func (s *Store) CreateToken(ctx context.Context, name string, scope auth.Scope, hash []byte, hint string, expires *time.Time) (auth.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `
		INSERT INTO api_tokens (name, scope, hash, hint, expires_at) VALUES ($1, $2, $3, $4, $5)
		RETURNING `+tokenColumns, name, string(scope), hash, hint, expires))
	if err != nil {
		return t, fmt.Errorf("insert token: %w", err)
	}
	return t, nil
}

// EnsureToken stores a token given from outside (PINGUIN_ADMIN_TOKEN) unless
// a token with the same hash exists.
func (s *Store) EnsureToken(ctx context.Context, name string, scope auth.Scope, hash []byte, hint string) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO api_tokens (name, scope, hash, hint) VALUES ($1, $2, $3, $4)
		ON CONFLICT (hash) DO UPDATE SET scope = EXCLUDED.scope, expires_at = NULL`,
		name, string(scope), hash, hint)
	if err != nil {
		return fmt.Errorf("ensure token: %w", err)
	}
	return nil
}

// CreateFirstToken creates a token only when none exists, and reports
// whether it did. Several api replicas starting at once create one between
// them: the check and the insert run under a transaction-scoped advisory lock.
func (s *Store) CreateFirstToken(ctx context.Context, name string, scope auth.Scope, hash []byte, hint string) (bool, error) {
	created := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('pinguin:first-token'))`); err != nil {
			return fmt.Errorf("lock for first token: %w", err)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM api_tokens)`).Scan(&exists); err != nil {
			return fmt.Errorf("look for tokens: %w", err)
		}
		if exists {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO api_tokens (name, scope, hash, hint) VALUES ($1, $2, $3, $4)`,
			name, string(scope), hash, hint); err != nil {
			return fmt.Errorf("insert first token: %w", err)
		}
		created = true
		return nil
	})
	return created, err
}

// TokenByHash finds the token with the given hash, or ErrTokenNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (auth.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, ErrTokenNotFound
	}
	if err != nil {
		return t, fmt.Errorf("select token: %w", err)
	}
	return t, nil
}

// TouchToken records that a token was used at now, at most once a minute,
// so that busy clients do not write a row per request.
func (s *Store) TouchToken(ctx context.Context, id int64, now time.Time) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE api_tokens SET last_used_at = $2
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - interval '1 minute')`, id, now)
	if err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}

// ListTokens returns every token, oldest first.
func (s *Store) ListTokens(ctx context.Context) ([]auth.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.Token, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// DeleteToken revokes a token.
func (s *Store) DeleteToken(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrTokenNotFound
	}
	return nil
}
