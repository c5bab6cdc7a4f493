package config

import (
	"io"
	"log/slog"
)

// Logger builds the slog logger the shared settings describe, writing to w.
// Validate has already checked the level and format.
func (c *Shared) Logger(w io.Writer, component string) *slog.Logger {
	level, _ := ParseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h).With("component", component)
}
