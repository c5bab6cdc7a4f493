// Command scheduler is Pinguin's scheduler. It reads its configuration from PINGUIN_*
// environment variables (see README.md) and runs until SIGINT or SIGTERM.
// Run as "healthcheck URL" it instead exits 0 if URL answers 200 OK and 1
// if not: the container healthcheck, as the image has no curl.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pinguin-dev/pinguin/internal/app"
	"github.com/pinguin-dev/pinguin/internal/config"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(app.Healthcheck(context.Background(), os.Args[2:], os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var cfg config.Scheduler
	if err := config.Load(&cfg); err != nil {
		fmt.Fprintln(os.Stderr, "pinguin-scheduler:", err)
		os.Exit(2)
	}
	logger := cfg.Logger(os.Stderr, "scheduler")
	c, err := app.NewScheduler(ctx, cfg, logger)
	if err == nil {
		err = app.Run(ctx, c)
	}
	if err != nil {
		logger.Error("exit", "err", err)
		os.Exit(1)
	}
}
