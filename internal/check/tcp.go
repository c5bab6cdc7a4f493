package check

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptrace"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
)

// MaxExpectBytes is how much of a TCP answer a check reads at most while it
// looks for TCPRequest.Expect.
const MaxExpectBytes = 64 << 10

// answerExcerptBytes is how much of an answer a message quotes.
const answerExcerptBytes = 100

// TCPRequest describes one TCP check: a connection, optionally over TLS,
// and optionally a short exchange on it.
type TCPRequest struct {
	Host string
	Port int
	// Timeout bounds the whole check, from DNS to the last byte read; 0
	// means DefaultTimeout. A deadline of the check's context that comes
	// sooner wins.
	Timeout time.Duration
	TLS     bool // TLS handshake once connected
	// VerifyTLS verifies the certificate's chain against the system roots
	// and its name against ServerName.
	VerifyTLS  bool
	ServerName string // sent as SNI and verified; "" means Host
	Send       string // written once connected, when not empty
	// Expect, when not empty, must appear in the first MaxExpectBytes the
	// peer sends, read until it does or the peer stops.
	Expect string
}

// TCP runs TCP checks. It is safe for concurrent use by many goroutines.
type TCP struct {
	guard *Guard
}

// NewTCP returns a TCP checker. A check whose target has an address guard
// refuses fails with KindBlocked; a nil guard allows every address.
func NewTCP(guard *Guard) *TCP {
	return &TCP{guard: guard}
}

// Check runs one TCP check. It returns within the request's timeout (or
// ctx's deadline when sooner), whatever the peer does. A check is OK when
// the connection (and handshake) succeeded, Send was written and Expect, if
// any, was found in the answer. With TLS, CertExpiry is the leaf
// certificate's, even when it failed verification.
func (t *TCP) Check(ctx context.Context, req TCPRequest) Result {
	start := time.Now()
	ctx, cancel, budget := withBudget(ctx, start, req.Timeout)
	defer cancel()
	p := &connProbe{budget: budget}

	if err := validateTarget(req.Host, req.Port); err != nil {
		return p.result(start, KindInvalid, err.Error())
	}
	if len(req.Expect) > MaxExpectBytes {
		return p.result(start, KindInvalid, "expect must be at most "+strconv.Itoa(MaxExpectBytes)+" bytes")
	}
	raw, err := p.dial(ctx, t.guard, net.JoinHostPort(req.Host, strconv.Itoa(req.Port)))
	if err != nil {
		return p.fail(ctx, start, err)
	}
	defer raw.Close()

	conn := raw
	var expiry time.Time
	if req.TLS {
		serverName := req.ServerName
		if serverName == "" {
			serverName = req.Host
		}
		tconn, err := p.handshake(ctx, raw, &tls.Config{ServerName: serverName, InsecureSkipVerify: !req.VerifyTLS})
		if err != nil {
			res := p.fail(ctx, start, err)
			if cve, ok := errors.AsType[*tls.CertificateVerificationError](err); ok && len(cve.UnverifiedCertificates) > 0 {
				res.CertExpiry = cve.UnverifiedCertificates[0].NotAfter
			}
			return res
		}
		if certs := tconn.ConnectionState().PeerCertificates; len(certs) > 0 {
			expiry = certs[0].NotAfter
		}
		conn = tconn
	}

	res := p.exchange(ctx, start, conn, req.Send, req.Expect)
	res.CertExpiry = expiry
	return res
}

// exchange writes send on conn and looks for expect in the answer.
func (p *connProbe) exchange(ctx context.Context, start time.Time, conn net.Conn, send, expect string) Result {
	if send != "" {
		p.advance(connSending)
		if _, err := io.WriteString(conn, send); err != nil {
			return p.fail(ctx, start, err)
		}
	}
	if expect == "" {
		return p.result(start, KindNone, "")
	}
	p.advance(connReading)
	got, found, err := p.readUntil(conn, []byte(expect), MaxExpectBytes)
	switch {
	case found:
		return p.result(start, KindNone, "")
	case err != nil && (errors.Is(ctx.Err(), context.Canceled) || len(got) == 0 && !errors.Is(err, io.EOF)):
		// Nothing to compare: the peer said nothing before the deadline or
		// the reset, or the caller gave up.
		return p.fail(ctx, start, err)
	}
	// The peer answered, then stopped (closed, went quiet until the
	// deadline, or sent MaxExpectBytes): what it said is the failure.
	return p.result(start, KindMismatch, "expected "+answerExcerpt([]byte(expect))+" in the answer, got "+answerExcerpt(got))
}

// readUntil reads from r until want appears in what was read, r fails or
// limit bytes were read. It returns what was read and whether want is in
// it; err is nil when it is.
func (p *connProbe) readUntil(r io.Reader, want []byte, limit int) (got []byte, found bool, err error) {
	buf := make([]byte, 0, min(limit, 4<<10))
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = append(make([]byte, 0, min(2*cap(buf), limit)), buf...)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		if n > 0 {
			if len(buf) == 0 {
				p.firstByte()
			}
			// Only the new bytes, and the tail want may straddle, are new
			// places for want to be.
			from := max(0, len(buf)-len(want)+1)
			buf = buf[:len(buf)+n]
			if bytes.Contains(buf[from:], want) {
				return buf, true, nil
			}
		}
		if err != nil {
			return buf, false, err
		}
	}
	return buf, false, nil
}

// answerExcerpt quotes the start of b for a message, and says how much it
// left out: `"+OK ready\r\n"`, `"xxx…x" and 300 more bytes`.
func answerExcerpt(b []byte) string {
	if len(b) <= answerExcerptBytes {
		return strconv.Quote(string(b))
	}
	cut := answerExcerptBytes
	for cut > 0 && !utf8.RuneStart(b[cut]) { // do not split a character
		cut--
	}
	if cut == 0 {
		cut = answerExcerptBytes
	}
	more := " more bytes"
	if len(b)-cut == 1 {
		more = " more byte"
	}
	return strconv.Quote(string(b[:cut])) + " and " + strconv.Itoa(len(b)-cut) + more
}

// withBudget derives the context of a check started at start: its deadline
// is the sooner of ctx's and start plus timeout (DefaultTimeout when timeout
// is not positive). budget is the time the check had, for messages.
func withBudget(ctx context.Context, start time.Time, timeout time.Duration) (_ context.Context, _ context.CancelFunc, budget time.Duration) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	budget = timeout
	if d, ok := ctx.Deadline(); ok && d.Before(start.Add(timeout)) {
		budget = max(d.Sub(start), 0).Round(time.Millisecond)
	}
	ctx, cancel := context.WithDeadline(ctx, start.Add(timeout))
	return ctx, cancel, budget
}

// validateTarget checks the host and port a check connects to.
func validateTarget(host string, port int) error {
	if host == "" {
		return errors.New("host is required")
	}
	if port < 1 || port > 65535 {
		return fmt.Errorf("port %d must be between 1 and 65535", port)
	}
	return nil
}

// A connStep is how far a TCP or TLS check went. Steps only move forward.
type connStep int

const (
	connDialing     connStep = iota // dialing, before any name lookup
	connResolving                   // resolving the host name
	connConnecting                  // opening the TCP connection
	connHandshaking                 // TLS handshake
	connSending                     // writing TCPRequest.Send
	connReading                     // reading the answer
)

// String says what the check was doing, for error messages.
func (s connStep) String() string {
	switch s {
	case connResolving:
		return "resolving name"
	case connHandshaking:
		return "TLS handshake"
	case connSending:
		return "sending"
	case connReading:
		return "reading answer"
	}
	return "connecting"
}

// A connProbe follows the connection of one TCP or TLS check: how far it
// went, for messages, and how long each step took. The dialer reports to it
// from its own goroutines, possibly after dial returned (the losing attempt
// of a Happy Eyeballs race), hence the mutex.
type connProbe struct {
	budget time.Duration // the time the check had, for messages

	mu                  sync.Mutex
	step                connStep
	phases              Phases
	dnsAt, connectAt    time.Time // when each step started
	readAt, firstByteAt time.Time // reading began; the first byte came
	connected, resolved bool
}

// dial connects to addr, a host and port, through guard's Control when
// guard is enabled. The check's deadline bounds the dial and is set on the
// connection, so that no read or write outlives it; a cancellation of ctx
// ends them too.
func (p *connProbe) dial(ctx context.Context, guard *Guard, addr string) (net.Conn, error) {
	deadline, _ := ctx.Deadline()
	d := net.Dialer{Deadline: deadline, KeepAlive: -1}
	if guard.enabled() { // a nil Control costs a dial nothing
		d.Control = guard.Control
	}
	// net.Dialer reports its name lookups and connection attempts to the
	// hooks of an httptrace.ClientTrace in its context, HTTP or not.
	trace := &httptrace.ClientTrace{
		DNSStart:     func(httptrace.DNSStartInfo) { p.dnsStart() },
		DNSDone:      func(httptrace.DNSDoneInfo) { p.dnsDone() },
		ConnectStart: func(_, _ string) { p.connectStart() },
		ConnectDone:  func(_, _ string, err error) { p.connectDone(err) },
	}
	conn, err := d.DialContext(httptrace.WithClientTrace(ctx, trace), "tcp", addr)
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, fmt.Errorf("set connection deadline: %w", err)
	}
	return &cancelConn{Conn: conn, stop: context.AfterFunc(ctx, func() {
		conn.SetDeadline(time.Unix(1, 0)) // wakes blocked reads and writes
	})}, nil
}

// cancelConn is a connection whose pending reads and writes fail once the
// check's context is done.
type cancelConn struct {
	net.Conn
	stop func() bool
}

// Close closes the connection and forgets the context.
func (c *cancelConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// handshake runs the TLS handshake on conn and records its duration, even
// when it failed: a slow failure is worth seeing.
func (p *connProbe) handshake(ctx context.Context, conn net.Conn, cfg *tls.Config) (*tls.Conn, error) {
	p.advance(connHandshaking)
	begin := time.Now()
	tconn := tls.Client(conn, cfg)
	err := tconn.HandshakeContext(ctx)
	p.mu.Lock()
	p.phases.TLS = time.Since(begin)
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return tconn, nil
}

func (p *connProbe) dnsStart() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dnsAt = time.Now()
	p.step = max(p.step, connResolving)
}

func (p *connProbe) dnsDone() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.resolved && !p.dnsAt.IsZero() {
		p.phases.DNS = time.Since(p.dnsAt)
		p.resolved = true
	}
}

// connectStart may be called once per address tried (IPv6 and IPv4 race):
// Connect runs from the first attempt to the first success.
func (p *connProbe) connectStart() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.connectAt.IsZero() {
		p.connectAt = time.Now()
	}
	p.step = max(p.step, connConnecting)
}

func (p *connProbe) connectDone(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil && !p.connected && !p.connectAt.IsZero() {
		p.phases.Connect = time.Since(p.connectAt)
		p.connected = true
	}
}

func (p *connProbe) firstByte() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.firstByteAt = time.Now()
}

// advance moves the check forward to s.
func (p *connProbe) advance(s connStep) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s == connReading && p.readAt.IsZero() {
		p.readAt = time.Now() // TTFB counts from here: Send, if any, is written
	}
	p.step = max(p.step, s)
}

// snapshot returns the phases measured so far and the current step.
func (p *connProbe) snapshot() (Phases, connStep) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ph := p.phases
	if !p.firstByteAt.IsZero() && !p.readAt.IsZero() {
		ph.TTFB = p.firstByteAt.Sub(p.readAt)
	}
	return ph, p.step
}

// result ends the check started at start.
func (p *connProbe) result(start time.Time, kind Kind, msg string) Result {
	latency := time.Since(start)
	phases, _ := p.snapshot()
	return Result{OK: kind == KindNone, Latency: latency, Phases: phases, ErrorKind: kind, Error: msg}
}

// fail ends the check started at start with err.
func (p *connProbe) fail(ctx context.Context, start time.Time, err error) Result {
	kind, msg := p.classify(ctx, err)
	return p.result(start, kind, msg)
}

// classify says why a check failed with err, in a short message that keeps
// the cause. ctx is the check's own context.
func (p *connProbe) classify(ctx context.Context, err error) (Kind, string) {
	// First: a refused address is the answer whatever else went wrong.
	if blocked, ok := errors.AsType[*BlockedError](err); ok {
		return KindBlocked, blocked.Error()
	}
	_, step := p.snapshot()
	switch {
	case errors.Is(ctx.Err(), context.Canceled): // the caller gave up, e.g. shutdown
		return KindTimeout, "canceled: " + step.String()
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return KindTimeout, p.timeout(step)
	}
	// Before net.Error: a resolver that timed out on its own means the name
	// did not resolve, not that the check ran out of time.
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		return KindDNS, dnsErr.Error()
	}
	if netErr, ok := errors.AsType[net.Error](err); ok && netErr.Timeout() {
		return KindTimeout, p.timeout(step) // the connection's deadline
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused, err.Error()
	case isTLSError(err):
		return KindTLS, err.Error()
	case step == connHandshaking && !isConnectionError(err): // crypto/tls has untyped errors too
		return KindTLS, err.Error()
	}
	return KindConnection, connFailure(step, err)
}

// timeout says a check ran out of time while at step.
func (p *connProbe) timeout(step connStep) string {
	return "timeout after " + p.budget.String() + ": " + step.String()
}

// connFailure says when the connection broke and why, leaving out its
// addresses (the local port differs each time) so that one failure reads
// the same from check to check.
func connFailure(step connStep, err error) string {
	if opErr, ok := errors.AsType[*net.OpError](err); ok && opErr.Source != nil && opErr.Err != nil {
		err = opErr.Err
	}
	return step.String() + ": " + err.Error()
}
