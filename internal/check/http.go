package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// Limits and defaults of HTTP checks.
const (
	// MaxBodyBytes is how much of a response body a check reads at most. The
	// rest is never read: the connection is closed instead.
	MaxBodyBytes = 1 << 20
	// DefaultMaxRedirects is how many redirects a check follows when
	// HTTPRequest.MaxRedirects is zero.
	DefaultMaxRedirects = 10
	// DefaultTimeout bounds a check whose HTTPRequest.Timeout is zero, so that
	// no check can run unbounded.
	DefaultTimeout = 10 * time.Second

	// maxHeaderBytes bounds the response headers a check accepts (net/http
	// would take 10 MiB per check).
	maxHeaderBytes = 256 << 10
)

// defaultExpected is what a request with no Expected ranges accepts.
var defaultExpected = monitor.StatusRanges{{Low: 200, High: 299}}

// closedIdle is how net/http reports, with no type to match, a connection
// closed by the server before the request was written. It is worded for a
// kept-alive connection; a check's connection is always new.
const closedIdle = "http: server closed idle connection"

// errTooManyRedirects stops a check that was redirected more often than its
// request allows.
var errTooManyRedirects = errors.New("too many redirects")

// HTTPRequest describes one HTTP check.
type HTTPRequest struct {
	Method string // "" means GET
	URL    string // http or https
	// Headers are sent as given; "Host" sets the request's host, and
	// "User-Agent" replaces the checker's own.
	Headers map[string]string
	Body    string // sent, whatever the method, when not empty
	// Timeout bounds the whole check, from DNS to the last byte of the body
	// read; 0 means DefaultTimeout. A deadline of the check's context that
	// comes sooner wins.
	Timeout         time.Duration
	FollowRedirects bool
	MaxRedirects    int // 0 means DefaultMaxRedirects (10)
	VerifyTLS       bool
	// Expected are the status codes of an answer that is up; empty means
	// 200-299. Status assertions, when there are any, replace it.
	Expected monitor.StatusRanges
	// Assertions are further conditions on the answer, evaluated once its
	// status was found expected and its body read, in order: the first that
	// fails fails the check, unless it is a response_time assertion, which
	// leaves the check up but degraded. The body is kept in memory only when
	// one of them looks at it. Nil entries are ignored.
	Assertions []*Compiled
	// BasicAuth and BearerToken, of which at most one may be set, send
	// credentials in an Authorization header, unless Headers set one.
	BasicAuth   *BasicAuth
	BearerToken string
	// IPVersion restricts the connections to IPv4 ("4") or IPv6 ("6");
	// "" uses either.
	IPVersion string
	// ProxyURL, when not nil, is the http:// or https:// proxy the check
	// goes through. The Guard then vets the proxy's address, not the
	// target's, which the proxy reaches from its own network.
	ProxyURL *url.URL
	// ClientCert, when not nil, is presented to servers that ask for a
	// client certificate (mutual TLS).
	ClientCert *tls.Certificate
}

// BasicAuth are the credentials of HTTP basic authentication.
type BasicAuth struct {
	Username string
	Password string
}

// ownTransport reports whether req needs a transport of its own: the shared
// ones dial any IP version, directly, with no client certificate.
func (req *HTTPRequest) ownTransport() bool {
	return req.ProxyURL != nil || req.ClientCert != nil || req.IPVersion != ""
}

// HTTP runs HTTP checks. It is safe for concurrent use by many goroutines.
//
// Each check opens its own connection and does a full TLS handshake, as a
// first-time visitor would: connections are never kept alive and TLS
// sessions are never resumed. The transports are shared, though, because
// building one per check would cost more than the check; only a check with
// a proxy, a client certificate or an IP version gets one of its own, used
// once. Every connection, redirects' and proxies' included, is vetted by the
// checker's Guard.
type HTTP struct {
	userAgent  string
	control    controlFunc  // the guard's, nil when it allows everything
	verified   *http.Client // checks with VerifyTLS
	unverified *http.Client // checks without
}

// controlFunc vets an address before it is connected to (see
// net.Dialer.Control).
type controlFunc func(network, address string, c syscall.RawConn) error

// NewHTTP returns an HTTP checker that sends userAgent as User-Agent unless
// a request sets its own (an empty userAgent leaves Go's default). A check
// whose target, or a redirect's, has an address guard refuses fails with
// KindBlocked; a nil guard allows every address.
func NewHTTP(userAgent string, guard *Guard) *HTTP {
	var control controlFunc
	if guard.enabled() { // a nil Control costs a dial nothing
		control = guard.Control
	}
	return &HTTP{
		userAgent:  userAgent,
		control:    control,
		verified:   newClient(newTransport(control, true, "", nil, nil)),
		unverified: newClient(newTransport(control, false, "", nil, nil)),
	}
}

// newClient returns a client that follows redirects as the check's request
// says.
func newClient(t *http.Transport) *http.Client {
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}
}

// newTransport returns a transport whose connections serve a single request
// and are made to addresses control allows. network, "tcp4" or "tcp6",
// restricts the IP version, proxy is the proxy to go through, cert the
// client certificate; "" and nils for none.
func newTransport(control controlFunc, verifyTLS bool, network string, proxy *url.URL, cert *tls.Certificate) *http.Transport {
	t := &http.Transport{
		// A check reaches its target directly, whatever HTTP_PROXY says,
		// unless its request names a proxy: through one, the guard vets
		// the proxy's address instead of the target's.
		Proxy: nil,
		DialContext: func(ctx context.Context, n, addr string) (net.Conn, error) {
			if network != "" {
				n = network
			}
			return dial(ctx, n, addr, control)
		},
		TLSClientConfig: &tls.Config{
			// With no ClientSessionCache, no TLS session is resumed.
			InsecureSkipVerify: !verifyTLS,
		},
		ForceAttemptHTTP2: true,
		DisableKeepAlives: true,
		// Without Accept-Encoding the body comes as it is on the wire: no
		// CPU spent inflating it, and MaxBodyBytes counts what was sent.
		DisableCompression:     true,
		MaxResponseHeaderBytes: maxHeaderBytes,
		// No TLSHandshakeTimeout or ResponseHeaderTimeout: the check's
		// deadline is set on the connection itself (see dial), which bounds
		// the handshake, the headers and the body, and costs no timer.
	}
	if proxy != nil {
		t.Proxy = http.ProxyURL(proxy)
	}
	if cert != nil {
		// Sent whichever CAs the server names: the user chose it.
		t.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return cert, nil
		}
	}
	return t
}

// dial connects for one check. net/http dials with a context detached from
// the request's cancellation (so that another request could use the
// connection), so the check's deadline is taken from its probe and set both
// on the dial (DNS and connect) and on the connection: whatever the peer
// does, nothing of the check outlives its deadline, not even in the
// background. control, when not nil, vets each resolved address before it
// is connected to (see Guard.Control).
func dial(ctx context.Context, network, addr string, control controlFunc) (net.Conn, error) {
	deadline := time.Now().Add(DefaultTimeout)
	if p, ok := ctx.Value(probeKey{}).(*probe); ok {
		deadline = p.deadline
	}
	// Connections live for one request: keep-alive probes would be wasted.
	d := net.Dialer{Deadline: deadline, KeepAlive: -1, Control: control}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, fmt.Errorf("set connection deadline: %w", err)
	}
	return conn, nil
}

// checkRedirect applies the redirect policy of the request being checked.
func checkRedirect(req *http.Request, via []*http.Request) error {
	p, ok := req.Context().Value(probeKey{}).(*probe)
	if !ok || !p.follow {
		return http.ErrUseLastResponse
	}
	if len(via) > p.maxRedirects {
		return errTooManyRedirects
	}
	return nil
}

// Close closes idle connections and cancels dials that no check waits for.
// Checks are not kept from running after Close. It is safe to call twice.
func (h *HTTP) Close() {
	h.verified.CloseIdleConnections()
	h.unverified.CloseIdleConnections()
}

// Check runs one HTTP check. It returns within the request's timeout (or
// ctx's deadline when sooner), whatever the peer does. A check is OK when a
// response arrived with an expected status, its body (of which at most
// MaxBodyBytes are read) came whole, and its assertions hold; it is degraded
// when only a response_time assertion failed. When redirects are followed,
// Phases and CertExpiry describe the last hop; Latency always covers the
// whole check.
func (h *HTTP) Check(ctx context.Context, req HTTPRequest) Result {
	start := time.Now()
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	budget := timeout
	if d, ok := ctx.Deadline(); ok && d.Before(start.Add(timeout)) {
		budget = max(d.Sub(start), 0).Round(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	p := &probe{budget: budget, follow: req.FollowRedirects, maxRedirects: req.MaxRedirects, ipVersion: req.IPVersion}
	p.deadline, _ = ctx.Deadline()
	if p.maxRedirects <= 0 {
		p.maxRedirects = DefaultMaxRedirects
	}
	ctx = httptrace.WithClientTrace(context.WithValue(ctx, probeKey{}, p), p.trace())

	hreq, err := h.newRequest(ctx, &req)
	if err != nil {
		return p.result(time.Since(start), 0, KindInvalid, err.Error())
	}
	client := h.verified
	if !req.VerifyTLS {
		client = h.unverified
	}
	if req.ownTransport() {
		t := h.transport(&req)
		defer t.CloseIdleConnections()
		client = newClient(t)
	}
	resp, err := client.Do(hreq)
	if err != nil {
		code := 0
		if resp != nil { // a redirect refused by checkRedirect, body closed
			code = resp.StatusCode
		}
		kind, msg := p.classify(ctx, err)
		return p.result(time.Since(start), code, kind, msg)
	}
	p.advance(stageBody)
	var body []byte
	if needsBody(req.Assertions) {
		body, err = bufferBody(resp.Body, resp.ContentLength)
	} else {
		_, err = readBody(resp.Body)
	}
	resp.Body.Close() // closes the connection; nothing to learn from it
	latency := time.Since(start)

	var certExpiry time.Time
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		certExpiry = resp.TLS.PeerCertificates[0].NotAfter
	}
	res := p.judge(ctx, &req, resp, body, err, latency, certExpiry)
	res.CertExpiry = certExpiry
	return res
}

// judge returns the result of a check whose response arrived and whose body
// was read, as far as it goes, with readErr.
func (p *probe) judge(ctx context.Context, req *HTTPRequest, resp *http.Response, body []byte, readErr error,
	latency time.Duration, certExpiry time.Time) Result {
	code := resp.StatusCode
	// An unexpected status says more than a body that broke off.
	if msg := statusFailure(req, code); msg != "" {
		return p.result(latency, code, KindStatus, msg)
	}
	if readErr != nil {
		kind, msg := p.classify(ctx, readErr)
		return p.result(latency, code, kind, msg)
	}
	if len(req.Assertions) == 0 {
		return p.result(latency, code, KindNone, "")
	}
	ans := Answer{
		Status:     code,
		Latency:    latency,
		Header:     resp.Header,
		Body:       body,
		CertExpiry: certExpiry,
		Now:        time.Now(),
	}
	var slow *Failure // the first degrading failure
	for _, a := range req.Assertions {
		if a == nil || a.typ == assertStatus { // status: see statusFailure
			continue
		}
		switch f := a.Evaluate(ans); {
		case f == nil:
		case !f.Degraded:
			return p.result(latency, code, KindAssertion, f.Error())
		case slow == nil:
			slow = f
		}
	}
	res := p.result(latency, code, KindNone, "")
	if slow != nil {
		res.Degraded = true
		res.Error = slow.Error()
	}
	return res
}

// statusFailure says why code is not a status req expects, and returns ""
// when it is. Status assertions, when req has any, replace Expected.
func statusFailure(req *HTTPRequest, code int) string {
	asserted := false
	for _, a := range req.Assertions {
		if a == nil || a.typ != assertStatus {
			continue
		}
		asserted = true
		if !a.ranges.Contains(code) {
			return unexpectedStatus(code, a.ranges)
		}
	}
	if asserted {
		return ""
	}
	expected := req.Expected
	if len(expected) == 0 {
		expected = defaultExpected
	}
	if !expected.Contains(code) {
		return unexpectedStatus(code, expected)
	}
	return ""
}

// unexpectedStatus says that code is not in expected.
func unexpectedStatus(code int, expected monitor.StatusRanges) string {
	return "status " + strconv.Itoa(code) + ", expected " + formatRanges(expected)
}

// needsBody reports whether one of assertions looks at the body.
func needsBody(assertions []*Compiled) bool {
	for _, a := range assertions {
		if a != nil && a.needsBody() {
			return true
		}
	}
	return false
}

// transport returns a transport for req alone, which newRequest validated.
func (h *HTTP) transport(req *HTTPRequest) *http.Transport {
	var network string
	switch req.IPVersion {
	case "4":
		network = "tcp4"
	case "6":
		network = "tcp6"
	}
	return newTransport(h.control, req.VerifyTLS, network, req.ProxyURL, req.ClientCert)
}

// newRequest builds the first request of a check.
func (h *HTTP) newRequest(ctx context.Context, req *HTTPRequest) (*http.Request, error) {
	if err := validateOptions(req); err != nil {
		return nil, err
	}
	var body io.Reader
	if req.Body != "" {
		body = strings.NewReader(req.Body) // also lets 307 and 308 resend it
	}
	r, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, err
	}
	if r.URL.Scheme != "http" && r.URL.Scheme != "https" {
		return nil, fmt.Errorf("URL %q must start with http:// or https://", req.URL)
	}
	if r.URL.Host == "" {
		return nil, fmt.Errorf("URL %q has no host", req.URL)
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, "Host") {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	if _, ok := r.Header["User-Agent"]; !ok && h.userAgent != "" {
		r.Header.Set("User-Agent", h.userAgent)
	}
	if _, ok := r.Header["Authorization"]; !ok {
		switch {
		case req.BasicAuth != nil:
			r.SetBasicAuth(req.BasicAuth.Username, req.BasicAuth.Password)
		case req.BearerToken != "":
			r.Header.Set("Authorization", "Bearer "+req.BearerToken)
		}
	}
	return r, nil
}

// validateOptions checks the options of req that net/http does not.
func validateOptions(req *HTTPRequest) error {
	if req.BasicAuth != nil && req.BearerToken != "" {
		return errors.New("set basic auth or a bearer token, not both")
	}
	switch req.IPVersion {
	case "", "4", "6":
	default:
		return fmt.Errorf("IP version %q must be 4 or 6", req.IPVersion)
	}
	if u := req.ProxyURL; u != nil {
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Errorf("proxy URL %q must start with http:// or https://", u.Redacted())
		}
		if u.Host == "" {
			return fmt.Errorf("proxy URL %q has no host", u.Redacted())
		}
	}
	return nil
}

// readBody reads and discards at most MaxBodyBytes of body.
func readBody(body io.Reader) (int64, error) {
	return io.Copy(io.Discard, io.LimitReader(body, MaxBodyBytes))
}

// bufferBody reads at most MaxBodyBytes of body into memory, in a buffer
// that never grows past MaxBodyBytes. size is the length the peer announced,
// -1 when unknown.
func bufferBody(body io.Reader, size int64) ([]byte, error) {
	n := int64(512)
	if size > 0 {
		n = min(size, MaxBodyBytes)
	}
	buf := make([]byte, 0, n)
	for len(buf) < MaxBodyBytes {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), len(buf)+min(cap(buf), MaxBodyBytes-len(buf)))
			copy(grown, buf)
			buf = grown
		}
		m, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// formatRanges renders ranges as a user writes them: "200-299,301".
func formatRanges(ranges monitor.StatusRanges) string {
	b := make([]byte, 0, 8*len(ranges))
	for i, r := range ranges {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(r.Low), 10)
		if r.High != r.Low {
			b = append(b, '-')
			b = strconv.AppendInt(b, int64(r.High), 10)
		}
	}
	return string(b)
}

// A stage is how far one hop of a check went. Stages only move forward
// within a hop.
type stage int

const (
	stageNone    stage = iota // the request was not sent to the transport yet
	stageDial                 // waiting for a connection
	stageDNS                  // resolving the host name
	stageConnect              // opening the TCP connection
	stageTLS                  // TLS handshake
	stageSend                 // writing the request
	stageWait                 // request written, no response byte yet
	stageHeaders              // reading the response headers
	stageBody                 // reading the body
)

// String says what the check was doing, for error messages.
func (s stage) String() string {
	switch s {
	case stageDial, stageConnect:
		return "connecting"
	case stageDNS:
		return "resolving name"
	case stageTLS:
		return "TLS handshake"
	case stageSend:
		return "sending request"
	case stageWait:
		return "waiting for response"
	case stageHeaders:
		return "reading response headers"
	case stageBody:
		return "reading body"
	}
	return "preparing request"
}

// probeKey is the context key under which a check's probe travels to dial
// and checkRedirect.
type probeKey struct{}

// A probe follows one check through its hops. The transport reports to it
// from its own goroutines, possibly after Check has returned (a dial outlives
// a cancelled request), hence the mutex.
type probe struct {
	deadline     time.Time
	budget       time.Duration // the time the check had, for messages
	follow       bool
	maxRedirects int
	ipVersion    string // the request's IPVersion

	mu  sync.Mutex
	hop hop // the current hop
}

// hop is what the probe knows of one request and response.
type hop struct {
	stage                   stage
	dns, connect, tls       time.Duration
	dnsAt, connectAt, tlsAt time.Time // when each step started
	gotConnAt, wroteAt      time.Time // request started, fully written
	firstByteAt             time.Time
}

// trace returns the httptrace hooks that report to p.
func (p *probe) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn:              p.getConn,
		DNSStart:             p.dnsStart,
		DNSDone:              p.dnsDone,
		ConnectStart:         p.connectStart,
		ConnectDone:          p.connectDone,
		TLSHandshakeStart:    p.tlsHandshakeStart,
		TLSHandshakeDone:     p.tlsHandshakeDone,
		GotConn:              p.gotConn,
		WroteRequest:         p.wroteRequest,
		GotFirstResponseByte: p.gotFirstResponseByte,
	}
}

// getConn starts a hop: phases describe the last one.
func (p *probe) getConn(string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hop = hop{stage: stageDial}
}

func (p *probe) dnsStart(httptrace.DNSStartInfo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hop.dnsAt = time.Now()
	p.hop.stage = max(p.hop.stage, stageDNS)
}

func (p *probe) dnsDone(httptrace.DNSDoneInfo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.hop.dnsAt.IsZero() {
		p.hop.dns = time.Since(p.hop.dnsAt)
	}
}

// connectStart may be called once per address tried (IPv6 and IPv4 race):
// Connect runs from the first attempt to the first success.
func (p *probe) connectStart(_, _ string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hop.connectAt.IsZero() {
		p.hop.connectAt = time.Now()
	}
	p.hop.stage = max(p.hop.stage, stageConnect)
}

func (p *probe) connectDone(_, _ string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil && p.hop.connect == 0 && !p.hop.connectAt.IsZero() {
		p.hop.connect = time.Since(p.hop.connectAt)
	}
}

func (p *probe) tlsHandshakeStart() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hop.tlsAt = time.Now()
	p.hop.stage = max(p.hop.stage, stageTLS)
}

// tlsHandshakeDone records the handshake's duration even when it failed:
// a slow failure is worth seeing.
func (p *probe) tlsHandshakeDone(_ tls.ConnectionState, _ error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.hop.tlsAt.IsZero() {
		p.hop.tls = time.Since(p.hop.tlsAt)
	}
}

func (p *probe) gotConn(httptrace.GotConnInfo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hop.gotConnAt = time.Now()
	p.hop.stage = max(p.hop.stage, stageSend)
}

func (p *probe) wroteRequest(httptrace.WroteRequestInfo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hop.wroteAt = time.Now()
	p.hop.stage = max(p.hop.stage, stageWait)
}

func (p *probe) gotFirstResponseByte() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hop.firstByteAt = time.Now()
	p.hop.stage = max(p.hop.stage, stageHeaders)
}

// advance moves the current hop forward to s.
func (p *probe) advance(s stage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hop.stage = max(p.hop.stage, s)
}

// snapshot returns the current hop's phases and stage.
func (p *probe) snapshot() (Phases, stage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ph := Phases{DNS: p.hop.dns, Connect: p.hop.connect, TLS: p.hop.tls}
	// WroteRequest is reported by the goroutine that writes, which can be
	// outrun by the one that reads the answer (or never report, when the
	// peer answered without reading the body): then TTFB counts from the
	// start of the request.
	from := p.hop.wroteAt
	if from.IsZero() || from.After(p.hop.firstByteAt) {
		from = p.hop.gotConnAt
	}
	if !p.hop.firstByteAt.IsZero() && !from.IsZero() {
		ph.TTFB = p.hop.firstByteAt.Sub(from)
	}
	return ph, p.hop.stage
}

// result ends a check that took latency.
func (p *probe) result(latency time.Duration, code int, kind Kind, msg string) Result {
	phases, _ := p.snapshot()
	return Result{
		OK:         kind == KindNone,
		StatusCode: code,
		Latency:    latency,
		Phases:     phases,
		ErrorKind:  kind,
		Error:      msg,
	}
}

// classify says why a check failed with err, in a short message that keeps
// the cause. ctx is the check's own context.
func (p *probe) classify(ctx context.Context, err error) (Kind, string) {
	// Drop `Get "https://…": `: the user knows the URL.
	if uerr, ok := errors.AsType[*url.Error](err); ok {
		err = uerr.Err
	}
	// First: a refused address is the answer whatever else went wrong, and
	// not a failure worth retrying.
	if blocked, ok := errors.AsType[*BlockedError](err); ok {
		return KindBlocked, blocked.Error()
	}
	_, stage := p.snapshot()
	switch {
	case errors.Is(err, errTooManyRedirects):
		return KindRedirects, "stopped after " + strconv.Itoa(p.maxRedirects) + " redirects"
	case errors.Is(ctx.Err(), context.Canceled): // the caller gave up, e.g. shutdown
		return KindTimeout, "canceled: " + stage.String()
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return KindTimeout, p.timeout(stage)
	}
	// Before net.Error: a resolver that timed out on its own means the name
	// did not resolve, not that the check ran out of time.
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		return KindDNS, dnsErr.Error()
	}
	// A host with no address of the IP version asked for.
	if addrErr, ok := errors.AsType[*net.AddrError](err); ok && p.ipVersion != "" {
		if _, err := netip.ParseAddr(addrErr.Addr); err == nil {
			return KindConnection, addrErr.Addr + " is not an IPv" + p.ipVersion + " address"
		}
		return KindDNS, addrErr.Addr + " has no IPv" + p.ipVersion + " address"
	}
	if netErr, ok := errors.AsType[net.Error](err); ok && netErr.Timeout() {
		return KindTimeout, p.timeout(stage) // the connection's deadline
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused, err.Error()
	case isTLSError(err):
		return KindTLS, err.Error()
	case isConnectionError(err):
		return KindConnection, connectionMessage(stage, err)
	case err.Error() == closedIdle:
		return KindConnection, stage.String() + ": connection closed by the server"
	case stage == stageTLS: // crypto/tls has untyped errors too
		return KindTLS, err.Error()
	case stage == stageNone: // refused by net/http before dialing
		return KindInvalid, err.Error()
	}
	return KindConnection, connectionMessage(stage, err)
}

// connectionMessage says when the connection broke and why, leaving out its
// addresses (the local port differs each time) so that one failure reads the
// same from check to check.
func connectionMessage(stage stage, err error) string {
	if opErr, ok := errors.AsType[*net.OpError](err); ok && opErr.Source != nil && opErr.Err != nil {
		err = opErr.Err
	}
	return stage.String() + ": " + err.Error()
}

// timeout says a check ran out of time while at stage.
func (p *probe) timeout(stage stage) string {
	return "timeout after " + p.budget.String() + ": " + stage.String()
}

// isTLSError reports whether err comes from a failed handshake or a peer
// that does not speak TLS.
func isTLSError(err error) bool {
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return true
	}
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return true
	}
	if _, ok := errors.AsType[tls.AlertError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return true
	}
	// crypto/tls reports an alert sent by the peer as an OpError whose Err
	// type is unexported.
	if opErr, ok := errors.AsType[*net.OpError](err); ok && opErr.Op == "remote error" {
		return true
	}
	return errors.Is(err, http.ErrSchemeMismatch)
}

// isConnectionError reports whether err says the connection broke or could
// not be made.
func isConnectionError(err error) bool {
	for _, target := range connectionErrors {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// connectionErrors are the errors of a connection that broke or could not be
// made.
var connectionErrors = []error{
	io.EOF, io.ErrUnexpectedEOF, net.ErrClosed,
	syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
	syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.ENETDOWN, syscall.EHOSTDOWN,
}
