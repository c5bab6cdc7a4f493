package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is a child process the benchmark started: a Pinguin binary or the
// target server. Its stdout and stderr go to a log file, unless the caller
// set them, so that a process that dies can be explained.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	stdin   io.Closer // closed first on stop; nil when the process reads no stdin

	done     chan struct{} // closed when the process has exited
	waitErr  error         // set before done is closed
	mu       sync.Mutex
	stopping bool // set once stop was called: an exit is then expected
}

// launch starts cmd as the process called name, logging to logDir/name.log.
func launch(name string, cmd *exec.Cmd, logDir string) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log of %s: %w", name, err)
	}
	defer f.Close() // the child has its own descriptor
	if cmd.Stdout == nil {
		cmd.Stdout = f
	}
	cmd.Stderr = f
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// pid is the process id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// exitedEarly reports whether the process has exited without being asked.
func (p *process) exitedEarly() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		return !p.stopping
	default:
		return false
	}
}

// stop ends the process: it closes its stdin (if any) and waits a little,
// sends SIGTERM and waits up to grace, then sends SIGKILL. It returns the
// process's exit error, or nil for a clean exit. Calling it again only
// waits for the exit, and returns nil.
func (p *process) stop(grace time.Duration) error {
	p.mu.Lock()
	first := !p.stopping
	p.stopping = true
	p.mu.Unlock()
	if !first {
		<-p.done
		return nil
	}
	p.terminate(grace)
	<-p.done
	return p.waitErr
}

func (p *process) terminate(grace time.Duration) {
	if p.stdin != nil {
		_ = p.stdin.Close() // only fails when closed already
		if p.waitFor(10 * time.Second) {
			return
		}
	}
	// Signal only a process that has not been waited for: its pid cannot
	// have been reused by another.
	if p.waitFor(0) {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // fails only if it exited meanwhile
	if p.waitFor(grace) {
		return
	}
	fmt.Fprintf(os.Stderr, "bench: %s did not exit %s after SIGTERM: killing it\n", p.name, grace)
	_ = p.cmd.Process.Kill()
}

// waitFor waits up to d for the process to exit and reports whether it did.
func (p *process) waitFor(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// tail returns the last n lines of the process's log.
func (p *process) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.logPath, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "    | (empty)\n"
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	lines = lines[max(0, len(lines)-n):]
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString("    | ")
		sb.Write(l)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// lines counts the lines of the process's log so far.
func (p *process) lines() int {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return -1
	}
	return bytes.Count(b, []byte("\n"))
}

// exitReport describes how a process that exited early ended, with the end
// of its log.
func (p *process) exitReport() string {
	return fmt.Sprintf("%s (pid %d) exited: %v; last lines of %s:\n%s", p.name, p.pid(), p.waitErr, p.logPath, p.tail(20))
}
