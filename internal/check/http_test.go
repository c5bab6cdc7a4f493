package check

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pinguin-dev/pinguin/internal/monitor"
)

const testUserAgent = "pinguin-test/1.0"

// slack is how much later than its timeout a check may return in tests: a
// bound against hanging, not a measure of speed.
const slack = 5 * time.Second

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// setup returns a checker closed at the end of the test.
func setup(t *testing.T) *HTTP {
	t.Helper()
	h := NewHTTP(testUserAgent, nil)
	t.Cleanup(h.Close)
	return h
}

// serve starts a test server closed at the end of the test. A non-nil
// tlsConfig makes it serve HTTPS, with HTTP/2 offered.
func serve(t *testing.T, handler http.Handler, tlsConfig *tls.Config) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are the point
	if tlsConfig != nil {
		srv.TLS = tlsConfig
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// serveTLS starts an HTTPS test server with httptest's own certificate.
func serveTLS(t *testing.T, handler http.Handler) *httptest.Server {
	t.Helper()
	return serve(t, handler, &tls.Config{})
}

// serveRaw accepts TCP connections and hands each to handle, for peers that
// misbehave below HTTP. It returns the listening address. Connections still
// open at the end of the test are closed, and handle must then return.
func serveRaw(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  = make(map[net.Conn]struct{})
		closed bool
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				return
			}
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		closed = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// freeAddr returns an address where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func statusRanges(t *testing.T, s string) monitor.StatusRanges {
	t.Helper()
	r, err := monitor.ParseStatusRanges(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// expiredCert returns a self-signed certificate for 127.0.0.1 that expired
// yesterday.
func expiredCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "expired.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-48 * time.Hour),
		NotAfter:     time.Now().Add(-24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// site answers the paths the table tests ask for.
func site() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.PathValue("code"))
		if err != nil {
			code = http.StatusBadRequest
		}
		w.WriteHeader(code)
	})
	mux.Handle("/moved", http.RedirectHandler("/elsewhere", http.StatusMovedPermanently))
	mux.HandleFunc("/elsewhere", http.NotFound)
	mux.Handle("/found", http.RedirectHandler("/ok", http.StatusFound))
	mux.Handle("/loop", http.RedirectHandler("/loop", http.StatusFound))
	// /chain/n redirects n times before answering 200.
	mux.HandleFunc("/chain/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n <= 0 {
			return
		}
		http.Redirect(w, r, "/chain/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.Handle("/temporary", http.RedirectHandler("/echo", http.StatusTemporaryRedirect))
	// /echo accepts only a POST of "ping".
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost || string(body) != "ping" {
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	mux.HandleFunc("/h2", func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			w.WriteHeader(http.StatusHTTPVersionNotSupported)
		}
	})
	return mux
}

func TestHTTPCheck(t *testing.T) {
	t.Parallel()

	type want struct {
		ok          bool
		code        int
		kind        Kind
		err         string // exact, when errContains is empty
		errContains string // for messages that name ports or resolvers
	}
	tests := []struct {
		name   string
		target func(t *testing.T) string // the URL to check
		req    HTTPRequest
		want   want
	}{
		{
			name:   "200 OK",
			target: func(t *testing.T) string { return serve(t, site(), nil).URL + "/ok" },
			want:   want{ok: true, code: 200},
		},
		{
			name:   "500 is an unexpected status",
			target: func(t *testing.T) string { return serve(t, site(), nil).URL + "/status/500" },
			want:   want{code: 500, kind: KindStatus, err: "status 500, expected 200-299"},
		},
		{
			name:   "status message lists the ranges as written",
			target: func(t *testing.T) string { return serve(t, site(), nil).URL + "/status/500" },
			req:    HTTPRequest{Expected: statusRanges(t, "200-299, 301,400-404")},
			want:   want{code: 500, kind: KindStatus, err: "status 500, expected 200-299,301,400-404"},
		},
		{
			name:   "301 expected with redirects off",
			target: func(t *testing.T) string { return serve(t, site(), nil).URL + "/moved" },
			req:    HTTPRequest{Expected: statusRanges(t, "200-299,301")},
			want:   want{ok: true, code: 301},
		},
		{
			name:   "301 not expected with redirects off",
			target: func(t *testing.T) string { return serve(t, site(), nil).URL + "/moved" },
			want:   want{code: 301, kind: KindStatus, err: "status 301, expected 200-299"},
		},
		{
			name:   "redirect followed",
			target: func(t *testing.T) string { return serve(t, site(), nil).URL + "/found" },
			req:    HTTPRequest{FollowRedirects: true},
			want:   want{ok: true, code: 200},
		},
		{
			name:   "307 resends method and body",
			target: func(t *testing.T) string { return serve(t, site(), nil).URL + "/temporary" },
			req:    HTTPRequest{Method: http.MethodPost, Body: "ping", FollowRedirects: true},
			want:   want{ok: true, code: 200},
		},
		{
			name:   "redirect loop",
			target: func(t *testing.T) string { return serve(t, site(), nil).URL + "/loop" },
			req:    HTTPRequest{FollowRedirects: true},
			want:   want{code: 302, kind: KindRedirects, err: "stopped after 10 redirects"},
		},
		{
			name:   "redirects up to the limit",
			target: func(t *testing.T) string { return serve(t, site(), nil).URL + "/chain/3" },
			req:    HTTPRequest{FollowRedirects: true, MaxRedirects: 3},
			want:   want{ok: true, code: 200},
		},
		{
			name:   "redirects over the limit",
			target: func(t *testing.T) string { return serve(t, site(), nil).URL + "/chain/4" },
			req:    HTTPRequest{FollowRedirects: true, MaxRedirects: 3},
			want:   want{code: 302, kind: KindRedirects, err: "stopped after 3 redirects"},
		},
		{
			name:   "connection refused",
			target: func(t *testing.T) string { return "http://" + freeAddr(t) + "/" },
			want:   want{kind: KindRefused, errContains: "connect: connection refused"},
		},
		{
			name:   "unresolvable name",
			target: func(*testing.T) string { return "http://nonexistent.invalid/" },
			want:   want{kind: KindDNS, errContains: "lookup nonexistent.invalid"},
		},
		{
			name: "closed without answering",
			target: func(t *testing.T) string {
				return "http://" + serveRaw(t, func(net.Conn) {}) + "/"
			},
			want: want{kind: KindConnection, errContains: ": "},
		},
		{
			name: "connection reset",
			target: func(t *testing.T) string {
				return "http://" + serveRaw(t, func(c net.Conn) {
					if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
						c.(*net.TCPConn).SetLinger(0) // closing sends a reset
					}
				}) + "/"
			},
			want: want{kind: KindConnection, err: "waiting for response: read: connection reset by peer"},
		},
		{
			name: "body cut short",
			target: func(t *testing.T) string {
				return "http://" + serveRaw(t, func(c net.Conn) {
					if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
					}
				}) + "/"
			},
			want: want{code: 200, kind: KindConnection, err: "reading body: unexpected EOF"},
		},
		{
			name: "answer that is not HTTP",
			target: func(t *testing.T) string {
				return "http://" + serveRaw(t, func(c net.Conn) {
					if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
						io.WriteString(c, "hello\r\n\r\n")
					}
				}) + "/"
			},
			want: want{kind: KindConnection, errContains: "malformed HTTP response"},
		},
		{
			name:   "self-signed certificate verified",
			target: func(t *testing.T) string { return serveTLS(t, site()).URL + "/ok" },
			req:    HTTPRequest{VerifyTLS: true},
			want:   want{kind: KindTLS, errContains: "x509: certificate signed by unknown authority"},
		},
		{
			name:   "self-signed certificate not verified",
			target: func(t *testing.T) string { return serveTLS(t, site()).URL + "/ok" },
			want:   want{ok: true, code: 200},
		},
		{
			name: "expired certificate verified",
			target: func(t *testing.T) string {
				return serve(t, site(), &tls.Config{Certificates: []tls.Certificate{expiredCert(t)}}).URL + "/ok"
			},
			req:  HTTPRequest{VerifyTLS: true},
			want: want{kind: KindTLS, errContains: "x509: certificate has expired"},
		},
		{
			name: "expired certificate not verified",
			target: func(t *testing.T) string {
				return serve(t, site(), &tls.Config{Certificates: []tls.Certificate{expiredCert(t)}}).URL + "/ok"
			},
			want: want{ok: true, code: 200},
		},
		{
			name: "HTTPS to an HTTP server",
			target: func(t *testing.T) string {
				return strings.Replace(serve(t, site(), nil).URL, "http:", "https:", 1) + "/ok"
			},
			want: want{kind: KindTLS, err: "http: server gave HTTP response to HTTPS client"},
		},
		{
			name: "handshake refused by the server",
			target: func(t *testing.T) string {
				return "https://" + serveRaw(t, func(c net.Conn) {
					noCert := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
						return nil, errors.New("no certificate for this name")
					}}
					if tls.Server(c, noCert).Handshake() == nil {
						return
					}
					// Close gracefully, so the client reads the alert, not a reset.
					c.(*net.TCPConn).CloseWrite()
					io.Copy(io.Discard, c)
				}) + "/"
			},
			want: want{kind: KindTLS, err: "remote error: tls: internal error"},
		},
		{
			name:   "HTTP/2 over TLS",
			target: func(t *testing.T) string { return serveTLS(t, site()).URL + "/h2" },
			want:   want{ok: true, code: 200},
		},
		{
			name:   "URL without scheme",
			target: func(*testing.T) string { return "example.com/health" },
			want:   want{kind: KindInvalid, err: `URL "example.com/health" must start with http:// or https://`},
		},
		{
			name:   "URL with another scheme",
			target: func(*testing.T) string { return "ftp://example.com/" },
			want:   want{kind: KindInvalid, err: `URL "ftp://example.com/" must start with http:// or https://`},
		},
		{
			name:   "URL without host",
			target: func(*testing.T) string { return "http:///health" },
			want:   want{kind: KindInvalid, err: `URL "http:///health" has no host`},
		},
		{
			name:   "unparsable URL",
			target: func(*testing.T) string { return "http://[::1/" },
			want:   want{kind: KindInvalid, err: `parse "http://[::1/": missing ']' in host`},
		},
		{
			name:   "invalid method",
			target: func(*testing.T) string { return "http://127.0.0.1:1/" },
			req:    HTTPRequest{Method: "GE T"},
			want:   want{kind: KindInvalid, err: `net/http: invalid method "GE T"`},
		},
		{
			name:   "invalid header name",
			target: func(*testing.T) string { return "http://127.0.0.1:1/" },
			req:    HTTPRequest{Headers: map[string]string{"Bad Header": "x"}},
			want:   want{kind: KindInvalid, err: `net/http: invalid header field name "Bad Header"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			req := tt.req
			req.URL = tt.target(t)
			req.Timeout = 10 * time.Second

			got := h.Check(t.Context(), req)

			if got.OK != tt.want.ok || got.StatusCode != tt.want.code || got.ErrorKind != tt.want.kind {
				t.Errorf("got OK %v, status %d, kind %q (%q); want %v, %d, %q",
					got.OK, got.StatusCode, got.ErrorKind, got.Error, tt.want.ok, tt.want.code, tt.want.kind)
			}
			if tt.want.errContains != "" {
				if !strings.Contains(got.Error, tt.want.errContains) {
					t.Errorf("error %q does not contain %q", got.Error, tt.want.errContains)
				}
			} else if got.Error != tt.want.err {
				t.Errorf("error %q, want %q", got.Error, tt.want.err)
			}
			if got.Latency <= 0 {
				t.Errorf("latency %v, want > 0", got.Latency)
			}
		})
	}
}

func TestHTTPCheckTimeout(t *testing.T) {
	t.Parallel()

	const timeout = 300 * time.Millisecond
	tests := []struct {
		name     string
		target   func(t *testing.T) string
		wantCode int
		wantErr  string
	}{
		{
			name: "TLS handshake never answered",
			target: func(t *testing.T) string {
				return "https://" + serveRaw(t, func(c net.Conn) { io.Copy(io.Discard, c) }) + "/"
			},
			wantErr: "timeout after 300ms: TLS handshake",
		},
		{
			name: "no response",
			target: func(t *testing.T) string {
				return serve(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
					<-r.Context().Done()
				}), nil).URL
			},
			wantErr: "timeout after 300ms: waiting for response",
		},
		{
			name: "headers dripped",
			target: func(t *testing.T) string {
				return "http://" + serveRaw(t, func(c net.Conn) {
					if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
						return
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\n")
					for i := 0; ; i++ {
						if _, err := io.WriteString(c, "X-Drip-"+strconv.Itoa(i)+": 1\r\n"); err != nil {
							return
						}
						time.Sleep(20 * time.Millisecond)
					}
				}) + "/"
			},
			wantErr: "timeout after 300ms: reading response headers",
		},
		{
			name: "body dripped",
			target: func(t *testing.T) string {
				return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					rc := http.NewResponseController(w)
					for {
						if _, err := io.WriteString(w, "."); err != nil {
							return
						}
						if err := rc.Flush(); err != nil {
							return
						}
						select {
						case <-r.Context().Done():
							return
						case <-time.After(20 * time.Millisecond):
						}
					}
				}), nil).URL
			},
			wantCode: 200,
			wantErr:  "timeout after 300ms: reading body",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			req := HTTPRequest{URL: tt.target(t), Timeout: timeout}

			start := time.Now()
			got := h.Check(t.Context(), req)
			elapsed := time.Since(start)

			if got.OK || got.ErrorKind != KindTimeout || got.Error != tt.wantErr || got.StatusCode != tt.wantCode {
				t.Errorf("got OK %v, status %d, kind %q, error %q; want status %d, kind %q, error %q",
					got.OK, got.StatusCode, got.ErrorKind, got.Error, tt.wantCode, KindTimeout, tt.wantErr)
			}
			if elapsed > timeout+slack {
				t.Errorf("check returned after %v, timeout %v", elapsed, timeout)
			}
		})
	}
}

// A check that timed out leaves no connection behind, even where net/http
// carries on without it: a TLS handshake it started goes on after the
// request gave up, unless the deadline is on the connection itself.
func TestHTTPCheckTimeoutHangsUp(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		scheme string
		handle func(net.Conn) // returns once the client has hung up
	}{
		{
			name:   "during the TLS handshake",
			scheme: "https",
			handle: func(c net.Conn) { io.Copy(io.Discard, c) },
		},
		{
			name:   "during the response headers",
			scheme: "http",
			handle: func(c net.Conn) {
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\n")
				for {
					if _, err := io.WriteString(c, "X-Drip: 1\r\n"); err != nil {
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			hungUp := make(chan struct{}, 1)
			addr := serveRaw(t, func(c net.Conn) {
				tt.handle(c)
				select {
				case hungUp <- struct{}{}:
				default:
				}
			})

			got := h.Check(t.Context(), HTTPRequest{URL: tt.scheme + "://" + addr + "/", Timeout: 300 * time.Millisecond})

			if got.ErrorKind != KindTimeout {
				t.Errorf("got kind %q (%s), want %q", got.ErrorKind, got.Error, KindTimeout)
			}
			select {
			case <-hungUp:
			case <-time.After(slack):
				t.Fatal("the connection is still open after the check timed out")
			}
		})
	}
}

func TestHTTPCheckCanceled(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		// answering: cancel once the server has the request, not before
		// the check starts.
		answering bool
		wantErr   string
	}{
		{name: "before the check", wantErr: "canceled: preparing request"},
		{name: "while the server is answering", answering: true, wantErr: "canceled: waiting for response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			reached := make(chan struct{}, 1)
			srv := serve(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				reached <- struct{}{}
				<-r.Context().Done()
			}), nil)
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

			got := h.Check(ctx, HTTPRequest{URL: srv.URL, Timeout: time.Minute})

			if got.OK || got.ErrorKind != KindTimeout || got.Error != tt.wantErr {
				t.Errorf("got OK %v, kind %q, error %q; want kind %q, error %q",
					got.OK, got.ErrorKind, got.Error, KindTimeout, tt.wantErr)
			}
		})
	}
}

func TestHTTPCheckContextDeadline(t *testing.T) {
	t.Parallel()
	h := setup(t)
	srv := serve(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}), nil)
	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()

	got := h.Check(ctx, HTTPRequest{URL: srv.URL, Timeout: time.Minute})

	// The check says how long it really had, not the request's timeout.
	budget, stage, ok := strings.Cut(strings.TrimPrefix(got.Error, "timeout after "), ": ")
	d, err := time.ParseDuration(budget)
	if got.ErrorKind != KindTimeout || !ok || err != nil || d <= 0 || d > deadline || stage != "waiting for response" {
		t.Errorf("got kind %q, error %q; want %q, timeout after at most %v: waiting for response",
			got.ErrorKind, got.Error, KindTimeout, deadline)
	}
}

func TestHTTPCheckPhases(t *testing.T) {
	t.Parallel()

	type positive struct{ dns, connect, tls, ttfb bool }
	tests := []struct {
		name   string
		target func(t *testing.T) string
		want   positive // which phases must be > 0; the others must be 0
	}{
		{
			name:   "IP address",
			target: func(t *testing.T) string { return serve(t, site(), nil).URL + "/ok" },
			want:   positive{connect: true, ttfb: true},
		},
		{
			name: "host name",
			target: func(t *testing.T) string {
				addrs, err := net.DefaultResolver.LookupHost(t.Context(), "localhost")
				if err != nil || len(addrs) == 0 {
					t.Skipf("localhost does not resolve: %v", err)
				}
				return strings.Replace(serve(t, site(), nil).URL, "127.0.0.1", "localhost", 1) + "/ok"
			},
			want: positive{dns: true, connect: true, ttfb: true},
		},
		{
			name:   "HTTPS",
			target: func(t *testing.T) string { return serveTLS(t, site()).URL + "/ok" },
			want:   positive{connect: true, tls: true, ttfb: true},
		},
		{
			name: "redirected from HTTPS to HTTP: phases of the last hop",
			target: func(t *testing.T) string {
				plain := serve(t, site(), nil)
				return serveTLS(t, http.RedirectHandler(plain.URL+"/ok", http.StatusFound)).URL
			},
			want: positive{connect: true, ttfb: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			req := HTTPRequest{URL: tt.target(t), Timeout: 10 * time.Second, FollowRedirects: true}

			got := h.Check(t.Context(), req)

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

func TestHTTPCheckBodyLimit(t *testing.T) {
	t.Parallel()
	h := setup(t)
	written := make(chan int64, 1)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := make([]byte, 32<<10)
		var n int64
		defer func() { written <- n }()
		for {
			m, err := w.Write(chunk)
			n += int64(m)
			if err != nil {
				return
			}
		}
	}), nil)

	got := h.Check(t.Context(), HTTPRequest{URL: srv.URL, Timeout: time.Minute})

	if !got.OK {
		t.Fatalf("check of an endless body failed: %s %s", got.ErrorKind, got.Error)
	}
	// The server writes until the closed connection stops it, so it wrote the
	// MiB read plus what socket buffers held; TestReadBody counts exactly.
	select {
	case n := <-written:
		if n < MaxBodyBytes || n > 64*MaxBodyBytes {
			t.Errorf("server wrote %d bytes before the check hung up; want %d plus buffers", n, MaxBodyBytes)
		}
	case <-time.After(slack):
		t.Fatal("server still writing: the check did not close the connection")
	}
}

// countingReader is an endless body that counts the bytes read from it.
type countingReader struct{ n int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	r.n += int64(len(p))
	return len(p), nil
}

func TestReadBody(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		size int64 // -1: endless
		want int64
	}{
		{name: "empty", size: 0, want: 0},
		{name: "small", size: 10, want: 10},
		{name: "exactly the limit", size: MaxBodyBytes, want: MaxBodyBytes},
		{name: "over the limit", size: MaxBodyBytes + 1, want: MaxBodyBytes},
		{name: "endless", size: -1, want: MaxBodyBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := &countingReader{}
			var body io.Reader = src
			if tt.size >= 0 {
				body = io.LimitReader(src, tt.size)
			}

			n, err := readBody(body)

			if err != nil || n != tt.want || src.n != tt.want {
				t.Errorf("read %d (%d from the body), err %v; want %d", n, src.n, err, tt.want)
			}
		})
	}
}

func TestHTTPCheckRequest(t *testing.T) {
	t.Parallel()

	type seen struct{ method, host, userAgent, token, contentType, body string }
	tests := []struct {
		name string
		req  HTTPRequest
		want seen // host "" means the server's address
	}{
		{
			name: "method, headers, host and body",
			req: HTTPRequest{
				Method: http.MethodPut,
				Headers: map[string]string{
					"X-Token":      "secret",
					"Content-Type": "application/json",
					"host":         "status.example",
				},
				Body: `{"ping":true}`,
			},
			want: seen{method: "PUT", host: "status.example", userAgent: testUserAgent,
				token: "secret", contentType: "application/json", body: `{"ping":true}`},
		},
		{
			name: "body sent with GET",
			req:  HTTPRequest{Body: "ping"},
			want: seen{method: "GET", userAgent: testUserAgent, body: "ping"},
		},
		{
			name: "own user agent",
			req:  HTTPRequest{Method: http.MethodHead, Headers: map[string]string{"user-agent": "probe/2"}},
			want: seen{method: "HEAD", userAgent: "probe/2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			seenc := make(chan seen, 1)
			srv := serve(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				seenc <- seen{
					method:      r.Method,
					host:        r.Host,
					userAgent:   r.UserAgent(),
					token:       r.Header.Get("X-Token"),
					contentType: r.Header.Get("Content-Type"),
					body:        string(body),
				}
			}), nil)
			req := tt.req
			req.URL = srv.URL
			req.Timeout = 10 * time.Second
			want := tt.want
			if want.host == "" {
				want.host = strings.TrimPrefix(srv.URL, "http://")
			}

			got := h.Check(t.Context(), req)

			if !got.OK {
				t.Fatalf("check failed: %s %s", got.ErrorKind, got.Error)
			}
			if s := <-seenc; s != want {
				t.Errorf("server saw %+v, want %+v", s, want)
			}
		})
	}
}

func TestHTTPCheckFreshConnections(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		https bool
	}{
		{name: "HTTP/1.1"},
		{name: "HTTP/2 over TLS", https: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			type visit struct {
				addr    string
				resumed bool
			}
			visits := make(chan visit, 2)
			handler := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				visits <- visit{addr: r.RemoteAddr, resumed: r.TLS != nil && r.TLS.DidResume}
			})
			var srv *httptest.Server
			if tt.https {
				srv = serveTLS(t, handler)
			} else {
				srv = serve(t, handler, nil)
			}

			for range 2 {
				if got := h.Check(t.Context(), HTTPRequest{URL: srv.URL, Timeout: 10 * time.Second}); !got.OK {
					t.Fatalf("check failed: %s %s", got.ErrorKind, got.Error)
				}
			}

			first, second := <-visits, <-visits
			if first.addr == second.addr {
				t.Errorf("both checks came from %s: connection reused", first.addr)
			}
			if second.resumed {
				t.Error("second check resumed the first one's TLS session")
			}
		})
	}
}

func TestHTTPConcurrent(t *testing.T) {
	t.Parallel()
	h := setup(t)
	srv := serve(t, site(), nil)

	var wg sync.WaitGroup
	results := make(chan Result, 64)
	for i := range cap(results) {
		wg.Go(func() {
			path := "/ok"
			if i%2 == 1 {
				path = "/status/503"
			}
			results <- h.Check(t.Context(), HTTPRequest{URL: srv.URL + path, Timeout: 10 * time.Second})
		})
	}
	wg.Wait()
	close(results)

	var up, down int
	for r := range results {
		switch {
		case r.OK && r.StatusCode == 200:
			up++
		case r.ErrorKind == KindStatus && r.StatusCode == 503:
			down++
		default:
			t.Errorf("unexpected result %+v", r)
		}
	}
	if up != 32 || down != 32 {
		t.Errorf("%d up, %d down; want 32 each", up, down)
	}
}

func TestHTTPCloseTwice(t *testing.T) {
	t.Parallel()
	h := NewHTTP(testUserAgent, nil)
	h.Close()
	h.Close()
}

func TestFormatRanges(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name, expected, want string
	}{
		{name: "one range", expected: "200-299", want: "200-299"},
		{name: "one code", expected: "204", want: "204"},
		{name: "codes and ranges", expected: "200-299,301,400-404", want: "200-299,301,400-404"},
		{name: "spaces dropped", expected: " 200 - 299 , 301", want: "200-299,301"},
		{name: "range of one code", expected: "301-301", want: "301"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := formatRanges(statusRanges(t, tt.expected)); got != tt.want {
				t.Errorf("formatRanges(%q) = %q, want %q", tt.expected, got, tt.want)
			}
		})
	}
}

func BenchmarkHTTPCheck(b *testing.B) {
	for _, bb := range []struct {
		name     string
		https    bool
		parallel bool
	}{
		{name: "http"},
		{name: "http-parallel", parallel: true},
		{name: "https", https: true},
		{name: "https-parallel", https: true, parallel: true},
	} {
		b.Run(bb.name, func(b *testing.B) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, "ok")
			}))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			if bb.https {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			b.Cleanup(srv.Close)
			h := NewHTTP(testUserAgent, nil)
			b.Cleanup(h.Close)
			req := HTTPRequest{URL: srv.URL, Timeout: 10 * time.Second}

			b.ReportAllocs()
			if !bb.parallel {
				for b.Loop() {
					if r := h.Check(b.Context(), req); !r.OK {
						b.Fatalf("check failed: %s %s", r.ErrorKind, r.Error)
					}
				}
				return
			}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if r := h.Check(b.Context(), req); !r.OK {
						b.Errorf("check failed: %s %s", r.ErrorKind, r.Error)
						return
					}
				}
			})
		})
	}
}

// assertions compiles as, failing the test when one is refused.
func assertions(t *testing.T, as ...Assertion) []*Compiled {
	t.Helper()
	out := make([]*Compiled, len(as))
	for i, a := range as {
		out[i] = mustCompile(t, a)
	}
	return out
}

// jsonIs asserts that the JSON value at path is value.
func jsonIs(path, value string) Assertion {
	return Assertion{Type: "json_path", Path: path, Op: "==", Value: value}
}

// health answers /health with a JSON document, and the paths of site
// otherwise.
func health() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Version", "1.4.2")
		io.WriteString(w, `{"status":"degraded","checks":{"db":"ok"}}`)
	})
	mux.Handle("/", site())
	return mux
}

func TestHTTPCheckAssertions(t *testing.T) {
	t.Parallel()

	type want struct {
		ok   bool
		code int
		kind Kind
		err  string
	}
	tests := []struct {
		name       string
		https      bool
		path       string
		req        HTTPRequest
		assertions []Assertion
		want       want
	}{
		{
			name:       "JSON value differs",
			path:       "/health",
			assertions: []Assertion{jsonIs("$.status", "ok")},
			want:       want{code: 200, kind: KindAssertion, err: `expected $.status == "ok", got "degraded"`},
		},
		{
			name: "all hold",
			path: "/health",
			assertions: []Assertion{
				jsonIs("$.checks.db", "ok"),
				{Type: "json_path", Path: "status", Op: "!=", Value: "down"},
				{Type: "header", Path: "content-type", Op: "equals", Value: "application/json"},
				{Type: "header", Path: "X-Version", Op: "contains", Value: "1.4"},
				{Type: "body_contains", Value: `"checks"`},
				{Type: "body_not_contains", Value: "error"},
				{Type: "body_regex", Value: `^\{"status":"\w+"`},
				{Type: "response_time", Value: "10000"},
			},
			want: want{ok: true, code: 200},
		},
		{
			name: "the first failure is reported",
			path: "/health",
			assertions: []Assertion{
				{Type: "body_contains", Value: "checks"},
				{Type: "header", Path: "X-Version", Op: "equals", Value: "2"},
				jsonIs("$.status", "ok"),
			},
			want: want{code: 200, kind: KindAssertion, err: `expected header X-Version equals "2", got "1.4.2"`},
		},
		{
			name:       "body that is not JSON",
			path:       "/ok",
			assertions: []Assertion{jsonIs("$.status", "ok")},
			want:       want{code: 200, kind: KindAssertion, err: `expected $.status == "ok", got not JSON`},
		},
		{
			name:       "status assertion replaces Expected",
			path:       "/status/503",
			req:        HTTPRequest{Expected: statusRanges(t, "200")},
			assertions: []Assertion{{Type: "status", Value: "503"}},
			want:       want{ok: true, code: 503},
		},
		{
			name:       "status assertion fails as Expected does",
			path:       "/status/500",
			assertions: []Assertion{{Type: "status", Value: "200-299,301"}, {Type: "response_time", Value: "1"}},
			want:       want{code: 500, kind: KindStatus, err: "status 500, expected 200-299,301"},
		},
		{
			name: "every status assertion must hold",
			path: "/status/201",
			assertions: []Assertion{
				{Type: "status", Value: "200-299"},
				{Type: "status", Value: "200"},
			},
			want: want{code: 201, kind: KindStatus, err: "status 201, expected 200"},
		},
		{
			name:       "status checked before assertions",
			path:       "/status/500",
			assertions: []Assertion{jsonIs("$.status", "ok")},
			want:       want{code: 500, kind: KindStatus, err: "status 500, expected 200-299"},
		},
		{
			name:       "certificate over HTTP",
			path:       "/ok",
			assertions: []Assertion{{Type: "cert_expiry", Value: "7"}},
			want:       want{code: 200, kind: KindAssertion, err: "expected certificate valid for at least 7 days, got no TLS certificate"},
		},
		{
			name:       "certificate over HTTPS",
			https:      true,
			path:       "/ok",
			assertions: []Assertion{{Type: "cert_expiry", Value: "3650"}}, // httptest's is valid until 2084
			want:       want{ok: true, code: 200},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			var srv *httptest.Server
			if tt.https {
				srv = serveTLS(t, health())
			} else {
				srv = serve(t, health(), nil)
			}
			req := tt.req
			req.URL = srv.URL + tt.path
			req.Timeout = 10 * time.Second
			req.Assertions = assertions(t, tt.assertions...)

			got := h.Check(t.Context(), req)

			if got.OK != tt.want.ok || got.StatusCode != tt.want.code || got.ErrorKind != tt.want.kind ||
				got.Error != tt.want.err || got.Degraded {
				t.Errorf("got OK %v, degraded %v, status %d, kind %q, error %q;\nwant OK %v, status %d, kind %q, error %q",
					got.OK, got.Degraded, got.StatusCode, got.ErrorKind, got.Error,
					tt.want.ok, tt.want.code, tt.want.kind, tt.want.err)
			}
		})
	}
}

func TestHTTPCheckDegraded(t *testing.T) {
	t.Parallel()

	const delay = 50 * time.Millisecond
	tests := []struct {
		name       string
		assertions []Assertion
		wantOK     bool
		wantKind   Kind
		wantErr    string // "%d" is the check's latency in milliseconds
	}{
		{
			name:       "too slow",
			assertions: []Assertion{{Type: "response_time", Value: "20"}},
			wantOK:     true,
			wantErr:    "expected response time below 20 ms, got %d ms",
		},
		{
			name:       "too slow, and the other assertions hold",
			assertions: []Assertion{{Type: "response_time", Value: "20"}, jsonIs("$.checks.db", "ok")},
			wantOK:     true,
			wantErr:    "expected response time below 20 ms, got %d ms",
		},
		{
			name:       "too slow, and another assertion fails",
			assertions: []Assertion{{Type: "response_time", Value: "20"}, jsonIs("$.status", "ok")},
			wantKind:   KindAssertion,
			wantErr:    `expected $.status == "ok", got "degraded"`,
		},
		{
			name:       "fast enough",
			assertions: []Assertion{{Type: "response_time", Value: "10000"}},
			wantOK:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(delay)
				health().ServeHTTP(w, r)
			}), nil)
			req := HTTPRequest{URL: srv.URL + "/health", Timeout: 10 * time.Second, Assertions: assertions(t, tt.assertions...)}

			got := h.Check(t.Context(), req)

			wantErr := tt.wantErr
			if strings.Contains(wantErr, "%d") {
				wantErr = fmt.Sprintf(wantErr, got.Latency.Milliseconds())
			}
			wantDegraded := tt.wantOK && wantErr != ""
			if got.OK != tt.wantOK || got.Degraded != wantDegraded || got.ErrorKind != tt.wantKind || got.Error != wantErr {
				t.Errorf("got OK %v, degraded %v, kind %q, error %q; want OK %v, degraded %v, kind %q, error %q",
					got.OK, got.Degraded, got.ErrorKind, got.Error, tt.wantOK, wantDegraded, tt.wantKind, wantErr)
			}
			if got.Latency < delay {
				t.Errorf("latency %v, shorter than the server's delay %v", got.Latency, delay)
			}
		})
	}
}

func TestHTTPCheckAuth(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		req     HTTPRequest
		want    string // the Authorization header the server saw
		wantErr string // when the check cannot run
	}{
		{
			name: "basic auth",
			req:  HTTPRequest{BasicAuth: &BasicAuth{Username: "monitor", Password: "s3cret:1"}},
			want: "Basic bW9uaXRvcjpzM2NyZXQ6MQ==",
		},
		{name: "bearer token", req: HTTPRequest{BearerToken: "tok.en"}, want: "Bearer tok.en"},
		{
			name: "header over bearer token",
			req:  HTTPRequest{BearerToken: "tok.en", Headers: map[string]string{"authorization": "Token abc"}},
			want: "Token abc",
		},
		{
			name: "header over basic auth",
			req:  HTTPRequest{BasicAuth: &BasicAuth{Username: "u"}, Headers: map[string]string{"Authorization": "Token abc"}},
			want: "Token abc",
		},
		{
			name:    "basic auth and bearer token",
			req:     HTTPRequest{BasicAuth: &BasicAuth{Username: "u"}, BearerToken: "t"},
			wantErr: "set basic auth or a bearer token, not both",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			seen := make(chan string, 1)
			srv := serve(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				seen <- r.Header.Get("Authorization")
			}), nil)
			req := tt.req
			req.URL = srv.URL
			req.Timeout = 10 * time.Second

			got := h.Check(t.Context(), req)

			if tt.wantErr != "" {
				if got.ErrorKind != KindInvalid || got.Error != tt.wantErr {
					t.Errorf("got kind %q, error %q; want %q, %q", got.ErrorKind, got.Error, KindInvalid, tt.wantErr)
				}
				return
			}
			if !got.OK {
				t.Fatalf("check failed: %s %s", got.ErrorKind, got.Error)
			}
			if s := <-seen; s != tt.want {
				t.Errorf("server saw Authorization %q, want %q", s, tt.want)
			}
		})
	}
}

// clientCert returns a self-signed client certificate named cn, and its
// parsed form.
func clientCert(t *testing.T, cn string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

func TestHTTPCheckClientCert(t *testing.T) {
	t.Parallel()

	trusted, leaf := clientCert(t, "pinguin-client")
	stranger, _ := clientCert(t, "stranger")
	tests := []struct {
		name     string
		cert     *tls.Certificate
		wantSeen string // the client certificate's name the server saw; "": the check fails
	}{
		{name: "trusted certificate", cert: &trusted, wantSeen: "pinguin-client"},
		{name: "no certificate"},
		{name: "untrusted certificate", cert: &stranger},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			pool := x509.NewCertPool()
			pool.AddCert(leaf)
			seen := make(chan string, 1)
			srv := serve(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				seen <- r.TLS.PeerCertificates[0].Subject.CommonName
			}), &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool})

			got := h.Check(t.Context(), HTTPRequest{URL: srv.URL, Timeout: 10 * time.Second, ClientCert: tt.cert})

			if tt.wantSeen == "" {
				// In TLS 1.3 the server refuses the certificate after the
				// client finished its handshake: the client reads the alert,
				// or a reset when the server closed on the request unread.
				if got.OK || (got.ErrorKind != KindTLS && got.ErrorKind != KindConnection) {
					t.Errorf("got OK %v, kind %q (%s); want kind %q or %q",
						got.OK, got.ErrorKind, got.Error, KindTLS, KindConnection)
				}
				return
			}
			if !got.OK {
				t.Fatalf("check failed: %s %s", got.ErrorKind, got.Error)
			}
			if s := <-seen; s != tt.wantSeen {
				t.Errorf("server saw client certificate %q, want %q", s, tt.wantSeen)
			}
		})
	}
}

func TestHTTPCheckProxy(t *testing.T) {
	t.Parallel()

	type seen struct{ uri, auth string }
	tests := []struct {
		name string
		// guard, when not nil, is the checker's; the proxy is let through
		// it when allowProxy is set.
		guard      *Guard
		allowProxy bool
		target     string
		proxy      func(proxyURL string) string
		want       Result // OK, ErrorKind and Error compared
		wantSeen   *seen
	}{
		{
			name:     "HTTP through the proxy",
			target:   "http://target.test/health",
			want:     Result{OK: true},
			wantSeen: &seen{uri: "http://target.test/health"},
		},
		{
			name:     "proxy with credentials",
			target:   "http://target.test/",
			proxy:    func(u string) string { return strings.Replace(u, "http://", "http://user:pa%20ss@", 1) },
			want:     Result{OK: true},
			wantSeen: &seen{uri: "http://target.test/", auth: "Basic dXNlcjpwYSBzcw=="},
		},
		{
			name:   "guard vets the proxy",
			guard:  NewGuard(true),
			target: "http://target.test/",
			want:   Result{ErrorKind: KindBlocked, Error: "blocked target: 127.0.0.1 is a loopback address"},
		},
		{
			name:       "guard vets the proxy, not the target the proxy reaches",
			guard:      NewGuard(true),
			allowProxy: true,
			target:     "http://10.0.0.1/",
			want:       Result{OK: true},
			wantSeen:   &seen{uri: "http://10.0.0.1/"},
		},
		{
			name:   "SOCKS proxy",
			target: "http://target.test/",
			proxy:  func(u string) string { return strings.Replace(u, "http://", "socks5://", 1) },
			want:   Result{ErrorKind: KindInvalid, Error: `proxy URL "socks5://127.0.0.1:*" must start with http:// or https://`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seenc := make(chan seen, 1)
			proxy := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seenc <- seen{uri: r.RequestURI, auth: r.Header.Get("Proxy-Authorization")}
				io.WriteString(w, `{"via":"proxy"}`)
			}), nil)
			if tt.allowProxy {
				tt.guard.allowForTest(addrPort(t, proxy))
			}
			h := guarded(t, tt.guard)
			proxyURL := proxy.URL
			if tt.proxy != nil {
				proxyURL = tt.proxy(proxyURL)
			}
			u, err := url.Parse(proxyURL)
			if err != nil {
				t.Fatal(err)
			}
			req := HTTPRequest{URL: tt.target, Timeout: 10 * time.Second, ProxyURL: u}
			if tt.want.OK {
				req.Assertions = assertions(t, jsonIs("via", "proxy"))
			}

			got := h.Check(t.Context(), req)

			wantErr := strings.Replace(tt.want.Error, "*", strings.TrimPrefix(proxy.URL, "http://127.0.0.1:"), 1)
			if got.OK != tt.want.OK || got.ErrorKind != tt.want.ErrorKind || got.Error != wantErr {
				t.Errorf("got OK %v, kind %q, error %q; want OK %v, kind %q, error %q",
					got.OK, got.ErrorKind, got.Error, tt.want.OK, tt.want.ErrorKind, wantErr)
			}
			select {
			case s := <-seenc:
				if tt.wantSeen == nil || s != *tt.wantSeen {
					t.Errorf("proxy saw %+v, want %+v", s, tt.wantSeen)
				}
			default:
				if tt.wantSeen != nil {
					t.Errorf("proxy saw nothing, want %+v", *tt.wantSeen)
				}
			}
		})
	}
}

// serveIPv6 starts a test server on [::1], or skips the test where there is
// no IPv6 loopback.
func serveIPv6(t *testing.T, handler http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPCheckIPVersion(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		ipv6     bool // the server listens on [::1], not 127.0.0.1
		version  string
		wantKind Kind
		wantErr  string
	}{
		{name: "IPv4 to an IPv4 address", version: "4"},
		{name: "IPv6 to an IPv4 address", version: "6", wantKind: KindConnection, wantErr: "127.0.0.1 is not an IPv6 address"},
		{name: "either to an IPv4 address"},
		{name: "IPv6 to an IPv6 address", ipv6: true, version: "6"},
		{name: "IPv4 to an IPv6 address", ipv6: true, version: "4", wantKind: KindConnection, wantErr: "::1 is not an IPv4 address"},
		{name: "unknown version", version: "5", wantKind: KindInvalid, wantErr: `IP version "5" must be 4 or 6`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			var srv *httptest.Server
			if tt.ipv6 {
				srv = serveIPv6(t, site())
			} else {
				srv = serve(t, site(), nil)
			}

			got := h.Check(t.Context(), HTTPRequest{URL: srv.URL + "/ok", Timeout: 10 * time.Second, IPVersion: tt.version})

			if got.OK != (tt.wantKind == KindNone) || got.ErrorKind != tt.wantKind || got.Error != tt.wantErr {
				t.Errorf("got OK %v, kind %q, error %q; want kind %q, error %q",
					got.OK, got.ErrorKind, got.Error, tt.wantKind, tt.wantErr)
			}
		})
	}
}

func TestHTTPCheckCertExpiry(t *testing.T) {
	t.Parallel()

	expired := expiredCert(t)
	expiredLeaf, err := x509.ParseCertificate(expired.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		target func(t *testing.T) (url string, want time.Time)
	}{
		{
			name: "HTTPS",
			target: func(t *testing.T) (string, time.Time) {
				srv := serveTLS(t, site())
				return srv.URL + "/ok", srv.Certificate().NotAfter
			},
		},
		{
			name: "HTTPS with an unexpected status",
			target: func(t *testing.T) (string, time.Time) {
				srv := serveTLS(t, site())
				return srv.URL + "/status/500", srv.Certificate().NotAfter
			},
		},
		{
			name: "expired certificate not verified",
			target: func(t *testing.T) (string, time.Time) {
				srv := serve(t, site(), &tls.Config{Certificates: []tls.Certificate{expired}})
				return srv.URL + "/ok", expiredLeaf.NotAfter
			},
		},
		{
			name: "HTTP",
			target: func(t *testing.T) (string, time.Time) {
				return serve(t, site(), nil).URL + "/ok", time.Time{}
			},
		},
		{
			name: "redirected from HTTP to HTTPS: the last hop's",
			target: func(t *testing.T) (string, time.Time) {
				secure := serveTLS(t, site())
				return serve(t, http.RedirectHandler(secure.URL+"/ok", http.StatusFound), nil).URL, secure.Certificate().NotAfter
			},
		},
		{
			name: "redirected from HTTPS to HTTP: none",
			target: func(t *testing.T) (string, time.Time) {
				plain := serve(t, site(), nil)
				return serveTLS(t, http.RedirectHandler(plain.URL+"/ok", http.StatusFound)).URL, time.Time{}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			target, want := tt.target(t)

			got := h.Check(t.Context(), HTTPRequest{URL: target, Timeout: 10 * time.Second, FollowRedirects: true})

			if got.StatusCode == 0 {
				t.Fatalf("no response: %s %s", got.ErrorKind, got.Error)
			}
			if !got.CertExpiry.Equal(want) {
				t.Errorf("CertExpiry %v, want %v", got.CertExpiry, want)
			}
		})
	}
}

// A body kept for assertions is cut at MaxBodyBytes like one thrown away:
// the server sends a JSON document padded to exactly MaxBodyBytes, then
// garbage for as long as it is read.
func TestHTTPCheckJSONBodyLimit(t *testing.T) {
	t.Parallel()
	h := setup(t)
	written := make(chan int64, 1)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		doc := `{"status":"ok"}`
		n, _ := io.WriteString(w, doc+strings.Repeat(" ", MaxBodyBytes-len(doc)))
		total := int64(n)
		defer func() { written <- total }()
		garbage := []byte(strings.Repeat("garbage ", 4<<10))
		for {
			n, err := w.Write(garbage)
			total += int64(n)
			if err != nil {
				return
			}
		}
	}), nil)
	req := HTTPRequest{URL: srv.URL, Timeout: time.Minute, Assertions: assertions(t, jsonIs("$.status", "ok"))}

	got := h.Check(t.Context(), req)

	if !got.OK {
		t.Fatalf("check failed: %s %s", got.ErrorKind, got.Error)
	}
	select {
	case n := <-written:
		if n < MaxBodyBytes || n > 64*MaxBodyBytes {
			t.Errorf("server wrote %d bytes before the check hung up; want %d plus buffers", n, MaxBodyBytes)
		}
	case <-time.After(slack):
		t.Fatal("server still writing: the check did not close the connection")
	}
}

func TestBufferBody(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		size int64 // -1: endless
		hint int64 // the length announced
		want int64
	}{
		{name: "empty", size: 0, hint: -1, want: 0},
		{name: "small", size: 10, hint: 10, want: 10},
		{name: "length unknown", size: 10, hint: -1, want: 10},
		{name: "length understated", size: 1000, hint: 10, want: 1000},
		{name: "exactly the limit", size: MaxBodyBytes, hint: MaxBodyBytes, want: MaxBodyBytes},
		{name: "over the limit", size: MaxBodyBytes + 1, hint: MaxBodyBytes + 1, want: MaxBodyBytes},
		{name: "endless", size: -1, hint: 1 << 40, want: MaxBodyBytes},
		{name: "endless, length unknown", size: -1, hint: -1, want: MaxBodyBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := &countingReader{}
			var body io.Reader = src
			if tt.size >= 0 {
				body = io.LimitReader(src, tt.size)
			}

			b, err := bufferBody(body, tt.hint)

			if err != nil || int64(len(b)) != tt.want || src.n != tt.want {
				t.Errorf("kept %d bytes (%d read from the body), err %v; want %d", len(b), src.n, err, tt.want)
			}
			if cap(b) > MaxBodyBytes {
				t.Errorf("buffer of %d bytes for at most %d", cap(b), MaxBodyBytes)
			}
		})
	}
}

// An HTTPS check goes through a proxy's tunnel (CONNECT), and describes the
// target's certificate, not the proxy's.
func TestHTTPCheckProxyConnect(t *testing.T) {
	t.Parallel()
	h := setup(t)
	target := serveTLS(t, health())
	// Hijacked connections outlive the server's Close: the test waits for
	// the handlers itself, which return once the check hung up.
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	tunnels := make(chan string, 1)
	proxy := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1) // before the check returns, so before Wait
		defer wg.Done()
		if r.Method != http.MethodConnect {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		tunnels <- r.Host
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer up.Close()
		// Hijack first and answer on the raw connection: a 200 written
		// through the ResponseWriter may still sit in its buffer.
		down, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer down.Close()
		if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			return
		}
		wg.Go(func() {
			io.Copy(up, down)
			up.Close()
		})
		io.Copy(down, up)
	}), nil)
	proxyURL, err := url.Parse(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	req := HTTPRequest{
		URL:        target.URL + "/health",
		Timeout:    10 * time.Second,
		ProxyURL:   proxyURL,
		Assertions: assertions(t, jsonIs("$.checks.db", "ok")),
	}

	got := h.Check(t.Context(), req)

	if !got.OK {
		t.Fatalf("check failed: %s %s", got.ErrorKind, got.Error)
	}
	if want := target.Certificate().NotAfter; !got.CertExpiry.Equal(want) {
		t.Errorf("CertExpiry %v, want the target's %v", got.CertExpiry, want)
	}
	if host, want := <-tunnels, strings.TrimPrefix(target.URL, "https://"); host != want {
		t.Errorf("proxy tunnelled to %s, want %s", host, want)
	}
}
