package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procStat is what the benchmark reads of /proc/<pid>/stat.
type procStat struct {
	pid    int
	comm   string
	ppid   int
	utime  uint64 // clock ticks in user mode
	stime  uint64 // clock ticks in kernel mode
	cutime uint64 // user ticks of children that were waited for
	cstime uint64 // kernel ticks of children that were waited for
}

// cpu is the CPU time the process itself has used.
func (s procStat) cpu() time.Duration { return ticks(s.utime + s.stime) }

// childrenCPU is the CPU time of its children that have exited and been
// waited for.
func (s procStat) childrenCPU() time.Duration { return ticks(s.cutime + s.cstime) }

func ticks(n uint64) time.Duration { return time.Duration(n) * time.Second / clockTicks }

// parseStat parses the one line of /proc/<pid>/stat (proc(5)). The command
// name is in parentheses and may hold spaces and parentheses itself, so the
// fields are counted from the last ')'.
func parseStat(line []byte) (procStat, error) {
	open, end := bytes.IndexByte(line, '('), bytes.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("parse stat %q: no command name", line)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(line[:open])))
	if err != nil {
		return procStat{}, fmt.Errorf("parse stat pid: %w", err)
	}
	// fields[0] is field 3 of proc(5) (state), so field k is fields[k-3].
	fields := strings.Fields(string(line[end+1:]))
	if len(fields) < 15 {
		return procStat{}, fmt.Errorf("parse stat of %d: %d fields after the name, want at least 15", pid, len(fields))
	}
	s := procStat{pid: pid, comm: string(line[open+1 : end])}
	if s.ppid, err = strconv.Atoi(fields[4-3]); err != nil {
		return procStat{}, fmt.Errorf("parse stat ppid of %d: %w", pid, err)
	}
	for i, dst := range []*uint64{&s.utime, &s.stime, &s.cutime, &s.cstime} {
		// cutime and cstime are signed in the kernel's format; they are
		// never negative in practice.
		v, err := strconv.ParseInt(fields[14-3+i], 10, 64)
		if err != nil || v < 0 {
			return procStat{}, fmt.Errorf("parse stat field %d of %d: %q", 14+i, pid, fields[14-3+i])
		}
		*dst = uint64(v)
	}
	return s, nil
}

// readStat reads /proc/<pid>/stat.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, fmt.Errorf("read stat: %w", err)
	}
	return parseStat(b)
}

// processCPU is the CPU time process pid has used so far.
func processCPU(pid int) (time.Duration, error) {
	s, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return s.cpu(), nil
}

// peakRSS is the peak resident set size (VmHWM) of process pid, in bytes.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read status: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse VmHWM of %d: %w", pid, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read status of %d: %w", pid, err)
	}
	return 0, fmt.Errorf("status of %d has no VmHWM", pid)
}

// children lists the live processes whose parent is ppid. Processes that
// exit while /proc is read are left out.
func children(ppid int) ([]procStat, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []procStat
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue // not a process
		}
		s, err := readStat(pid)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue // exited meanwhile
		}
		if err != nil {
			return nil, err
		}
		if s.ppid == ppid {
			out = append(out, s)
		}
	}
	return out, nil
}

// selfCPU is the CPU time (user and system) this process has used so far.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// loadAvg is the host's load average over 1, 5 and 15 minutes, as
// /proc/loadavg has it, or "n/a".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
