package app

import (
	"context"
	"log/slog"

	"github.com/pinguin-dev/pinguin/internal/api"
	"github.com/pinguin-dev/pinguin/internal/config"
	"github.com/pinguin-dev/pinguin/internal/server"
	"github.com/pinguin-dev/pinguin/internal/store"
)

// API is the assembled api binary.
type API struct {
	conns *connections
	http  *server.HTTP
}

// NewAPI applies migrations (unless disabled), connects, and builds the
// REST server.
func NewAPI(ctx context.Context, cfg config.API, logger *slog.Logger) (*API, error) {
	if cfg.AutoMigrate {
		migrateCtx, cancel := context.WithTimeout(ctx, cfg.SchemaWait)
		defer cancel()
		err := retry(migrateCtx, logger, "database to migrate", func(context.Context) error {
			return store.Migrate(cfg.DatabaseURL, logger)
		})
		if err != nil {
			return nil, err
		}
	}
	conns, err := connect(ctx, &cfg.Shared, 20, logger)
	if err != nil {
		return nil, err
	}
	reg := newRegistry()
	srv := api.New(conns.store, conns.sched, reg, logger, nil)
	return &API{conns: conns, http: server.NewHTTP(cfg.Addr, srv.Handler(), logger)}, nil
}

// Start starts listening.
func (a *API) Start(ctx context.Context) error { return a.http.Start(ctx) }

// Addr is the address the API listens on.
func (a *API) Addr() string { return a.http.Addr() }

// Stop finishes requests in flight, then closes connections.
func (a *API) Stop() {
	a.http.Stop()
	a.conns.close()
}
