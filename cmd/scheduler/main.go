// Command scheduler is Pinguin's scheduler. It reads its configuration from PINGUIN_*
// environment variables (see README.md) and runs until SIGINT or SIGTERM.
// Run as "healthcheck URL" it instead exits 0 if URL answers 200 OK and 1
// if not: the container healthcheck, as the image has no curl.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/pinguin-dev/pinguin/internal/app"
	"github.com/pinguin-dev/pinguin/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	var cfg config.Scheduler
	code := app.Main(ctx, "scheduler", os.Args[1:], &cfg, &cfg.Shared, func(ctx context.Context, logger *slog.Logger) (app.Component, error) {
		return app.NewScheduler(ctx, cfg, logger)
	})
	stop()
	os.Exit(code)
}
