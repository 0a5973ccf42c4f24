package lab

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a program running in a lab namespace, with its standard output
// and error kept in memory. Its methods are safe for concurrent use.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, set before done closes

	mu  sync.Mutex
	log bytes.Buffer

	nsOnly string // set on the placeholder that stands for a namespace to delete
}

// startProc starts prog under `ip netns exec ns` (which execs prog, so the
// process id is prog's). The child gets SIGKILL if the test process dies.
func startProc(ns, name, prog string, args []string, env []string) (*Proc, error) {
	p := &Proc{Name: name, done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, prog}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = (*procLog)(p)
	p.cmd.Stderr = (*procLog)(p)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s) in %s: %w", name, prog, ns, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// procLog is the writer both output streams of a Proc go to.
type procLog Proc

func (w *procLog) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.Write(b)
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Log returns everything the process wrote so far.
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Running reports whether the process has not exited.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Signal sends sig.
func (p *Proc) Signal(sig syscall.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v to %s (pid %d): %w", sig, p.Name, p.Pid(), err)
	}
	return nil
}

// Stop sends SIGTERM and waits up to timeout for the exit; it returns the
// exit error (nil for status 0). After timeout the process is killed.
func (p *Proc) Stop(timeout time.Duration) error {
	if !p.Running() {
		return p.err
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("%s (pid %d) did not exit within %v of SIGTERM; killed", p.Name, p.Pid(), timeout)
	}
}

// Kill sends SIGKILL and waits for the exit.
func (p *Proc) Kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
}

// WaitLog waits until the process's output holds want.
func (p *Proc) WaitLog(ctx context.Context, want string, timeout time.Duration) error {
	return Poll(ctx, timeout, func() error {
		if strings.Contains(p.Log(), want) {
			return nil
		}
		if !p.Running() {
			return Permanent(fmt.Errorf("%s exited (%v) without writing %q; output:\n%s", p.Name, p.err, want, p.Log()))
		}
		return fmt.Errorf("%s has not written %q", p.Name, want)
	})
}

// Mem is what /proc says of a process's memory, in KiB.
type Mem struct {
	RSS, HWM int64 // resident now, peak resident
	Threads  int
	FDs      int
}

// Mem reads /proc/PID/status and counts /proc/PID/fd.
func (p *Proc) Mem() (Mem, error) {
	var m Mem
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return m, fmt.Errorf("read memory of %s: %w", p.Name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			m.RSS = n
		case "VmHWM":
			m.HWM = n
		case "Threads":
			m.Threads = int(n)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Pid()))
	if err != nil {
		return m, fmt.Errorf("count open files of %s: %w", p.Name, err)
	}
	m.FDs = len(fds)
	return m, nil
}
