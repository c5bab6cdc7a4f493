package check

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// testPKI is a certificate authority for tests, trusted by Roots only.
type testPKI struct {
	ca    *x509.Certificate
	key   *ecdsa.PrivateKey
	Roots *x509.CertPool
}

// newTestPKI returns a new certificate authority named "Pinguin Test CA".
func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	now := time.Now()
	ca, key := issue(t, nil, nil, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "Pinguin Test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	})
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return &testPKI{ca: ca, key: key, Roots: roots}
}

// issue signs tmpl with parent's key (tmpl's own when parent is nil) and
// returns the certificate and its key.
func issue(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, tmpl *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// leafTemplate is a server certificate for names (host names or IP
// addresses) valid from notBefore to notAfter.
func leafTemplate(notBefore, notAfter time.Time, names ...string) *x509.Certificate {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "pinguin leaf"},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, name := range names {
		if ip, err := netip.ParseAddr(name); err == nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip.AsSlice())
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, name)
		}
	}
	return tmpl
}

// leaf returns a server certificate for names, signed by the authority,
// valid from notBefore to notAfter.
func (pki *testPKI) leaf(t *testing.T, notBefore, notAfter time.Time, names ...string) tls.Certificate {
	t.Helper()
	cert, key := issue(t, pki.ca, pki.key, leafTemplate(notBefore, notAfter, names...))
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}

// chained returns a server certificate for names signed by an intermediate
// authority that the authority signed, presented with it.
func (pki *testPKI) chained(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	now := time.Now()
	mid, midKey := issue(t, pki.ca, pki.key, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "Pinguin Test Intermediate"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	})
	cert, key := issue(t, mid, midKey, leafTemplate(now.Add(-time.Hour), now.Add(90*24*time.Hour), names...))
	return tls.Certificate{Certificate: [][]byte{cert.Raw, mid.Raw}, PrivateKey: key, Leaf: cert}
}

// serveCert starts a TLS server on 127.0.0.1 that presents cert and waits
// for the client to hang up.
func serveCert(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	return serveRaw(t, overTLS(cert, silent))
}

func TestTLSCheck(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	now := time.Now()
	const day = 24 * time.Hour

	type want struct {
		ok, degraded bool
		kind         Kind
		err          string // exact, when errContains is empty
		errContains  string
	}
	tests := []struct {
		name string
		// cert is what the server presents; nil means a peer that is not a
		// TLS server, described by peer.
		cert *tls.Certificate
		peer func(t *testing.T) string
		req  TLSRequest // ServerName "pinguin.test" and the authority's roots unless set
		// systemRoots leaves RootCAs nil, for the system's roots.
		systemRoots bool
		want        func(leaf *x509.Certificate) want
	}{
		{
			name: "valid",
			cert: new(pki.leaf(t, now.Add(-time.Hour), now.Add(90*day), "pinguin.test")),
			req:  TLSRequest{WarnDays: 14},
			want: func(*x509.Certificate) want { return want{ok: true} },
		},
		{
			name: "expiring within WarnDays",
			cert: new(pki.leaf(t, now.Add(-time.Hour), now.Add(5*day+time.Hour), "pinguin.test")),
			req:  TLSRequest{WarnDays: 14},
			want: func(leaf *x509.Certificate) want {
				return want{ok: true, degraded: true, err: "certificate expires in 5 days (" + leaf.NotAfter.UTC().Format(time.DateOnly) + ")"}
			},
		},
		{
			name: "expiring within a day",
			cert: new(pki.leaf(t, now.Add(-time.Hour), now.Add(2*time.Hour), "pinguin.test")),
			req:  TLSRequest{WarnDays: 1},
			want: func(leaf *x509.Certificate) want {
				return want{ok: true, degraded: true, err: "certificate expires in less than a day (" + leaf.NotAfter.UTC().Format(time.DateOnly) + ")"}
			},
		},
		{
			name: "expiring after WarnDays",
			cert: new(pki.leaf(t, now.Add(-time.Hour), now.Add(5*day+time.Hour), "pinguin.test")),
			req:  TLSRequest{WarnDays: 5},
			want: func(*x509.Certificate) want { return want{ok: true} },
		},
		{
			name: "expiring without WarnDays",
			cert: new(pki.leaf(t, now.Add(-time.Hour), now.Add(time.Hour), "pinguin.test")),
			want: func(*x509.Certificate) want { return want{ok: true} },
		},
		{
			name: "expired",
			cert: new(pki.leaf(t, now.Add(-30*day), now.Add(-3*day-time.Hour), "pinguin.test")),
			req:  TLSRequest{WarnDays: 14},
			want: func(leaf *x509.Certificate) want {
				return want{kind: KindCert, err: "certificate expired 3 days ago (" + leaf.NotAfter.UTC().Format(time.DateOnly) + ")"}
			},
		},
		{
			name: "not yet valid",
			cert: new(pki.leaf(t, now.Add(2*day+time.Hour), now.Add(90*day), "pinguin.test")),
			want: func(leaf *x509.Certificate) want {
				return want{kind: KindCert, err: "certificate becomes valid in 2 days (" + leaf.NotBefore.UTC().Format(time.DateOnly) + ")"}
			},
		},
		{
			name: "for another name",
			cert: new(pki.leaf(t, now.Add(-time.Hour), now.Add(90*day), "other.test")),
			want: func(*x509.Certificate) want {
				return want{kind: KindCert, err: "certificate is for other.test, not pinguin.test"}
			},
		},
		{
			name: "for many other names",
			cert: new(pki.leaf(t, now.Add(-time.Hour), now.Add(90*day), "a.test", "b.test", "c.test", "d.test", "192.0.2.1")),
			want: func(*x509.Certificate) want {
				return want{kind: KindCert, err: "certificate is for a.test, b.test, c.test and 2 more, not pinguin.test"}
			},
		},
		{
			name: "signed by an unknown authority",
			cert: new(pki.leaf(t, now.Add(-time.Hour), now.Add(90*day), "pinguin.test")),
			req:  TLSRequest{RootCAs: newTestPKI(t).Roots},
			want: func(*x509.Certificate) want {
				return want{kind: KindCert, err: `certificate signed by an unknown authority (issuer "Pinguin Test CA")`}
			},
		},
		{
			name:        "verified against the system roots",
			cert:        new(pki.leaf(t, now.Add(-time.Hour), now.Add(90*day), "pinguin.test")),
			systemRoots: true,
			want: func(*x509.Certificate) want {
				return want{kind: KindCert, err: `certificate signed by an unknown authority (issuer "Pinguin Test CA")`}
			},
		},
		{
			name: "chain with an intermediate",
			cert: new(pki.chained(t, "pinguin.test")),
			want: func(*x509.Certificate) want { return want{ok: true} },
		},
		{
			name: "IP address as the name",
			cert: new(pki.leaf(t, now.Add(-time.Hour), now.Add(90*day), "127.0.0.1")),
			req:  TLSRequest{ServerName: "127.0.0.1"},
			want: func(*x509.Certificate) want { return want{ok: true} },
		},
		{
			name: "not a TLS server",
			peer: func(t *testing.T) string { return serveRaw(t, says("220 pinguin.test ESMTP ready\r\n")) },
			want: func(*x509.Certificate) want {
				return want{kind: KindTLS, err: "tls: first record does not look like a TLS handshake"}
			},
		},
		{
			name: "handshake refused by the server",
			peer: func(t *testing.T) string {
				return serveRaw(t, func(c net.Conn) {
					noCert := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
						return nil, errors.New("no certificate for this name")
					}}
					if tls.Server(c, noCert).Handshake() == nil {
						return
					}
					// Close gracefully, so the client reads the alert, not a reset.
					c.(*net.TCPConn).CloseWrite()
					io.Copy(io.Discard, c)
				})
			},
			want: func(*x509.Certificate) want { return want{kind: KindTLS, err: "remote error: tls: internal error"} },
		},
		{
			name: "connection refused",
			peer: freeAddr,
			want: func(*x509.Certificate) want {
				return want{kind: KindRefused, errContains: "connect: connection refused"}
			},
		},
		{
			name: "port 443 by default",
			peer: func(*testing.T) string { return "127.0.0.1:0" },
			want: func(*x509.Certificate) want {
				return want{kind: KindRefused, errContains: "127.0.0.1:443: connect: connection refused"}
			},
		},
		{
			name: "no host",
			peer: func(*testing.T) string { return ":443" },
			want: func(*x509.Certificate) want { return want{kind: KindInvalid, err: "host is required"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var addr string
			var leaf *x509.Certificate
			if tt.cert != nil {
				addr, leaf = serveCert(t, *tt.cert), tt.cert.Leaf
			} else {
				addr = tt.peer(t)
			}
			req := tt.req
			req.Host, req.Port = hostPort(t, addr)
			if req.ServerName == "" {
				req.ServerName = "pinguin.test"
			}
			if req.RootCAs == nil && !tt.systemRoots {
				req.RootCAs = pki.Roots
			}
			req.Timeout = 10 * time.Second
			want := tt.want(leaf)

			got := NewTLS(nil).Check(t.Context(), req)

			if got.OK != want.ok || got.Degraded != want.degraded || got.ErrorKind != want.kind {
				t.Errorf("got OK %v, degraded %v, kind %q (%q); want %v, %v, %q",
					got.OK, got.Degraded, got.ErrorKind, got.Error, want.ok, want.degraded, want.kind)
			}
			if want.errContains != "" {
				if !strings.Contains(got.Error, want.errContains) {
					t.Errorf("error %q does not contain %q", got.Error, want.errContains)
				}
			} else if got.Error != want.err {
				t.Errorf("error %q, want %q", got.Error, want.err)
			}
			var wantExpiry time.Time
			if leaf != nil {
				wantExpiry = leaf.NotAfter
			}
			if !got.CertExpiry.Equal(wantExpiry) {
				t.Errorf("cert expiry %v, want %v", got.CertExpiry, wantExpiry)
			}
			if leaf != nil && (got.Phases.TLS <= 0 || got.Phases.Connect <= 0) {
				t.Errorf("phases %+v, want connect and TLS > 0", got.Phases)
			}
		})
	}
}

func TestTLSCheckServerNameDefaultsToHost(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	cert := pki.leaf(t, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), "localhost")
	_, port := hostPort(t, serveCert(t, cert))

	got := NewTLS(nil).Check(t.Context(), TLSRequest{Host: "localhost", Port: port, RootCAs: pki.Roots, Timeout: 10 * time.Second})

	if !got.OK || got.Error != "" {
		t.Errorf("got OK %v, kind %q, error %q; want OK", got.OK, got.ErrorKind, got.Error)
	}
}

func TestTLSCheckTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	hungUp := make(chan struct{}, 1)
	host, port := hostPort(t, serveRaw(t, func(c net.Conn) {
		silent(c)
		hungUp <- struct{}{}
	}))

	start := time.Now()
	got := NewTLS(nil).Check(t.Context(), TLSRequest{Host: host, Port: port, Timeout: timeout})
	elapsed := time.Since(start)

	if want := "timeout after 300ms: TLS handshake"; got.OK || got.ErrorKind != KindTimeout || got.Error != want {
		t.Errorf("got OK %v, kind %q, error %q; want kind %q, error %q", got.OK, got.ErrorKind, got.Error, KindTimeout, want)
	}
	if elapsed > timeout+slack {
		t.Errorf("check returned after %v, timeout %v", elapsed, timeout)
	}
	select {
	case <-hungUp:
	case <-time.After(slack):
		t.Fatal("the connection is still open after the check timed out")
	}
}

func TestTLSCheckGuard(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	cert := pki.leaf(t, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), "pinguin.test")

	tests := []struct {
		name     string
		allow    bool
		wantKind Kind
		wantErr  string
	}{
		{name: "loopback address", wantKind: KindBlocked, wantErr: "blocked target: 127.0.0.1 is a loopback address"},
		{name: "allowed server", allow: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := serveCert(t, cert)
			g := NewGuard(true)
			if tt.allow {
				g.allowForTest(netip.MustParseAddrPort(addr))
			}
			host, port := hostPort(t, addr)
			req := TLSRequest{Host: host, Port: port, ServerName: "pinguin.test", RootCAs: pki.Roots, Timeout: 10 * time.Second}

			got := NewTLS(g).Check(t.Context(), req)

			if got.OK != (tt.wantKind == KindNone) || got.ErrorKind != tt.wantKind || got.Error != tt.wantErr {
				t.Errorf("got OK %v, kind %q, error %q; want kind %q, error %q", got.OK, got.ErrorKind, got.Error, tt.wantKind, tt.wantErr)
			}
		})
	}
}

func TestCertNames(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		cert *x509.Certificate
		want string
	}{
		{name: "one", cert: &x509.Certificate{DNSNames: []string{"a.test"}}, want: "a.test"},
		{name: "two", cert: &x509.Certificate{DNSNames: []string{"a.test", "b.test"}}, want: "a.test and b.test"},
		{
			name: "names and addresses",
			cert: &x509.Certificate{DNSNames: []string{"a.test", "b.test"}, IPAddresses: []net.IP{net.IPv4(192, 0, 2, 1)}},
			want: "a.test, b.test and 192.0.2.1",
		},
		{
			name: "more than three",
			cert: &x509.Certificate{DNSNames: []string{"a.test", "b.test", "c.test", "d.test"}},
			want: "a.test, b.test, c.test and 1 more",
		},
		{
			name: "common name only",
			cert: &x509.Certificate{Subject: pkix.Name{CommonName: "pinguin.test"}},
			want: `no names (only the legacy common name "pinguin.test")`,
		},
		{name: "nothing", cert: &x509.Certificate{}, want: "no names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := certNames(tt.cert); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWholeDays(t *testing.T) {
	t.Parallel()

	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "less than a day"},
		{23 * time.Hour, "less than a day"},
		{24 * time.Hour, "1 day"},
		{47 * time.Hour, "1 day"},
		{48 * time.Hour, "2 days"},
		{400 * 24 * time.Hour, "400 days"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			t.Parallel()
			if got := wholeDays(tt.d); got != tt.want {
				t.Errorf("wholeDays(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}
