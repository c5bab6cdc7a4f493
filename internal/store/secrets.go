package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// ErrSecretsUnreadable says stored secrets cannot be opened with the
// configured keys.
var ErrSecretsUnreadable = errors.New("stored secrets cannot be opened: set PINGUIN_SECRET_KEY (and PINGUIN_SECRET_KEY_PREVIOUS) to the keys they were sealed with")

func sealAD(id int64, label string) []byte {
	return []byte("monitor:" + strconv.FormatInt(id, 10) + ":" + label)
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
	if out.headers, out.headersSealed, err = s.sealMap(id, "headers", m.Headers); err != nil {
		return out, err
	}
	out.secrets, out.secretsSealed, err = s.sealMap(id, "secrets", secretsOf(m))
	return out, err
}

func (s *Store) sealMap(id int64, label string, values map[string]string) (map[string]string, []byte, error) {
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
	return map[string]string{}, s.keys.Seal(raw, sealAD(id, label)), nil
}

func (s *Store) openMap(id int64, label string, ciphertext []byte, into *map[string]string) error {
	if s.keys == nil {
		return fmt.Errorf("monitor %d: %w", id, ErrSecretsUnreadable)
	}
	raw, err := s.keys.Open(ciphertext, sealAD(id, label))
	if err != nil {
		return fmt.Errorf("monitor %d: %w: %w", id, ErrSecretsUnreadable, err)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("monitor %d: decode sealed %s: %w", id, label, err)
	}
	return nil
}

// CheckSecrets opens one sealed value, so a wrong or missing key is found
// at start rather than at the first read of a monitor.
func (s *Store) CheckSecrets(ctx context.Context) error {
	var id int64
	var sealed []byte
	err := s.pool.QueryRow(ctx, `
		SELECT id, coalesce(headers_sealed, secrets_sealed) FROM monitors
		WHERE headers_sealed IS NOT NULL OR secrets_sealed IS NOT NULL LIMIT 1`).Scan(&id, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read a sealed secret: %w", err)
	}
	// Which label sealed it is not known here; either opening proves the key.
	var values map[string]string
	if err := s.openMap(id, "headers", sealed, &values); err == nil {
		return nil
	}
	return s.openMap(id, "secrets", sealed, &values)
}

// ResealSecrets seals, with the current key, secrets sealed with an older
// key and headers stored in plain JSON, up to limit monitors per call. It
// returns how many it re-sealed; 0 means nothing is left to do.
func (s *Store) ResealSecrets(ctx context.Context, limit int) (int, error) {
	if s.keys == nil {
		return 0, nil
	}
	done := 0
	after := int64(0)
	for done < limit {
		rows, err := s.pool.Query(ctx, `
			SELECT id, coalesce(headers_sealed, secrets_sealed) FROM monitors
			WHERE id > $1 AND (headers_sealed IS NOT NULL OR secrets_sealed IS NOT NULL
			                   OR headers <> '{}' OR secrets <> '{}')
			ORDER BY id LIMIT 500`, after)
		if err != nil {
			return done, fmt.Errorf("select secrets: %w", err)
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
			return done, fmt.Errorf("select secrets: %w", err)
		}
		if len(page) == 0 {
			return done, nil
		}
		for _, x := range page {
			after = x.id
			if x.sealed != nil && !s.keys.NeedsRotation(x.sealed) {
				continue
			}
			if _, err := s.UpdateMonitor(ctx, x.id, func(*monitor.Monitor) error { return nil }); err != nil {
				if errors.Is(err, monitor.ErrNotFound) {
					continue
				}
				return done, fmt.Errorf("reseal monitor %d: %w", x.id, err)
			}
			done++
		}
	}
	return done, nil
}
