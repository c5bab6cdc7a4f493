package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// ErrSecretsUnreadable says stored secrets cannot be opened with the
// configured keys.
var ErrSecretsUnreadable = errors.New("stored secrets cannot be opened: set PINGUIN_SECRET_KEY (and PINGUIN_SECRET_KEY_PREVIOUS) to the keys they were sealed with")

// Owners of sealed secrets, named in the associated data with the row's id
// and the column, so that a sealed value opens only where it was written.
const (
	ownerMonitor = "monitor"
	ownerChannel = "channel"
)

// sealAD is the associated data of a sealed map: "<owner>:<id>:<label>",
// such as "channel:7:secrets".
func sealAD(owner string, id int64, label string) []byte {
	return []byte(owner + ":" + strconv.FormatInt(id, 10) + ":" + label)
}

// sealed is what to store of a monitor's secrets: with keys, empty plain
// maps and the sealed JSON; without, the maps as they are.
type sealed struct {
	headers, secrets             map[string]string
	headersSealed, secretsSealed []byte
}

func (s *Store) sealSecrets(id int64, m *monitor.Monitor) (sealed, error) {
	var out sealed
	var err error
	if out.headers, out.headersSealed, err = s.sealMap(ownerMonitor, id, "headers", m.Headers); err != nil {
		return out, err
	}
	out.secrets, out.secretsSealed, err = s.sealMap(ownerMonitor, id, "secrets", secretsOf(m))
	return out, err
}

// sealMap returns what to store of the map label of row id of owner: with
// keys, an empty plain map and the sealed JSON; without, values as they are.
func (s *Store) sealMap(owner string, id int64, label string, values map[string]string) (map[string]string, []byte, error) {
	if values == nil {
		values = map[string]string{}
	}
	if s.keys == nil || len(values) == 0 {
		return values, nil, nil
	}
	raw, err := json.Marshal(values)
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s: %w", label, err)
	}
	return map[string]string{}, s.keys.Seal(raw, sealAD(owner, id, label)), nil
}

// openSealed opens the sealed map label of row id of owner into into.
func (s *Store) openSealed(owner string, id int64, label string, ciphertext []byte, into *map[string]string) error {
	if s.keys == nil {
		return fmt.Errorf("%s %d: %w", owner, id, ErrSecretsUnreadable)
	}
	raw, err := s.keys.Open(ciphertext, sealAD(owner, id, label))
	if err != nil {
		return fmt.Errorf("%s %d: %w: %w", owner, id, ErrSecretsUnreadable, err)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("%s %d: decode sealed %s: %w", owner, id, label, err)
	}
	return nil
}

// CheckSecrets opens one sealed value, a monitor's or else a channel's, so
// a wrong or missing key is found at start rather than at the first read.
func (s *Store) CheckSecrets(ctx context.Context) error {
	var owner string
	var id int64
	var sealed []byte
	err := s.pool.QueryRow(ctx, `
		(SELECT 'monitor', id, coalesce(headers_sealed, secrets_sealed) FROM monitors
		 WHERE headers_sealed IS NOT NULL OR secrets_sealed IS NOT NULL LIMIT 1)
		UNION ALL
		(SELECT 'channel', id, secrets_sealed FROM channels WHERE secrets_sealed IS NOT NULL LIMIT 1)
		LIMIT 1`).Scan(&owner, &id, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read a sealed secret: %w", err)
	}
	// Which label sealed it is not known here (a monitor's headers or
	// secrets, a channel's secrets); either opening proves the key.
	var values map[string]string
	if err := s.openSealed(owner, id, "headers", sealed, &values); err == nil {
		return nil
	}
	return s.openSealed(owner, id, "secrets", sealed, &values)
}

// ResealSecrets seals, with the current key, secrets sealed with an older
// key and secrets stored in plain JSON (monitors' headers and secrets, then
// channels' secrets), up to about limit rows per call. It returns how many
// it re-sealed; 0 means nothing is left to do.
func (s *Store) ResealSecrets(ctx context.Context, limit int) (int, error) {
	if s.keys == nil {
		return 0, nil
	}
	done, err := s.reseal(ctx, ownerMonitor, limit, `
		SELECT id, coalesce(headers_sealed, secrets_sealed) FROM monitors
		WHERE id > $1 AND (headers_sealed IS NOT NULL OR secrets_sealed IS NOT NULL
		                   OR headers <> '{}' OR secrets <> '{}')
		ORDER BY id LIMIT 500`, func(id int64) error {
		_, err := s.UpdateMonitor(ctx, id, func(*monitor.Monitor) error { return nil })
		return err
	})
	if err != nil || done >= limit {
		return done, err
	}
	more, err := s.reseal(ctx, ownerChannel, limit-done, `
		SELECT id, secrets_sealed FROM channels
		WHERE id > $1 AND (secrets_sealed IS NOT NULL OR secrets <> '{}')
		ORDER BY id LIMIT 500`, func(id int64) error {
		_, err := s.UpdateChannel(ctx, id, func(*alert.Channel) error { return nil })
		return err
	})
	return done + more, err
}

// reseal walks the rows of owner that list returns (given the id to start
// after: each row's id and its sealed value, null when stored plain) and
// writes again, with write, those stored plain or sealed with an older
// key, until limit are done. Rows deleted meanwhile are skipped.
func (s *Store) reseal(ctx context.Context, owner string, limit int, list string, write func(id int64) error) (int, error) {
	done := 0
	after := int64(0)
	for done < limit {
		rows, err := s.pool.Query(ctx, list, after)
		if err != nil {
			return done, fmt.Errorf("select %s secrets: %w", owner, err)
		}
		type row struct {
			id     int64
			sealed []byte
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.sealed)
		})
		if err != nil {
			return done, fmt.Errorf("select %s secrets: %w", owner, err)
		}
		if len(page) == 0 {
			return done, nil
		}
		for _, x := range page {
			after = x.id
			if x.sealed != nil && !s.keys.NeedsRotation(x.sealed) {
				continue
			}
			if err := write(x.id); err != nil {
				if errors.Is(err, monitor.ErrNotFound) || errors.Is(err, alert.ErrNotFound) {
					continue
				}
				return done, fmt.Errorf("reseal %s %d: %w", owner, x.id, err)
			}
			done++
		}
	}
	return done, nil
}
