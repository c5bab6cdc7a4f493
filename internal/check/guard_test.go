package check

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestGuardAllowed(t *testing.T) {
	t.Parallel()

	tests := []struct {
		addr    string
		wantErr string // "" when allowed
	}{
		// Refused IPv4.
		{addr: "127.0.0.1", wantErr: "blocked target: 127.0.0.1 is a loopback address"},
		{addr: "127.255.255.254", wantErr: "blocked target: 127.255.255.254 is a loopback address"},
		{addr: "10.1.2.3", wantErr: "blocked target: 10.1.2.3 is a private address"},
		{addr: "10.0.0.5", wantErr: "blocked target: 10.0.0.5 is a private address"},
		{addr: "172.16.0.1", wantErr: "blocked target: 172.16.0.1 is a private address"},
		{addr: "172.31.255.255", wantErr: "blocked target: 172.31.255.255 is a private address"},
		{addr: "192.168.1.1", wantErr: "blocked target: 192.168.1.1 is a private address"},
		{addr: "169.254.169.254", wantErr: "blocked target: 169.254.169.254 is a cloud metadata address"},
		{addr: "169.254.170.2", wantErr: "blocked target: 169.254.170.2 is a link-local address"},
		{addr: "100.100.100.200", wantErr: "blocked target: 100.100.100.200 is a cloud metadata address"},
		{addr: "192.0.0.192", wantErr: "blocked target: 192.0.0.192 is a cloud metadata address"},
		{addr: "100.64.0.1", wantErr: "blocked target: 100.64.0.1 is a shared (CGNAT) address"},
		{addr: "100.127.255.255", wantErr: "blocked target: 100.127.255.255 is a shared (CGNAT) address"},
		{addr: "0.0.0.0", wantErr: "blocked target: 0.0.0.0 is an unspecified address"},
		{addr: "0.1.2.3", wantErr: `blocked target: 0.1.2.3 is a "this network" address`},
		{addr: "192.0.0.8", wantErr: "blocked target: 192.0.0.8 is a reserved address"},
		{addr: "192.0.2.1", wantErr: "blocked target: 192.0.2.1 is a documentation address"},
		{addr: "198.51.100.7", wantErr: "blocked target: 198.51.100.7 is a documentation address"},
		{addr: "203.0.113.9", wantErr: "blocked target: 203.0.113.9 is a documentation address"},
		{addr: "198.18.0.1", wantErr: "blocked target: 198.18.0.1 is a benchmarking address"},
		{addr: "198.19.255.255", wantErr: "blocked target: 198.19.255.255 is a benchmarking address"},
		{addr: "224.0.0.1", wantErr: "blocked target: 224.0.0.1 is a multicast address"},
		{addr: "239.255.255.250", wantErr: "blocked target: 239.255.255.250 is a multicast address"},
		{addr: "240.0.0.1", wantErr: "blocked target: 240.0.0.1 is a reserved address"},
		{addr: "255.255.255.255", wantErr: "blocked target: 255.255.255.255 is a broadcast address"},

		// Refused IPv6.
		{addr: "::1", wantErr: "blocked target: ::1 is a loopback address"},
		{addr: "::", wantErr: "blocked target: :: is an unspecified address"},
		{addr: "fe80::1", wantErr: "blocked target: fe80::1 is a link-local address"},
		{addr: "fe80::1%eth0", wantErr: "blocked target: fe80::1%eth0 is a link-local address"},
		{addr: "fc00::1", wantErr: "blocked target: fc00::1 is a unique-local address"},
		{addr: "fd12:3456::1", wantErr: "blocked target: fd12:3456::1 is a unique-local address"},
		{addr: "fd00:ec2::254", wantErr: "blocked target: fd00:ec2::254 is a cloud metadata address"},
		{addr: "fec0::1", wantErr: "blocked target: fec0::1 is a site-local address"},
		{addr: "ff02::1", wantErr: "blocked target: ff02::1 is a multicast address"},
		{addr: "2001:db8::1", wantErr: "blocked target: 2001:db8::1 is a documentation address"},
		{addr: "3fff::1", wantErr: "blocked target: 3fff::1 is a documentation address"},
		{addr: "2001:2::1", wantErr: "blocked target: 2001:2::1 is a benchmarking address"},
		{addr: "100::1", wantErr: "blocked target: 100::1 is a discard-only address"},
		{addr: "64:ff9b:1::a00:1", wantErr: "blocked target: 64:ff9b:1::a00:1 is a local-use NAT64 address"},

		// Refused IPv4 in IPv6 forms.
		{addr: "::ffff:127.0.0.1",
			wantErr: "blocked target: ::ffff:127.0.0.1 is an IPv4-mapped form of 127.0.0.1, a loopback address"},
		{addr: "::ffff:10.0.0.1",
			wantErr: "blocked target: ::ffff:10.0.0.1 is an IPv4-mapped form of 10.0.0.1, a private address"},
		{addr: "::ffff:169.254.169.254",
			wantErr: "blocked target: ::ffff:169.254.169.254 is an IPv4-mapped form of 169.254.169.254, a cloud metadata address"},
		{addr: "::127.0.0.1",
			wantErr: "blocked target: ::7f00:1 is an IPv4-compatible form of 127.0.0.1, a loopback address"},
		{addr: "64:ff9b::7f00:1",
			wantErr: "blocked target: 64:ff9b::7f00:1 is a NAT64 form of 127.0.0.1, a loopback address"},
		{addr: "64:ff9b::192.168.0.1",
			wantErr: "blocked target: 64:ff9b::c0a8:1 is a NAT64 form of 192.168.0.1, a private address"},
		{addr: "2002:a9fe:a9fe::1",
			wantErr: "blocked target: 2002:a9fe:a9fe::1 is a 6to4 form of 169.254.169.254, a cloud metadata address"},
		{addr: "2002:7f00:1::", wantErr: "blocked target: 2002:7f00:1:: is a 6to4 form of 127.0.0.1, a loopback address"},
		// Teredo: server 10.0.0.1; client 1.1.1.1, stored inverted.
		{addr: "2001:0:a00:1::fefe:fefe",
			wantErr: "blocked target: 2001:0:a00:1::fefe:fefe is a Teredo form of 10.0.0.1, a private address"},
		// Teredo: server 1.1.1.1; client 127.0.0.1, stored inverted.
		{addr: "2001:0:101:101::80ff:fffe",
			wantErr: "blocked target: 2001:0:101:101::80ff:fffe is a Teredo form of 127.0.0.1, a loopback address"},

		// Allowed.
		{addr: "1.1.1.1"},
		{addr: "8.8.8.8"},
		{addr: "93.184.215.14"},
		{addr: "100.63.255.255"},  // just below CGNAT
		{addr: "100.128.0.0"},     // just above CGNAT
		{addr: "172.15.255.255"},  // just below 172.16.0.0/12
		{addr: "172.32.0.0"},      // just above
		{addr: "169.253.255.255"}, // just below link-local
		{addr: "223.255.255.255"}, // just below multicast
		{addr: "2606:4700:4700::1111"},
		{addr: "2001:4860:4860::8888"},
		{addr: "::ffff:1.1.1.1"},
		{addr: "64:ff9b::808:808"},
		{addr: "2002:808:808::1"},
		{addr: "2001:0:101:101::f7f7:f7f7"}, // Teredo: server 1.1.1.1, client 8.8.8.8
	}
	g := NewGuard(true)
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			ip := netip.MustParseAddr(tt.addr)

			err := g.Allowed(ip)

			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Allowed(%s) = %q, want nil", ip, err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Allowed(%s) = %v, want %q", ip, err, tt.wantErr)
			}
			if _, ok := errors.AsType[*BlockedError](err); !ok {
				t.Errorf("Allowed(%s) returned a %T, want a *BlockedError", ip, err)
			}
		})
	}
}

func TestGuardInvalidAddress(t *testing.T) {
	t.Parallel()
	const want = "blocked target: invalid IP is not an IP address"
	if err := NewGuard(true).Allowed(netip.Addr{}); err == nil || err.Error() != want {
		t.Errorf("Allowed(zero Addr) = %v, want %q", err, want)
	}
}

func TestGuardDisabled(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		guard *Guard
	}{
		{name: "nil"},
		{name: "built with blockPrivate false", guard: NewGuard(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, addr := range []string{"127.0.0.1", "10.0.0.5", "169.254.169.254", "::1", "fe80::1%eth0", "1.1.1.1"} {
				if err := tt.guard.Allowed(netip.MustParseAddr(addr)); err != nil {
					t.Errorf("Allowed(%s) = %v, want nil", addr, err)
				}
			}
			for _, address := range []string{"127.0.0.1:80", "[::1]:443", "/run/pinguin.sock"} {
				if err := tt.guard.Control("tcp", address, nil); err != nil {
					t.Errorf("Control(%q) = %v, want nil", address, err)
				}
			}
		})
	}
}

func TestGuardControl(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name             string
		network, address string
		wantErr          string // "" when allowed
	}{
		{name: "IPv4 loopback", network: "tcp4", address: "127.0.0.1:8080",
			wantErr: "blocked target: 127.0.0.1 is a loopback address"},
		{name: "IPv6 loopback", network: "tcp6", address: "[::1]:443",
			wantErr: "blocked target: ::1 is a loopback address"},
		{name: "link-local with a zone", network: "tcp6", address: "[fe80::1%eth0]:80",
			wantErr: "blocked target: fe80::1%eth0 is a link-local address"},
		{name: "metadata", network: "tcp4", address: "169.254.169.254:80",
			wantErr: "blocked target: 169.254.169.254 is a cloud metadata address"},
		{name: "UDP to a private resolver", network: "udp4", address: "192.168.1.1:53",
			wantErr: "blocked target: 192.168.1.1 is a private address"},
		{name: "Unix socket", network: "unix", address: "/run/pinguin.sock",
			wantErr: "blocked target: /run/pinguin.sock is not an IP address"},
		{name: "host name", network: "tcp", address: "localhost:80",
			wantErr: "blocked target: localhost is not an IP address"},
		{name: "public IPv4", network: "tcp4", address: "1.1.1.1:443"},
		{name: "public IPv6", network: "tcp6", address: "[2606:4700:4700::1111]:443"},
	}
	g := NewGuard(true)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			err := g.Control(tt.network, tt.address, nil)

			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Control(%q, %q) = %q, want nil", tt.network, tt.address, err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Control(%q, %q) = %v, want %q", tt.network, tt.address, err, tt.wantErr)
			}
			if _, ok := errors.AsType[*BlockedError](err); !ok {
				t.Errorf("Control returned a %T, want a *BlockedError", err)
			}
		})
	}
}

func TestGuardAllowForTest(t *testing.T) {
	t.Parallel()
	g := NewGuard(true)
	g.allowForTest(netip.MustParseAddrPort("127.0.0.1:8080"))

	if err := g.Control("tcp4", "127.0.0.1:8080", nil); err != nil {
		t.Errorf("the allowed address was refused: %v", err)
	}
	if err := g.Control("tcp4", "127.0.0.1:8081", nil); err == nil {
		t.Error("another port of the allowed address was let through")
	}
	if err := g.Allowed(netip.MustParseAddr("127.0.0.1")); err == nil {
		t.Error("Allowed let 127.0.0.1 through: the exception is Control's only")
	}
}

// FuzzGuardIPv4Forms checks that an IPv4 address is refused in any IPv6
// form exactly when it is refused itself.
func FuzzGuardIPv4Forms(f *testing.F) {
	for _, seed := range [][4]byte{
		{127, 0, 0, 1}, {10, 0, 0, 5}, {169, 254, 169, 254}, {100, 64, 0, 1},
		{0, 0, 0, 0}, {255, 255, 255, 255}, {1, 1, 1, 1}, {8, 8, 8, 8},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	g := NewGuard(true)
	public := [4]byte{1, 1, 1, 1}
	f.Fuzz(func(t *testing.T, a, b, c, d byte) {
		v4 := [4]byte{a, b, c, d}
		want := g.Allowed(netip.AddrFrom4(v4)) == nil
		forms := map[string][16]byte{
			"IPv4-mapped":     {10: 0xff, 11: 0xff, 12: a, 13: b, 14: c, 15: d},
			"IPv4-compatible": {12: a, 13: b, 14: c, 15: d},
			"NAT64":           {0: 0x00, 1: 0x64, 2: 0xff, 3: 0x9b, 12: a, 13: b, 14: c, 15: d},
			"6to4":            {0: 0x20, 1: 0x02, 2: a, 3: b, 4: c, 5: d},
			"Teredo server": {0: 0x20, 1: 0x01, 4: a, 5: b, 6: c, 7: d,
				12: ^public[0], 13: ^public[1], 14: ^public[2], 15: ^public[3]},
			"Teredo client": {0: 0x20, 1: 0x01, 4: public[0], 5: public[1], 6: public[2], 7: public[3],
				12: ^a, 13: ^b, 14: ^c, 15: ^d},
		}
		for form, b := range forms {
			ip := netip.AddrFrom16(b)
			if ip == netip.IPv6Unspecified() || ip == netip.IPv6Loopback() {
				continue // named for themselves, and refused either way
			}
			if got := g.Allowed(ip) == nil; got != want {
				t.Errorf("%s %s allowed %v, but %s allowed %v", form, ip, got, netip.AddrFrom4(v4), want)
			}
		}
	})
}

// guarded returns a checker whose guard blocks private targets (nil: no
// guard), closed at the end of the test.
func guarded(t *testing.T, g *Guard) *HTTP {
	t.Helper()
	h := NewHTTP(testUserAgent, g)
	t.Cleanup(h.Close)
	return h
}

// counted starts a loopback test server that answers 200 and counts the
// requests it was sent.
func counted(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		hits.Add(1)
	}), nil)
	return srv, &hits
}

// addrPort returns the address srv listens on.
func addrPort(t *testing.T, srv *httptest.Server) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// localhost returns the URL of srv with its host named localhost, skipping
// the test where the name does not resolve.
func localhost(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	addrs, err := net.DefaultResolver.LookupHost(t.Context(), "localhost")
	if err != nil || len(addrs) == 0 {
		t.Skipf("localhost does not resolve: %v", err)
	}
	return "http://localhost:" + srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
}

func TestHTTPCheckGuard(t *testing.T) {
	t.Parallel()

	type want struct {
		ok        bool
		code      int
		kind      Kind
		err       string // exact, when errPrefix is empty
		errPrefix string // for targets whose name resolves to several addresses
		hits      int32  // requests the protected server saw
	}
	tests := []struct {
		name  string
		guard bool
		// target returns the URL to check. protected is a loopback server
		// that counts requests; allow lets another server through g.
		target func(t *testing.T, protected *httptest.Server, allow func(*httptest.Server)) string
		req    HTTPRequest
		want   want
	}{
		{
			name:   "guard off: loopback address",
			target: func(_ *testing.T, p *httptest.Server, _ func(*httptest.Server)) string { return p.URL },
			want:   want{ok: true, code: 200, hits: 1},
		},
		{
			name: "guard off: redirect to another loopback server",
			target: func(t *testing.T, p *httptest.Server, _ func(*httptest.Server)) string {
				return serve(t, http.RedirectHandler(p.URL, http.StatusFound), nil).URL
			},
			req:  HTTPRequest{FollowRedirects: true},
			want: want{ok: true, code: 200, hits: 1},
		},
		{
			name:   "loopback address",
			guard:  true,
			target: func(_ *testing.T, p *httptest.Server, _ func(*httptest.Server)) string { return p.URL },
			want:   want{kind: KindBlocked, err: "blocked target: 127.0.0.1 is a loopback address"},
		},
		{
			name:  "HTTPS to a loopback address",
			guard: true,
			target: func(_ *testing.T, p *httptest.Server, _ func(*httptest.Server)) string {
				return strings.Replace(p.URL, "http:", "https:", 1)
			},
			want: want{kind: KindBlocked, err: "blocked target: 127.0.0.1 is a loopback address"},
		},
		{
			name:   "name that resolves to loopback",
			guard:  true,
			target: func(t *testing.T, p *httptest.Server, _ func(*httptest.Server)) string { return localhost(t, p) },
			want:   want{kind: KindBlocked, errPrefix: "blocked target: "},
		},
		{
			name:  "IPv4-mapped loopback",
			guard: true,
			target: func(t *testing.T, p *httptest.Server, _ func(*httptest.Server)) string {
				return "http://[::ffff:127.0.0.1]:" + strconv.Itoa(int(addrPort(t, p).Port())) + "/"
			},
			// The dialer connects over IPv4, to the address it unmapped.
			want: want{kind: KindBlocked, err: "blocked target: 127.0.0.1 is a loopback address"},
		},
		{
			name:  "unspecified address, which Linux connects locally",
			guard: true,
			target: func(t *testing.T, p *httptest.Server, _ func(*httptest.Server)) string {
				return "http://0.0.0.0:" + strconv.Itoa(int(addrPort(t, p).Port())) + "/"
			},
			want: want{kind: KindBlocked, err: "blocked target: 0.0.0.0 is an unspecified address"},
		},
		{
			name:   "IPv6 loopback",
			guard:  true,
			target: func(*testing.T, *httptest.Server, func(*httptest.Server)) string { return "http://[::1]:1/" },
			want:   want{kind: KindBlocked, err: "blocked target: ::1 is a loopback address"},
		},
		{
			name:  "cloud metadata",
			guard: true,
			target: func(*testing.T, *httptest.Server, func(*httptest.Server)) string {
				return "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
			},
			want: want{kind: KindBlocked, err: "blocked target: 169.254.169.254 is a cloud metadata address"},
		},
		{
			name:  "allowed server",
			guard: true,
			target: func(_ *testing.T, p *httptest.Server, allow func(*httptest.Server)) string {
				allow(p)
				return p.URL
			},
			want: want{ok: true, code: 200, hits: 1},
		},
		{
			name:  "redirect to a blocked address",
			guard: true,
			target: func(t *testing.T, p *httptest.Server, allow func(*httptest.Server)) string {
				entry := serve(t, http.RedirectHandler(p.URL+"/admin", http.StatusFound), nil)
				allow(entry)
				return entry.URL
			},
			req:  HTTPRequest{FollowRedirects: true},
			want: want{kind: KindBlocked, err: "blocked target: 127.0.0.1 is a loopback address"},
		},
		{
			name:  "redirect to a name that resolves to loopback",
			guard: true,
			target: func(t *testing.T, p *httptest.Server, allow func(*httptest.Server)) string {
				entry := serve(t, http.RedirectHandler(localhost(t, p), http.StatusFound), nil)
				allow(entry)
				return entry.URL
			},
			req:  HTTPRequest{FollowRedirects: true},
			want: want{kind: KindBlocked, errPrefix: "blocked target: "},
		},
		{
			name:  "redirect to a blocked address, not followed",
			guard: true,
			target: func(t *testing.T, p *httptest.Server, allow func(*httptest.Server)) string {
				entry := serve(t, http.RedirectHandler(p.URL, http.StatusFound), nil)
				allow(entry)
				return entry.URL
			},
			want: want{code: 302, kind: KindStatus, err: "status 302, expected 200-299"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var g *Guard
			if tt.guard {
				g = NewGuard(true)
			}
			allow := func(srv *httptest.Server) { g.allowForTest(addrPort(t, srv)) }
			protected, hits := counted(t)
			req := tt.req
			req.URL = tt.target(t, protected, allow)
			req.Timeout = 10 * time.Second
			h := guarded(t, g) // after allow: the guard is read by checks only

			got := h.Check(t.Context(), req)

			if got.OK != tt.want.ok || got.StatusCode != tt.want.code || got.ErrorKind != tt.want.kind {
				t.Errorf("got OK %v, status %d, kind %q (%q); want %v, %d, %q",
					got.OK, got.StatusCode, got.ErrorKind, got.Error, tt.want.ok, tt.want.code, tt.want.kind)
			}
			if tt.want.errPrefix != "" {
				if !strings.HasPrefix(got.Error, tt.want.errPrefix) {
					t.Errorf("error %q does not start with %q", got.Error, tt.want.errPrefix)
				}
			} else if got.Error != tt.want.err {
				t.Errorf("error %q, want %q", got.Error, tt.want.err)
			}
			if n := hits.Load(); n != tt.want.hits {
				t.Errorf("the protected server saw %d requests, want %d", n, tt.want.hits)
			}
		})
	}
}

// Hosts that spell 127.0.0.1 in the notations of inet_aton: Go's resolver
// takes them for names (that do not resolve), the C library's resolves them
// to 127.0.0.1, which the guard refuses at dial time. Either way the server
// must not be reached.
func TestHTTPCheckGuardNumericHosts(t *testing.T) {
	t.Parallel()

	hosts := []string{
		"2130706433",   // decimal
		"0177.0.0.1",   // octal
		"0x7f.0.0.1",   // hexadecimal
		"0x7f000001",   // hexadecimal, one number
		"017700000001", // octal, one number
		"127.1",        // short form
	}
	kinds := []Kind{KindBlocked, KindDNS, KindInvalid}
	for _, host := range hosts {
		t.Run(host, func(t *testing.T) {
			t.Parallel()
			h := guarded(t, NewGuard(true))
			srv, hits := counted(t)
			url := "http://" + host + ":" + strconv.Itoa(int(addrPort(t, srv).Port())) + "/"

			got := h.Check(t.Context(), HTTPRequest{URL: url, Timeout: 10 * time.Second})

			if got.OK || !slices.Contains(kinds, got.ErrorKind) {
				t.Errorf("got OK %v, kind %q (%q); want one of %q", got.OK, got.ErrorKind, got.Error, kinds)
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("the loopback server saw %d requests", n)
			}
			t.Logf("%s: %q", got.ErrorKind, got.Error) // which resolver ran
		})
	}
}
