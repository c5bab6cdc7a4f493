package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// createDatabase creates the database name on the server of adminURL and
// returns its URL.
func createDatabase(ctx context.Context, adminURL, name string) (string, error) {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", fmt.Errorf("parse database url: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// dropDatabase drops the database name, closing its connections.
func dropDatabase(ctx context.Context, adminURL, name string) error {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// copyColumns are the columns insertMonitors fills.
var copyColumns = []string{"name", "url", "method", "headers", "body", "interval_seconds", "timeout_ms",
	"expected_status", "follow_redirects", "verify_tls", "enabled"}

// insertMonitors inserts n enabled GET monitors of target with one COPY,
// monitor i checking http://<target>/m/<i>. Far faster than n POSTs; the
// scheduler's reconcile at start spreads them over the interval.
func insertMonitors(ctx context.Context, conn *pgx.Conn, target string, n int, interval time.Duration) error {
	iv := int(interval / time.Second)
	timeoutMS := min(10000, iv*800)
	rows := pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		return []any{fmt.Sprintf("bench-%d", i), fmt.Sprintf("http://%s/m/%d", target, i), "GET",
			map[string]string{}, "", iv, timeoutMS, "200-299", true, true, true}, nil
	})
	copied, err := conn.CopyFrom(ctx, pgx.Identifier{"monitors"}, copyColumns, rows)
	if err != nil {
		return fmt.Errorf("copy monitors: %w", err)
	}
	if copied != int64(n) {
		return fmt.Errorf("copy monitors: %d rows copied, want %d", copied, n)
	}
	return nil
}

// createThroughAPI creates a monitor of target with POST /api/v1/monitors,
// authenticated with token.
func createThroughAPI(ctx context.Context, client *http.Client, apiBase, token, target string, k int, interval time.Duration) error {
	body := fmt.Sprintf(`{"name":"bench-api-%d","url":"http://%s/api/%d","interval_seconds":%d}`,
		k, target, k, int(interval/time.Second))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, apiBase+"/api/v1/monitors", strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("create monitor through the API: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("create monitor through the API: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("create monitor through the API: status %d, want 201", res.StatusCode)
	}
	return nil
}
