package config_test

import (
	"testing"
	"time"

	"github.com/pinguin-dev/pinguin/internal/config"
)

func TestDefaults(t *testing.T) {
	var w config.Worker
	if err := config.Load(&w); err != nil {
		t.Fatalf("defaults do not load: %v", err)
	}
	if w.Concurrency != 256 || w.FlushInterval != 250*time.Millisecond || w.RedisPrefix != "pinguin" || w.AdminAddr != "" {
		t.Fatalf("defaults = %+v", w)
	}
	var s config.Scheduler
	if err := config.Load(&s); err != nil || s.ReconcileInterval != 30*time.Second {
		t.Fatalf("scheduler defaults = %+v, %v", s, err)
	}
	var a config.API
	if err := config.Load(&a); err != nil || a.Addr != ":8080" || !a.AutoMigrate {
		t.Fatalf("api defaults = %+v, %v", a, err)
	}
}

func TestBareNamesAreIgnored(t *testing.T) {
	t.Setenv("DATABASE_URL", "mysql://elsewhere")
	t.Setenv("WORKER_CONCURRENCY", "not a number")
	var w config.Worker
	if err := config.Load(&w); err != nil {
		t.Fatalf("bare names leaked into the configuration: %v", err)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	cases := []struct {
		name, key, value, want string
	}{
		{"not a number", "PINGUIN_WORKER_CONCURRENCY", "many", `config: PINGUIN_WORKER_CONCURRENCY="many" is not a valid whole number`},
		{"zero concurrency", "PINGUIN_WORKER_CONCURRENCY", "0", `config: PINGUIN_WORKER_CONCURRENCY="0" must be between 1 and 100000`},
		{"duration without unit", "PINGUIN_WORKER_FLUSH_INTERVAL", "5", `config: PINGUIN_WORKER_FLUSH_INTERVAL="5" is not a valid duration (e.g. 30s, 5m, 1h)`},
		{"negative duration", "PINGUIN_SHUTDOWN_TIMEOUT", "-1s", `config: PINGUIN_SHUTDOWN_TIMEOUT="-1s" must be positive`},
		{"log level", "PINGUIN_LOG_LEVEL", "loud", `config: PINGUIN_LOG_LEVEL="loud" must be debug, info, warn or error`},
		{"log format", "PINGUIN_LOG_FORMAT", "xml", `config: PINGUIN_LOG_FORMAT="xml" must be text or json`},
		{"database url", "PINGUIN_DATABASE_URL", "mysql://u:secret@h/db", `config: PINGUIN_DATABASE_URL="mysql://u:xxxxx@h/db" must be a postgres:// URL`},
		{"redis url", "PINGUIN_REDIS_URL", "http://h", `config: PINGUIN_REDIS_URL="http://h" must be a redis:// or rediss:// URL`},
		{"redis prefix", "PINGUIN_REDIS_PREFIX", "a{b}", `config: PINGUIN_REDIS_PREFIX="a{b}" must be non-empty, without braces or spaces`},
		{"admin addr", "PINGUIN_ADMIN_ADDR", "9100", `config: PINGUIN_ADMIN_ADDR="9100" must be host:port or :port`},
		{"buffer below batch", "PINGUIN_WORKER_BUFFER_LIMIT", "10", `config: PINGUIN_WORKER_BUFFER_LIMIT="10" must be at least PINGUIN_WORKER_BATCH_SIZE`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(c.key, c.value)
			var w config.Worker
			err := config.Load(&w)
			if err == nil || err.Error() != c.want {
				t.Fatalf("error = %v\nwant    %s", err, c.want)
			}
		})
	}
	t.Run("api address", func(t *testing.T) {
		t.Setenv("PINGUIN_API_ADDR", "localhost")
		var a config.API
		if err := config.Load(&a); err == nil || err.Error() != `config: PINGUIN_API_ADDR="localhost" must be host:port or :port` {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("reconcile interval", func(t *testing.T) {
		t.Setenv("PINGUIN_RECONCILE_INTERVAL", "0s")
		var s config.Scheduler
		if err := config.Load(&s); err == nil || err.Error() != `config: PINGUIN_RECONCILE_INTERVAL="0s" must be positive` {
			t.Fatalf("error = %v", err)
		}
	})
}
