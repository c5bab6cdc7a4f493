// Package lifecycle gives long-lived components the Start/Stop pair that
// STYLE.md asks for: Start launches the component's loops, Stop cancels them
// and blocks until they are done, and Stop is safe to call twice or before
// Start.
package lifecycle

import (
	"context"
	"errors"
	"sync"
)

// ErrStarted is returned by Start on a component that was started already.
var ErrStarted = errors.New("already started")

// Runner runs one function as a component's body.
type Runner struct {
	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// Start runs body in a goroutine with a context that Stop cancels.
func (r *Runner) Start(ctx context.Context, body func(ctx context.Context)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return ErrStarted
	}
	r.started = true
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		body(ctx)
	}()
	return nil
}

// Stop cancels the body's context and waits until the body has returned.
func (r *Runner) Stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// Done is closed when the body has returned; nil before Start.
func (r *Runner) Done() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done
}
