package check

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

// hostPort splits the address of a test server for a request.
func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return host, n
}

// silent is a peer that accepts and says nothing until the client hangs up.
func silent(c net.Conn) { io.Copy(io.Discard, c) }

// pingPong is a peer that reads one line and answers "+PONG" to "PING"
// and "-ERR unknown" to anything else, then hangs up.
func pingPong(c net.Conn) {
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	if line == "PING\r\n" {
		io.WriteString(c, "+PONG\r\n")
	} else {
		io.WriteString(c, "-ERR unknown\r\n")
	}
}

// says returns a peer that sends s and hangs up.
func says(s string) func(net.Conn) {
	return func(c net.Conn) { io.WriteString(c, s) }
}

// overTLS returns a peer that presents cert in a TLS handshake, then
// behaves as then over TLS.
func overTLS(cert tls.Certificate, then func(net.Conn)) func(net.Conn) {
	return func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		if err := tc.Handshake(); err != nil {
			return
		}
		then(tc)
	}
}

func TestTCPCheck(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	leaf := pki.leaf(t, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour), "pinguin.test")

	type want struct {
		ok          bool
		kind        Kind
		err         string // exact, when errContains is empty
		errContains string // for messages that name ports or resolvers
		certExpiry  bool   // CertExpiry is the leaf's
	}
	tests := []struct {
		name string
		peer func(t *testing.T) string // the address to check
		req  TCPRequest
		want want
	}{
		{
			name: "connect only",
			peer: func(t *testing.T) string { return serveRaw(t, silent) },
			want: want{ok: true},
		},
		{
			name: "send and expect",
			peer: func(t *testing.T) string { return serveRaw(t, pingPong) },
			req:  TCPRequest{Send: "PING\r\n", Expect: "+PONG"},
			want: want{ok: true},
		},
		{
			name: "banner expected without sending",
			peer: func(t *testing.T) string { return serveRaw(t, says("220 pinguin.test ESMTP ready\r\n")) },
			req:  TCPRequest{Expect: "ESMTP"},
			want: want{ok: true},
		},
		{
			name: "send without expecting",
			peer: func(t *testing.T) string { return serveRaw(t, silent) },
			req:  TCPRequest{Send: "PING\r\n"},
			want: want{ok: true},
		},
		{
			name: "expected text not in the answer",
			peer: func(t *testing.T) string { return serveRaw(t, pingPong) },
			req:  TCPRequest{Send: "HELLO\r\n", Expect: "+PONG"},
			want: want{kind: KindMismatch, err: `expected "+PONG" in the answer, got "-ERR unknown\r\n"`},
		},
		{
			name: "long answer quoted in part",
			peer: func(t *testing.T) string { return serveRaw(t, says(strings.Repeat("x", 300))) },
			req:  TCPRequest{Expect: "PONG"},
			want: want{kind: KindMismatch, err: `expected "PONG" in the answer, got "` + strings.Repeat("x", 100) + `" and 200 more bytes`},
		},
		{
			name: "reading stops at MaxExpectBytes",
			peer: func(t *testing.T) string {
				return serveRaw(t, says(strings.Repeat("x", MaxExpectBytes)+"PONG"))
			},
			req: TCPRequest{Expect: "PONG"},
			want: want{kind: KindMismatch, err: `expected "PONG" in the answer, got "` + strings.Repeat("x", 100) + `" and ` +
				strconv.Itoa(MaxExpectBytes-100) + ` more bytes`},
		},
		{
			name: "closed without a word",
			peer: func(t *testing.T) string { return serveRaw(t, func(net.Conn) {}) },
			req:  TCPRequest{Expect: "+PONG"},
			want: want{kind: KindMismatch, err: `expected "+PONG" in the answer, got ""`},
		},
		{
			name: "connection refused",
			peer: freeAddr,
			want: want{kind: KindRefused, errContains: "connect: connection refused"},
		},
		{
			name: "unresolvable name",
			peer: func(t *testing.T) string { return "nonexistent.invalid:80" },
			want: want{kind: KindDNS, errContains: "lookup nonexistent.invalid"},
		},
		{
			name: "TLS not verified",
			peer: func(t *testing.T) string { return serveRaw(t, overTLS(leaf, pingPong)) },
			req:  TCPRequest{TLS: true, Send: "PING\r\n", Expect: "+PONG"},
			want: want{ok: true, certExpiry: true},
		},
		{
			name: "TLS verified against the system roots",
			peer: func(t *testing.T) string { return serveRaw(t, overTLS(leaf, pingPong)) },
			req:  TCPRequest{TLS: true, VerifyTLS: true, ServerName: "pinguin.test"},
			want: want{kind: KindTLS, errContains: "x509: certificate signed by unknown authority", certExpiry: true},
		},
		{
			name: "TLS to a peer that does not speak it",
			peer: func(t *testing.T) string { return serveRaw(t, says("220 pinguin.test ESMTP ready\r\n")) },
			req:  TCPRequest{TLS: true},
			want: want{kind: KindTLS, err: "tls: first record does not look like a TLS handshake"},
		},
		{
			name: "no host",
			peer: func(*testing.T) string { return ":80" },
			want: want{kind: KindInvalid, err: "host is required"},
		},
		{
			name: "port out of range",
			peer: func(*testing.T) string { return "127.0.0.1:0" },
			want: want{kind: KindInvalid, err: "port 0 must be between 1 and 65535"},
		},
		{
			name: "expect longer than what is read",
			peer: func(*testing.T) string { return "127.0.0.1:1" },
			req:  TCPRequest{Expect: strings.Repeat("x", MaxExpectBytes+1)},
			want: want{kind: KindInvalid, err: "expect must be at most 65536 bytes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := tt.req
			req.Host, req.Port = hostPort(t, tt.peer(t))
			req.Timeout = 10 * time.Second

			got := NewTCP(nil).Check(t.Context(), req)

			if got.OK != tt.want.ok || got.ErrorKind != tt.want.kind {
				t.Errorf("got OK %v, kind %q (%q); want %v, %q", got.OK, got.ErrorKind, got.Error, tt.want.ok, tt.want.kind)
			}
			if tt.want.errContains != "" {
				if !strings.Contains(got.Error, tt.want.errContains) {
					t.Errorf("error %q does not contain %q", got.Error, tt.want.errContains)
				}
			} else if got.Error != tt.want.err {
				t.Errorf("error %q, want %q", got.Error, tt.want.err)
			}
			if wantExpiry := leaf.Leaf.NotAfter; tt.want.certExpiry && !got.CertExpiry.Equal(wantExpiry) {
				t.Errorf("cert expiry %v, want %v", got.CertExpiry, wantExpiry)
			} else if !tt.want.certExpiry && !got.CertExpiry.IsZero() {
				t.Errorf("cert expiry %v, want none", got.CertExpiry)
			}
			if got.Latency <= 0 {
				t.Errorf("latency %v, want > 0", got.Latency)
			}
		})
	}
}

func TestTCPCheckTimeout(t *testing.T) {
	t.Parallel()

	const timeout = 300 * time.Millisecond
	tests := []struct {
		name     string
		peer     func(net.Conn)
		req      TCPRequest
		wantKind Kind
		wantErr  string
	}{
		{
			name:     "no answer",
			peer:     silent,
			req:      TCPRequest{Send: "PING\r\n", Expect: "+PONG"},
			wantKind: KindTimeout,
			wantErr:  "timeout after 300ms: reading answer",
		},
		{
			name:     "no TLS handshake",
			peer:     silent,
			req:      TCPRequest{TLS: true},
			wantKind: KindTimeout,
			wantErr:  "timeout after 300ms: TLS handshake",
		},
		{
			name: "answer stopped short",
			peer: func(c net.Conn) {
				io.WriteString(c, "+PO")
				silent(c)
			},
			req:      TCPRequest{Expect: "+PONG"},
			wantKind: KindMismatch,
			wantErr:  `expected "+PONG" in the answer, got "+PO"`,
		},
		{
			name: "answer dripped",
			peer: func(c net.Conn) {
				for {
					if _, err := io.WriteString(c, "."); err != nil {
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			},
			req:      TCPRequest{Expect: "+PONG"},
			wantKind: KindMismatch,
			wantErr:  `expected "+PONG" in the answer, got "...`, // a prefix: how many dots came varies
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := tt.req
			req.Host, req.Port = hostPort(t, serveRaw(t, tt.peer))
			req.Timeout = timeout

			start := time.Now()
			got := NewTCP(nil).Check(t.Context(), req)
			elapsed := time.Since(start)

			if got.OK || got.ErrorKind != tt.wantKind || !strings.HasPrefix(got.Error, tt.wantErr) {
				t.Errorf("got OK %v, kind %q, error %q; want kind %q, error %q",
					got.OK, got.ErrorKind, got.Error, tt.wantKind, tt.wantErr)
			}
			if elapsed > timeout+slack {
				t.Errorf("check returned after %v, timeout %v", elapsed, timeout)
			}
		})
	}
}

// A check that timed out leaves no connection behind.
func TestTCPCheckTimeoutHangsUp(t *testing.T) {
	t.Parallel()
	hungUp := make(chan struct{}, 1)
	host, port := hostPort(t, serveRaw(t, func(c net.Conn) {
		silent(c)
		hungUp <- struct{}{}
	}))

	got := NewTCP(nil).Check(t.Context(), TCPRequest{Host: host, Port: port, Expect: "+PONG", Timeout: 300 * time.Millisecond})

	if got.ErrorKind != KindTimeout {
		t.Errorf("got kind %q (%s), want %q", got.ErrorKind, got.Error, KindTimeout)
	}
	select {
	case <-hungUp:
	case <-time.After(slack):
		t.Fatal("the connection is still open after the check timed out")
	}
}

func TestTCPCheckCanceled(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		answering bool // cancel once the peer has the request, not before the check
		wantErr   string
	}{
		{name: "before the check", wantErr: "canceled: connecting"},
		{name: "while waiting for the answer", answering: true, wantErr: "canceled: reading answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reached := make(chan struct{}, 1)
			host, port := hostPort(t, serveRaw(t, func(c net.Conn) {
				if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
					reached <- struct{}{}
				}
				silent(c)
			}))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.answering {
				go func() {
					select {
					case <-reached:
						cancel()
					case <-ctx.Done():
					}
				}()
			} else {
				cancel()
			}

			got := NewTCP(nil).Check(ctx, TCPRequest{Host: host, Port: port, Send: "PING\r\n", Expect: "+PONG", Timeout: time.Minute})

			if got.OK || got.ErrorKind != KindTimeout || got.Error != tt.wantErr {
				t.Errorf("got OK %v, kind %q, error %q; want kind %q, error %q",
					got.OK, got.ErrorKind, got.Error, KindTimeout, tt.wantErr)
			}
		})
	}
}

func TestTCPCheckContextDeadline(t *testing.T) {
	t.Parallel()
	host, port := hostPort(t, serveRaw(t, silent))
	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()

	got := NewTCP(nil).Check(ctx, TCPRequest{Host: host, Port: port, Expect: "+PONG", Timeout: time.Minute})

	// The check says how long it really had, not the request's timeout.
	budget, step, ok := strings.Cut(strings.TrimPrefix(got.Error, "timeout after "), ": ")
	d, err := time.ParseDuration(budget)
	if got.ErrorKind != KindTimeout || !ok || err != nil || d <= 0 || d > deadline || step != "reading answer" {
		t.Errorf("got kind %q, error %q; want %q, timeout after at most %v: reading answer",
			got.ErrorKind, got.Error, KindTimeout, deadline)
	}
}

func TestTCPCheckPhases(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	leaf := pki.leaf(t, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), "pinguin.test")

	type positive struct{ dns, connect, tls, ttfb bool }
	tests := []struct {
		name string
		host string // "" means 127.0.0.1
		peer func(net.Conn)
		req  TCPRequest
		want positive // which phases must be > 0; the others must be 0
	}{
		{name: "IP address", peer: silent, want: positive{connect: true}},
		{name: "host name", host: "localhost", peer: silent, want: positive{dns: true, connect: true}},
		{name: "TLS", peer: overTLS(leaf, silent), req: TCPRequest{TLS: true}, want: positive{connect: true, tls: true}},
		{
			name: "answer",
			peer: pingPong,
			req:  TCPRequest{Send: "PING\r\n", Expect: "+PONG"},
			want: positive{connect: true, ttfb: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := tt.req
			req.Host, req.Port = hostPort(t, serveRaw(t, tt.peer))
			if tt.host != "" {
				req.Host = tt.host
			}
			req.Timeout = 10 * time.Second

			got := NewTCP(nil).Check(t.Context(), req)

			if !got.OK {
				t.Fatalf("check failed: %s %s", got.ErrorKind, got.Error)
			}
			p := got.Phases
			gotPositive := positive{dns: p.DNS > 0, connect: p.Connect > 0, tls: p.TLS > 0, ttfb: p.TTFB > 0}
			if gotPositive != tt.want || p.DNS < 0 || p.Connect < 0 || p.TLS < 0 || p.TTFB < 0 {
				t.Errorf("phases %+v; want positive %+v, the others zero", p, tt.want)
			}
			if sum := p.DNS + p.Connect + p.TLS + p.TTFB; got.Latency < sum {
				t.Errorf("latency %v < sum of phases %v", got.Latency, sum)
			}
		})
	}
}

func TestTCPCheckGuard(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		host      string // "" means the server's address
		allow     bool   // let the server through the guard
		wantKind  Kind
		wantErr   string // a prefix: names may resolve to several addresses
		wantConns int32
	}{
		{name: "loopback address", wantKind: KindBlocked, wantErr: "blocked target: 127.0.0.1 is a loopback address"},
		{name: "name that resolves to loopback", host: "localhost", wantKind: KindBlocked, wantErr: "blocked target: "},
		{name: "allowed server", allow: true, wantConns: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var conns atomic.Int32
			addr := serveRaw(t, func(c net.Conn) {
				conns.Add(1)
				silent(c)
			})
			g := NewGuard(true)
			if tt.allow {
				g.allowForTest(netip.MustParseAddrPort(addr))
			}
			host, port := hostPort(t, addr)
			if tt.host != "" {
				host = tt.host
			}

			got := NewTCP(g).Check(t.Context(), TCPRequest{Host: host, Port: port, Timeout: 10 * time.Second})

			if got.OK != (tt.wantKind == KindNone) || got.ErrorKind != tt.wantKind || !strings.HasPrefix(got.Error, tt.wantErr) {
				t.Errorf("got OK %v, kind %q, error %q; want kind %q, error %q", got.OK, got.ErrorKind, got.Error, tt.wantKind, tt.wantErr)
			}
			if got.OK {
				return // the server may count the connection after the check returned
			}
			if n := conns.Load(); n != tt.wantConns {
				t.Errorf("the server saw %d connections, want %d", n, tt.wantConns)
			}
		})
	}
}

// chunks reads its parts one per Read.
type chunks []string

func (c *chunks) Read(p []byte) (int, error) {
	if len(*c) == 0 {
		return 0, io.EOF
	}
	n := copy(p, (*c)[0])
	(*c)[0] = (*c)[0][n:]
	if (*c)[0] == "" {
		*c = (*c)[1:]
	}
	return n, nil
}

// endless reads as many x as asked, forever.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestReadUntil(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		r         func() io.Reader
		want      string
		limit     int
		wantGot   string
		wantFound bool
		wantErr   error
	}{
		{
			name:      "one byte at a time, stops when found",
			r:         func() io.Reader { return iotest.OneByteReader(strings.NewReader("abc+PONGdef")) },
			want:      "+PONG",
			limit:     100,
			wantGot:   "abc+PONG",
			wantFound: true,
		},
		{
			name:      "across two reads",
			r:         func() io.Reader { return &chunks{"ab+PO", "NGcd"} },
			want:      "+PONG",
			limit:     100,
			wantGot:   "ab+PONGcd",
			wantFound: true,
		},
		{
			name:    "not found before the end",
			r:       func() io.Reader { return &chunks{"-ERR", " unknown"} },
			want:    "+PONG",
			limit:   100,
			wantGot: "-ERR unknown",
			wantErr: io.EOF,
		},
		{
			name:    "limit",
			r:       func() io.Reader { return endless{} },
			want:    "+PONG",
			limit:   10000,
			wantGot: strings.Repeat("x", 10000),
		},
		{
			name:      "found in the last bytes allowed",
			r:         func() io.Reader { return &chunks{strings.Repeat("x", 4096), "+PONG"} },
			want:      "+PONG",
			limit:     4096 + 5,
			wantGot:   strings.Repeat("x", 4096) + "+PONG",
			wantFound: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, found, err := new(connProbe).readUntil(tt.r(), []byte(tt.want), tt.limit)
			if string(got) != tt.wantGot || found != tt.wantFound || err != tt.wantErr {
				t.Errorf("got %q, %v, %v; want %q, %v, %v", got, found, err, tt.wantGot, tt.wantFound, tt.wantErr)
			}
		})
	}
}

func TestAnswerExcerpt(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "empty", in: "", want: `""`},
		{name: "control characters escaped", in: "+OK\r\n", want: `"+OK\r\n"`},
		{name: "100 bytes whole", in: strings.Repeat("a", 100), want: `"` + strings.Repeat("a", 100) + `"`},
		{name: "101 bytes cut", in: strings.Repeat("a", 101), want: `"` + strings.Repeat("a", 100) + `" and 1 more byte`},
		{
			name: "not inside a character",
			in:   strings.Repeat("a", 99) + "éb",
			want: `"` + strings.Repeat("a", 99) + `" and 3 more bytes`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := answerExcerpt([]byte(tt.in)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
