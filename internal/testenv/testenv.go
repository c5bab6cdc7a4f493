// Package testenv gives tests their own PostgreSQL database and Redis key
// prefix on the real servers, and removes both when the test ends, so test
// packages run in parallel without touching each other's data.
//
// The servers are found through PINGUIN_TEST_DATABASE_URL (a URL of any
// database on the server; default postgres://postgres@127.0.0.1:5432/postgres)
// and PINGUIN_TEST_REDIS_URL (default redis://127.0.0.1:6379/0).
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/pinguin-dev/pinguin/internal/store"
)

// DatabaseURL is the URL of the test PostgreSQL server's maintenance database.
func DatabaseURL() string {
	if u := os.Getenv("PINGUIN_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// RedisURL is the URL of the test Redis server.
func RedisURL() string {
	if u := os.Getenv("PINGUIN_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// Logger returns a logger that writes to the test's log when -v is set and
// nowhere otherwise.
func Logger(t testing.TB) *slog.Logger {
	var w io.Writer = io.Discard
	if testing.Verbose() {
		w = testWriter{t}
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// Database creates an empty database for the test, returns its URL, and
// drops it when the test ends.
func Database(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, DatabaseURL())
	if err != nil {
		t.Fatalf("testenv: connect to PostgreSQL at %s: %v (is it running? see README)", DatabaseURL(), err)
	}
	defer admin.Close(ctx)
	name := "pinguin_test_" + randomSuffix()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, DatabaseURL())
		if err != nil {
			t.Errorf("testenv: connect to drop database: %v", err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(DatabaseURL())
	if err != nil {
		t.Fatalf("testenv: parse database url: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Store creates a migrated database for the test and returns a Store on it
// and its URL. Both are cleaned up when the test ends.
func Store(t testing.TB) (*store.Store, string) {
	t.Helper()
	dbURL := Database(t)
	if err := store.Migrate(dbURL, Logger(t)); err != nil {
		t.Fatalf("testenv: migrate: %v", err)
	}
	st, err := store.Open(context.Background(), dbURL, 10)
	if err != nil {
		t.Fatalf("testenv: open store: %v", err)
	}
	t.Cleanup(st.Close)
	return st, dbURL
}

// Redis returns a client on the test Redis server and a key prefix of the
// test's own; every key under the prefix is deleted when the test ends.
func Redis(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("testenv: parse redis url: %v", err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("testenv: connect to Redis at %s: %v (is it running? see README)", RedisURL(), err)
	}
	prefix := "pinguintest" + randomSuffix()
	t.Cleanup(func() {
		DeleteKeys(t, client, prefix)
		_ = client.Close() // closing a client only fails when it is closed already
	})
	return client, prefix
}

// DeleteKeys removes every key of a prefix (all of them carry the hash tag).
func DeleteKeys(t testing.TB, client redis.UniversalClient, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := client.Scan(ctx, 0, "{"+prefix+"}*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := client.Del(ctx, iter.Val()).Err(); err != nil {
			t.Errorf("testenv: delete %s: %v", iter.Val(), err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("testenv: scan keys of %s: %v", prefix, err)
	}
}

// Eventually polls cond until it holds or the deadline passes, then fails
// the test with msg. Deadlines are generous: CI machines are small and busy.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %s", timeout, fmt.Sprintf(format, args...))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// VerifyNoLeaks runs a package's tests and fails them if goroutines are
// left behind, ignoring the background goroutines of pgx pools and
// go-redis connections, which end shortly after Close.
func VerifyNoLeaks(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}
