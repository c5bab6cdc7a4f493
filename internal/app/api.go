package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/pinguin-dev/pinguin/internal/api"
	"github.com/pinguin-dev/pinguin/internal/auth"
	"github.com/pinguin-dev/pinguin/internal/check"
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
	if cfg.SecretKey == "" {
		logger.WarnContext(ctx, "PINGUIN_SECRET_KEY is not set: monitor headers and secrets and channel secrets are stored unencrypted (make one with: openssl rand -base64 32)")
	}
	if err := conns.store.CheckSecrets(ctx); err != nil {
		conns.close()
		return nil, err
	}
	if err := bootstrapToken(ctx, conns.store, cfg.AdminToken, logger); err != nil {
		conns.close()
		return nil, err
	}
	reg := newRegistry()
	srv := api.New(conns.store, conns.sched, reg, logger, api.Options{
		RatePerToken: cfg.RateLimit, RatePerIP: cfg.RateLimitIP,
		MetricsNeedToken: cfg.MetricsRequireToken, TrustProxy: cfg.TrustProxy, PublicURL: cfg.PublicURL,
		NotifyClient: NotifyClient(channelTestTimeout, check.NewGuard(cfg.BlockPrivateTargets)),
	})
	return &API{conns: conns, http: server.NewHTTP(cfg.Addr, srv.Handler(), logger)}, nil
}

// channelTestTimeout bounds POST /api/v1/channels/{id}/test.
const channelTestTimeout = 15 * time.Second

// Start starts listening.
func (a *API) Start(ctx context.Context) error { return a.http.Start(ctx) }

// Addr is the address the API listens on.
func (a *API) Addr() string { return a.http.Addr() }

// Stop finishes requests in flight, then closes connections.
func (a *API) Stop() {
	a.http.Stop()
	a.conns.close()
}

// bootstrapToken makes sure somebody can call the API: the token from
// PINGUIN_ADMIN_TOKEN is stored as an admin token, or, without one and
// with no token yet, an admin token is created and logged this once.
func bootstrapToken(ctx context.Context, st *store.Store, adminToken string, logger *slog.Logger) error {
	if adminToken != "" {
		return st.EnsureToken(ctx, "PINGUIN_ADMIN_TOKEN", auth.Admin, auth.Hash(adminToken), auth.Hint(adminToken))
	}
	secret := auth.Generate()
	created, err := st.CreateFirstToken(ctx, "first admin token", auth.Admin, auth.Hash(secret), auth.Hint(secret))
	if err != nil {
		return err
	}
	if created {
		logger.WarnContext(ctx, "created the first admin API token; it is shown only this once: keep it, "+
			"e.g. export PINGUIN_TOKEN=<token>, and make more with POST /api/v1/tokens", "token", secret)
	}
	return nil
}
