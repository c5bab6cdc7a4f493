package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// The target server runs in a child process (the test binary re-executed
// with -test.run=^TestBenchTarget$), so that its CPU is neither Pinguin's
// nor the bare baseline's. These variables tell the child what to do.
const (
	// targetAddrEnv is the address the target listens on; TestBenchTarget
	// does nothing unless it is set.
	targetAddrEnv = "PINGUIN_BENCH_TARGET_ADDR"
	// targetUntilEnv is when the target exits at the latest (RFC 3339).
	targetUntilEnv = "PINGUIN_BENCH_TARGET_UNTIL"
)

// targetPrefix starts the line on which the target prints its address.
const targetPrefix = "target listening on "

// serveTarget listens on addr, prints "target listening on <addr>" on out,
// and answers 200 "ok" to every request until stop is closed or until.
func serveTarget(addr string, out io.Writer, stop <-chan struct{}, until time.Time) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "ok") // the client may be gone
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       30 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintln(out, targetPrefix+ln.Addr().String())
	deadline := time.NewTimer(time.Until(until))
	defer deadline.Stop()
	select {
	case <-stop:
	case <-deadline.C:
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// startTarget re-executes the test binary as the target server, which
// lives until its stdin closes (stop) or until, and returns it with its
// address.
func startTarget(logDir string, until time.Time) (*process, string, error) {
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, "", fmt.Errorf("target stdin: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		return nil, "", fmt.Errorf("target stdout: %w", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchTarget$", "-test.count=1",
		"-test.timeout="+(time.Until(until)+time.Minute).Round(time.Second).String())
	cmd.Env = append(os.Environ(), targetAddrEnv+"=127.0.0.1:0", targetUntilEnv+"="+until.Format(time.RFC3339))
	cmd.Stdin, cmd.Stdout = stdinR, outW
	p, err := launch("target", cmd, logDir)
	stdinR.Close() // the child holds its own ends
	outW.Close()
	if err != nil {
		stdinW.Close()
		outR.Close()
		return nil, "", err
	}
	p.stdin = stdinW
	addr, err := readTargetAddr(outR, 30*time.Second)
	if err != nil {
		_ = p.stop(5 * time.Second)
		return nil, "", fmt.Errorf("%w\n%s", err, p.exitReport())
	}
	return p, addr, nil
}

// readTargetAddr reads the target's address from its stdout, then drains
// and closes the pipe in the background (the test framework prints PASS).
func readTargetAddr(out *os.File, timeout time.Duration) (string, error) {
	got := make(chan string, 1)
	go func() {
		defer out.Close()
		br := bufio.NewReader(out)
		line, _ := br.ReadString('\n') // EOF: the child died; reported below
		got <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, br)
	}()
	select {
	case line := <-got:
		addr, ok := strings.CutPrefix(line, targetPrefix)
		if !ok {
			return "", fmt.Errorf("target printed %q, want its address", line)
		}
		return addr, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("target did not print its address within %s", timeout)
	}
}
