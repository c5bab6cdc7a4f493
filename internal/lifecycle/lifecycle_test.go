package lifecycle_test

import (
	"context"
	"errors"
	"testing"

	"github.com/pinguin-dev/pinguin/internal/lifecycle"
)

func TestStartStop(t *testing.T) {
	var r lifecycle.Runner
	r.Stop() // before Start: nothing to do
	stopped := false
	if err := r.Start(context.Background(), func(ctx context.Context) {
		<-ctx.Done()
		stopped = true
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background(), func(context.Context) {}); !errors.Is(err, lifecycle.ErrStarted) {
		t.Fatalf("second Start = %v, want ErrStarted", err)
	}
	r.Stop()
	if !stopped {
		t.Fatal("Stop returned before the body did")
	}
	r.Stop() // twice is fine
	<-r.Done()
}
