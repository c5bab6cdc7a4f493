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

func headersAD(id int64) []byte { return []byte("monitor:" + strconv.FormatInt(id, 10) + ":headers") }

// sealHeaders returns what to store of a monitor's headers: with keys, an
// empty plain map and the sealed JSON; without, the map as it is.
func (s *Store) sealHeaders(id int64, h map[string]string) (map[string]string, []byte, error) {
	if h == nil {
		h = map[string]string{}
	}
	if s.keys == nil || len(h) == 0 {
		return h, nil, nil
	}
	raw, err := json.Marshal(h)
	if err != nil {
		return nil, nil, fmt.Errorf("encode headers: %w", err)
	}
	return map[string]string{}, s.keys.Seal(raw, headersAD(id)), nil
}

func (s *Store) openHeaders(m *monitor.Monitor, sealed []byte) error {
	if s.keys == nil {
		return fmt.Errorf("monitor %d: %w", m.ID, ErrSecretsUnreadable)
	}
	raw, err := s.keys.Open(sealed, headersAD(m.ID))
	if err != nil {
		return fmt.Errorf("monitor %d: %w: %w", m.ID, ErrSecretsUnreadable, err)
	}
	if err := json.Unmarshal(raw, &m.Headers); err != nil {
		return fmt.Errorf("monitor %d: decode sealed headers: %w", m.ID, err)
	}
	return nil
}

// CheckSecrets opens one sealed value, so a wrong or missing key is found
// at start rather than at the first read of a monitor.
func (s *Store) CheckSecrets(ctx context.Context) error {
	var id int64
	var sealed []byte
	err := s.pool.QueryRow(ctx, `SELECT id, headers_sealed FROM monitors WHERE headers_sealed IS NOT NULL LIMIT 1`).Scan(&id, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read a sealed secret: %w", err)
	}
	var m monitor.Monitor
	m.ID = id
	return s.openHeaders(&m, sealed)
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
			SELECT id, headers_sealed FROM monitors
			WHERE id > $1 AND (headers_sealed IS NOT NULL OR headers <> '{}')
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
