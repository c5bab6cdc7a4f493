// Command api is Pinguin's api. It reads its configuration from PINGUIN_*
// environment variables (see README.md) and runs until SIGINT or SIGTERM.
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
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var cfg config.API
	if err := config.Load(&cfg); err != nil {
		fmt.Fprintln(os.Stderr, "pinguin-api:", err)
		os.Exit(2)
	}
	logger := cfg.Logger(os.Stderr, "api")
	c, err := app.NewAPI(ctx, cfg, logger)
	if err == nil {
		err = app.Run(ctx, c)
	}
	if err != nil {
		logger.Error("exit", "err", err)
		os.Exit(1)
	}
}
