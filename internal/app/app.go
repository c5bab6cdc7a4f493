// Package app assembles Pinguin's three binaries from the internal
// packages: each New* connects to PostgreSQL and Redis and builds the
// components, Start/Stop run them in the documented shutdown order. The
// mains only load configuration and call Run; end-to-end tests start the
// same assemblies in-process.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/pinguin-dev/pinguin/internal/config"
	"github.com/pinguin-dev/pinguin/internal/schedule"
	"github.com/pinguin-dev/pinguin/internal/store"
)

// Component is an assembled binary.
type Component interface {
	Start(ctx context.Context) error
	Stop()
}

// Run starts c, waits for ctx to end, and stops c.
func Run(ctx context.Context, c Component) error {
	if err := c.Start(ctx); err != nil {
		c.Stop()
		return err
	}
	<-ctx.Done()
	c.Stop()
	return nil
}

// newRegistry returns a metrics registry with the Go and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// connections are a binary's PostgreSQL pool and Redis client.
type connections struct {
	store *store.Store
	redis redis.UniversalClient
	sched *schedule.Schedule
}

func (c *connections) close() {
	if c.store != nil {
		c.store.Close()
	}
	if c.redis != nil {
		_ = c.redis.Close() // closing twice is the only error, and harmless
	}
}

// connect opens the pool and the Redis client and waits, retrying, until
// the schema is there (the api applies it). It gives up after SchemaWait.
func connect(ctx context.Context, cfg *config.Shared, maxConns int32, logger *slog.Logger) (*connections, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.SchemaWait)
	defer cancel()
	st, err := store.Open(ctx, cfg.DatabaseURL, maxConns)
	if err != nil {
		return nil, err
	}
	keys, err := cfg.Secrets() // validated with the configuration
	if err != nil {
		st.Close()
		return nil, err
	}
	st.UseSecrets(keys)
	c := &connections{store: st}
	if err := st.WaitForSchema(ctx, logger); err != nil {
		c.close()
		return nil, err
	}
	if c.redis, err = schedule.Open(cfg.RedisURL); err != nil {
		c.close()
		return nil, err
	}
	c.sched = schedule.New(c.redis, cfg.RedisPrefix)
	if err := retry(ctx, logger, "redis", c.sched.Ping); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// retry calls fn until it succeeds or ctx ends, logging each failure.
func retry(ctx context.Context, logger *slog.Logger, what string, fn func(context.Context) error) error {
	delay := 500 * time.Millisecond
	for {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		logger.WarnContext(ctx, "waiting for "+what, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", what, err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// RedisClient opens a Redis client on url, for tools and tests.
func RedisClient(url string) (redis.UniversalClient, error) { return schedule.Open(url) }

// Main is the body of each binary's main, which keeps only the signal
// handling: it answers the healthcheck mode ("healthcheck URL"), loads cfg
// from the environment (a bad value is one line on stderr and exit code
// 2), builds the component with the logger cfg describes, and runs it until
// ctx ends. It returns the exit code.
func Main(ctx context.Context, name string, args []string, cfg config.Validator, shared *config.Shared,
	build func(context.Context, *slog.Logger) (Component, error)) int {
	if len(args) > 0 && args[0] == "healthcheck" {
		return Healthcheck(ctx, args[1:], os.Stderr)
	}
	if err := config.Load(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "pinguin-"+name+":", err)
		return 2
	}
	logger := shared.Logger(os.Stderr, name)
	c, err := build(ctx, logger)
	if err == nil {
		err = Run(ctx, c)
	}
	if err != nil {
		logger.Error("exit", "err", err)
		return 1
	}
	return 0
}
