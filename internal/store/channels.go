package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pinguin-dev/pinguin/internal/alert"
)

const channelColumns = `id, name, type, settings, secrets, secrets_sealed, is_default, created_at, updated_at`

// scanChannel reads a row of channelColumns, opening its sealed secrets.
func (s *Store) scanChannel(row pgx.Row) (alert.Channel, error) {
	var c alert.Channel
	var sealed []byte
	if err := row.Scan(&c.ID, &c.Name, &c.Type, &c.Settings, &c.Secrets, &sealed, &c.Default, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return c, err
	}
	if sealed != nil {
		if err := s.openSealed(ownerChannel, c.ID, "secrets", sealed, &c.Secrets); err != nil {
			return c, err
		}
	}
	return c, nil
}

// orEmpty is m, or an empty map for nil: the jsonb columns are NOT NULL.
func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// CreateChannel inserts c and returns it as stored. With secret keys, its
// secrets are sealed: the sealed value names the row, so the insert and
// the sealing share a transaction.
func (s *Store) CreateChannel(ctx context.Context, c alert.Channel) (alert.Channel, error) {
	var out alert.Channel
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `
			INSERT INTO channels (name, type, settings, is_default)
			VALUES (@name, @type, @settings, @default)
			RETURNING id`,
			pgx.NamedArgs{"name": c.Name, "type": c.Type, "settings": orEmpty(c.Settings), "default": c.Default}).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert channel: %w", err)
		}
		secrets, sealed, err := s.sealMap(ownerChannel, id, "secrets", c.Secrets)
		if err != nil {
			return err
		}
		out, err = s.scanChannel(tx.QueryRow(ctx, `
			UPDATE channels SET secrets = @secrets, secrets_sealed = @sealed
			WHERE id = @id
			RETURNING `+channelColumns,
			pgx.NamedArgs{"id": id, "secrets": secrets, "sealed": sealed}))
		if err != nil {
			return fmt.Errorf("store channel secrets: %w", err)
		}
		return nil
	})
	return out, err
}

// GetChannel returns one channel, or alert.ErrNotFound.
func (s *Store) GetChannel(ctx context.Context, id int64) (alert.Channel, error) {
	c, err := s.scanChannel(s.pool.QueryRow(ctx, `SELECT `+channelColumns+` FROM channels WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, alert.ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("select channel: %w", err)
	}
	return c, nil
}

// ListChannels returns every channel in id order. There are few of them,
// so the list is not paged.
func (s *Store) ListChannels(ctx context.Context) ([]alert.Channel, error) {
	return s.queryChannels(ctx, `SELECT `+channelColumns+` FROM channels ORDER BY id`)
}

// ChannelsByID returns the channels with the given ids that exist, by id,
// their secrets opened: what the delivery loop sends through.
func (s *Store) ChannelsByID(ctx context.Context, ids []int64) (map[int64]alert.Channel, error) {
	list, err := s.queryChannels(ctx, `SELECT `+channelColumns+` FROM channels WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]alert.Channel, len(list))
	for _, c := range list {
		out[c.ID] = c
	}
	return out, nil
}

func (s *Store) queryChannels(ctx context.Context, sql string, args ...any) ([]alert.Channel, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("select channels: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alert.Channel, error) {
		return s.scanChannel(r)
	})
	if err != nil {
		return nil, fmt.Errorf("select channels: %w", err)
	}
	return out, nil
}

// MissingChannels returns which of ids no channel has, in ascending order
// and each once; none when all exist.
func (s *Store) MissingChannels(ctx context.Context, ids []int64) ([]int64, error) {
	return s.missingIDs(ctx, "channels", ids)
}

// UpdateChannel loads channel id under a row lock, lets change modify it,
// and stores the result, all in one transaction. change returns an error
// to abort (a validation error, say), which UpdateChannel passes on
// unchanged. Its id and times are not change's to set.
func (s *Store) UpdateChannel(ctx context.Context, id int64, change func(*alert.Channel) error) (alert.Channel, error) {
	var out alert.Channel
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c, err := s.scanChannel(tx.QueryRow(ctx, `SELECT `+channelColumns+` FROM channels WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return alert.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("select channel for update: %w", err)
		}
		if err := change(&c); err != nil {
			return err
		}
		secrets, sealed, err := s.sealMap(ownerChannel, id, "secrets", c.Secrets)
		if err != nil {
			return err
		}
		out, err = s.scanChannel(tx.QueryRow(ctx, `
			UPDATE channels SET name = @name, type = @type, settings = @settings, secrets = @secrets,
				secrets_sealed = @sealed, is_default = @default, updated_at = now()
			WHERE id = @id
			RETURNING `+channelColumns,
			pgx.NamedArgs{
				"id": id, "name": c.Name, "type": c.Type, "settings": orEmpty(c.Settings),
				"secrets": secrets, "sealed": sealed, "default": c.Default,
			}))
		if err != nil {
			return fmt.Errorf("update channel: %w", err)
		}
		return nil
	})
	return out, err
}

// DeleteChannel removes a channel, or returns alert.ErrNotFound. Monitors
// stop naming it and its deliveries go with it (foreign keys with ON
// DELETE CASCADE); the monitors that named it count as changed, so that
// workers' caches of them are refreshed by the updated_at sweep.
func (s *Store) DeleteChannel(ctx context.Context, id int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			UPDATE monitors SET updated_at = now()
			WHERE id IN (SELECT monitor_id FROM monitor_channels WHERE channel_id = $1)`, id)
		if err != nil {
			return fmt.Errorf("touch the channel's monitors: %w", err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM channels WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete channel: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return alert.ErrNotFound
		}
		return nil
	})
}
