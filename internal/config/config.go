// Package config holds the environment configuration of Pinguin's binaries.
//
// Every binary reads its settings with envconfig under the prefix PINGUIN_.
// Shared holds what all three need; API, Scheduler and Worker embed it and
// add their own. Load fills a struct and validates it, so that a missing or
// malformed value stops a binary at start with one line naming the variable.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/pinguin-dev/pinguin/internal/auth"
	"github.com/pinguin-dev/pinguin/internal/secret"
)

// Prefix is the prefix of every environment variable Pinguin reads.
const Prefix = "PINGUIN"

// Shared is the configuration every binary reads.
type Shared struct {
	// DatabaseURL is the PostgreSQL connection URL (pgx syntax).
	DatabaseURL string `envconfig:"PINGUIN_DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/pinguin?sslmode=disable"`
	// RedisURL is the Redis URL (redis:// or rediss://).
	RedisURL string `envconfig:"PINGUIN_REDIS_URL" default:"redis://127.0.0.1:6379/0"`
	// RedisPrefix is the prefix of every Redis key; it becomes a hash tag.
	RedisPrefix string `envconfig:"PINGUIN_REDIS_PREFIX" default:"pinguin"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `envconfig:"PINGUIN_LOG_LEVEL" default:"info"`
	// LogFormat is text or json.
	LogFormat string `envconfig:"PINGUIN_LOG_FORMAT" default:"text"`
	// SchemaWait is how long scheduler and worker wait for the schema before giving up.
	SchemaWait time.Duration `envconfig:"PINGUIN_SCHEMA_WAIT" default:"5m"`
	// SecretKey seals monitor headers in PostgreSQL (32 bytes of base64);
	// without it they are stored as plain JSON.
	SecretKey string `envconfig:"PINGUIN_SECRET_KEY" default:""`
	// SecretKeyPrevious lists older keys, comma-separated, still accepted
	// for opening while secrets are re-sealed with SecretKey.
	SecretKeyPrevious string `envconfig:"PINGUIN_SECRET_KEY_PREVIOUS" default:""`
	// PublicURL is where users reach the api: the base of heartbeat ping
	// URLs and of the links in notifications.
	PublicURL string `envconfig:"PINGUIN_PUBLIC_URL" default:"http://localhost:8080"`
	// BlockPrivateTargets refuses checks and notification webhooks to
	// loopback, private, link-local and metadata addresses.
	BlockPrivateTargets bool `envconfig:"PINGUIN_BLOCK_PRIVATE_TARGETS" default:"false"`
}

// API is the configuration of cmd/api.
type API struct {
	Shared
	// Addr is where the REST API listens.
	Addr string `envconfig:"PINGUIN_API_ADDR" default:":8080"`
	// AutoMigrate applies pending migrations at start.
	AutoMigrate bool `envconfig:"PINGUIN_AUTO_MIGRATE" default:"true"`
	// AdminToken is accepted as an admin API token (for Compose and
	// automation). When empty and no token exists, the api creates one and
	// logs it once.
	AdminToken string `envconfig:"PINGUIN_ADMIN_TOKEN" default:""`
	// RateLimit is the requests one API token may make per minute; 0 is no limit.
	RateLimit int `envconfig:"PINGUIN_RATE_LIMIT" default:"1200"`
	// RateLimitIP is the requests one client address may make per minute; 0 is no limit.
	RateLimitIP int `envconfig:"PINGUIN_RATE_LIMIT_IP" default:"2400"`
	// MetricsRequireToken puts /metrics behind a read token.
	MetricsRequireToken bool `envconfig:"PINGUIN_METRICS_REQUIRE_TOKEN" default:"false"`
	// TrustProxy takes client addresses from X-Forwarded-For and X-Real-IP.
	TrustProxy bool `envconfig:"PINGUIN_TRUST_PROXY" default:"false"`
}

// Scheduler is the configuration of cmd/scheduler.
type Scheduler struct {
	Shared
	// AdminAddr serves /healthz and /metrics when set.
	AdminAddr string `envconfig:"PINGUIN_ADMIN_ADDR" default:""`
	// ReconcileInterval is how often the schedule is rebuilt from PostgreSQL.
	ReconcileInterval time.Duration `envconfig:"PINGUIN_RECONCILE_INTERVAL" default:"30s"`
	// DispatchInterval is how often due monitors are moved to the work list.
	DispatchInterval time.Duration `envconfig:"PINGUIN_DISPATCH_INTERVAL" default:"100ms"`
	// DispatchBatch is the most ids one dispatch call claims.
	DispatchBatch int `envconfig:"PINGUIN_DISPATCH_BATCH" default:"5000"`
	// HousekeepingInterval is how often retention and purges run.
	HousekeepingInterval time.Duration `envconfig:"PINGUIN_HOUSEKEEPING_INTERVAL" default:"10m"`
	// ResultsRetention is how long raw check results are kept.
	ResultsRetention time.Duration `envconfig:"PINGUIN_RESULTS_RETENTION" default:"720h"`
	// RollupsRetention is how long hourly rollups are kept.
	RollupsRetention time.Duration `envconfig:"PINGUIN_ROLLUPS_RETENTION" default:"9600h"`
}

// Worker is the configuration of cmd/worker.
type Worker struct {
	Shared
	// AdminAddr serves /healthz and /metrics when set.
	AdminAddr string `envconfig:"PINGUIN_ADMIN_ADDR" default:""`
	// WorkerID names this worker in check results; the host name when empty.
	WorkerID string `envconfig:"PINGUIN_WORKER_ID" default:""`
	// Concurrency is the most checks one worker runs at once.
	Concurrency int `envconfig:"PINGUIN_WORKER_CONCURRENCY" default:"256"`
	// BatchSize is the most results written in one batch.
	BatchSize int `envconfig:"PINGUIN_WORKER_BATCH_SIZE" default:"1000"`
	// FlushInterval is the longest a result waits before its batch is written.
	FlushInterval time.Duration `envconfig:"PINGUIN_WORKER_FLUSH_INTERVAL" default:"250ms"`
	// BufferLimit is the most results held while PostgreSQL is unreachable.
	BufferLimit int `envconfig:"PINGUIN_WORKER_BUFFER_LIMIT" default:"100000"`
	// ConfigSweepInterval is how often cached monitor configuration is compared with PostgreSQL.
	ConfigSweepInterval time.Duration `envconfig:"PINGUIN_WORKER_CONFIG_SWEEP_INTERVAL" default:"30s"`
	// ShutdownTimeout bounds the last flush of a stopping worker, after its
	// checks in flight have finished (each within its own timeout).
	ShutdownTimeout time.Duration `envconfig:"PINGUIN_SHUTDOWN_TIMEOUT" default:"30s"`
	// DeliveryConcurrency is the most notifications one worker sends at
	// once; 0 makes a worker that only runs checks (say, in a region that
	// cannot reach the providers).
	DeliveryConcurrency int `envconfig:"PINGUIN_DELIVERY_CONCURRENCY" default:"8"`
	// DeliveryTimeout bounds one attempt to send a notification.
	DeliveryTimeout time.Duration `envconfig:"PINGUIN_DELIVERY_TIMEOUT" default:"10s"`
	// DeliveryMaxAttempts is how many times a notification is tried before
	// it becomes a dead letter.
	DeliveryMaxAttempts int `envconfig:"PINGUIN_DELIVERY_MAX_ATTEMPTS" default:"10"`
	// DeliveryRetryBase is the wait after the first failed attempt; it
	// doubles with each further one, up to an hour.
	DeliveryRetryBase time.Duration `envconfig:"PINGUIN_DELIVERY_RETRY_BASE" default:"10s"`
	// DeliveryPollInterval is how often a worker looks for notifications to
	// send that other processes queued.
	DeliveryPollInterval time.Duration `envconfig:"PINGUIN_DELIVERY_POLL_INTERVAL" default:"1s"`
}

// Validator is implemented by configurations that check their own values.
type Validator interface {
	Validate() error
}

// Load fills cfg (a pointer to API, Scheduler or Worker) from the
// environment and validates it. The error is one line naming the variable.
func Load(cfg Validator) error {
	// The tags carry the full names and the prefix given here is empty:
	// with a prefix, envconfig falls back to the bare name (DATABASE_URL,
	// REDIS_URL, ...) when the prefixed one is unset, and would pick up
	// whatever else on the host sets those.
	if err := envconfig.Process("", cfg); err != nil {
		var perr *envconfig.ParseError
		if errors.As(err, &perr) {
			return fmt.Errorf("config: %s=%q is not a valid %s", perr.KeyName, perr.Value, typeName(perr.TypeName))
		}
		return fmt.Errorf("config: %w", err)
	}
	return cfg.Validate()
}

func typeName(t string) string {
	switch t {
	case "Duration", "time.Duration":
		return "duration (e.g. 30s, 5m, 1h)"
	case "bool":
		return "boolean (true or false)"
	case "int":
		return "whole number"
	}
	return t
}

func invalid(name, value, why string) error {
	return fmt.Errorf("config: %s_%s=%q %s", Prefix, name, value, why)
}

// duration is a duration setting and its name without the prefix.
type duration struct {
	name string
	v    time.Duration
}

// positive reports the first of ds that is zero or negative.
func positive(ds ...duration) error {
	for _, d := range ds {
		if d.v <= 0 {
			return invalid(d.name, d.v.String(), "must be positive")
		}
	}
	return nil
}

// Validate checks the shared values.
func (c *Shared) Validate() error {
	if c.DatabaseURL == "" {
		return invalid("DATABASE_URL", c.DatabaseURL, "must be set")
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return invalid("DATABASE_URL", redactURL(c.DatabaseURL), "must be a postgres:// URL")
	}
	if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return invalid("REDIS_URL", redactURL(c.RedisURL), "must be a redis:// or rediss:// URL")
	}
	if c.RedisPrefix == "" || strings.ContainsAny(c.RedisPrefix, "{} \t\n") {
		return invalid("REDIS_PREFIX", c.RedisPrefix, "must be non-empty, without braces or spaces")
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		return invalid("LOG_LEVEL", c.LogLevel, "must be debug, info, warn or error")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return invalid("LOG_FORMAT", c.LogFormat, "must be text or json")
	}
	if c.SchemaWait <= 0 {
		return invalid("SCHEMA_WAIT", c.SchemaWait.String(), "must be positive")
	}
	if _, err := c.Secrets(); err != nil {
		return err
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("PUBLIC_URL", c.PublicURL, "must be an http or https URL such as https://pinguin.example.com")
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return nil
}

// Secrets returns the keys that seal secrets at rest, or nil when
// PINGUIN_SECRET_KEY is not set.
func (c *Shared) Secrets() (*secret.Keys, error) {
	if c.SecretKey == "" {
		if c.SecretKeyPrevious != "" {
			return nil, fmt.Errorf("config: %s_SECRET_KEY_PREVIOUS is set but %s_SECRET_KEY is not", Prefix, Prefix)
		}
		return nil, nil
	}
	keys, err := secret.ParseKeys(c.SecretKey, c.SecretKeyPrevious)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return keys, nil
}

// Validate checks the api's values.
func (c *API) Validate() error {
	if err := c.Shared.Validate(); err != nil {
		return err
	}
	if c.AdminToken != "" && (len(c.AdminToken) < auth.MinLength || strings.ContainsAny(c.AdminToken, " \t\r\n")) {
		// The value is a secret: never echo it.
		return fmt.Errorf("config: %s_ADMIN_TOKEN must be at least %d characters without spaces (e.g. openssl rand -hex 24)", Prefix, auth.MinLength)
	}
	if c.RateLimit < 0 {
		return invalid("RATE_LIMIT", fmt.Sprint(c.RateLimit), "must be 0 (no limit) or more")
	}
	if c.RateLimitIP < 0 {
		return invalid("RATE_LIMIT_IP", fmt.Sprint(c.RateLimitIP), "must be 0 (no limit) or more")
	}
	return validAddr("API_ADDR", c.Addr, false)
}

// Validate checks the scheduler's values.
func (c *Scheduler) Validate() error {
	if err := c.Shared.Validate(); err != nil {
		return err
	}
	if err := validAddr("ADMIN_ADDR", c.AdminAddr, true); err != nil {
		return err
	}
	if err := positive(
		duration{"RECONCILE_INTERVAL", c.ReconcileInterval},
		duration{"DISPATCH_INTERVAL", c.DispatchInterval},
		duration{"HOUSEKEEPING_INTERVAL", c.HousekeepingInterval},
		duration{"RESULTS_RETENTION", c.ResultsRetention},
		duration{"ROLLUPS_RETENTION", c.RollupsRetention},
	); err != nil {
		return err
	}
	if c.DispatchBatch < 1 || c.DispatchBatch > 100000 {
		return invalid("DISPATCH_BATCH", fmt.Sprint(c.DispatchBatch), "must be between 1 and 100000")
	}
	return nil
}

// Validate checks the worker's values.
func (c *Worker) Validate() error {
	if err := c.Shared.Validate(); err != nil {
		return err
	}
	if err := validAddr("ADMIN_ADDR", c.AdminAddr, true); err != nil {
		return err
	}
	if c.Concurrency < 1 || c.Concurrency > 100000 {
		return invalid("WORKER_CONCURRENCY", fmt.Sprint(c.Concurrency), "must be between 1 and 100000")
	}
	if c.BatchSize < 1 || c.BatchSize > 100000 {
		return invalid("WORKER_BATCH_SIZE", fmt.Sprint(c.BatchSize), "must be between 1 and 100000")
	}
	if c.BufferLimit < c.BatchSize {
		return invalid("WORKER_BUFFER_LIMIT", fmt.Sprint(c.BufferLimit), "must be at least PINGUIN_WORKER_BATCH_SIZE")
	}
	if c.DeliveryConcurrency < 0 || c.DeliveryConcurrency > 1000 {
		return invalid("DELIVERY_CONCURRENCY", fmt.Sprint(c.DeliveryConcurrency), "must be between 0 (this worker sends none) and 1000")
	}
	if c.DeliveryMaxAttempts < 1 || c.DeliveryMaxAttempts > 100 {
		return invalid("DELIVERY_MAX_ATTEMPTS", fmt.Sprint(c.DeliveryMaxAttempts), "must be between 1 and 100")
	}
	return positive(
		duration{"WORKER_FLUSH_INTERVAL", c.FlushInterval},
		duration{"WORKER_CONFIG_SWEEP_INTERVAL", c.ConfigSweepInterval},
		duration{"SHUTDOWN_TIMEOUT", c.ShutdownTimeout},
		duration{"DELIVERY_TIMEOUT", c.DeliveryTimeout},
		duration{"DELIVERY_RETRY_BASE", c.DeliveryRetryBase},
		duration{"DELIVERY_POLL_INTERVAL", c.DeliveryPollInterval},
	)
}

func validAddr(name, addr string, optional bool) error {
	if addr == "" && optional {
		return nil
	}
	i := strings.LastIndex(addr, ":")
	if i < 0 || i == len(addr)-1 {
		return invalid(name, addr, "must be host:port or :port")
	}
	return nil
}

// ParseLevel turns a PINGUIN_LOG_LEVEL value into a slog level.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q", s)
}

// redactURL hides a password in a URL so it can be printed.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
