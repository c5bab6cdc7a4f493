package check

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// testZone is what serveDNS answers, by name; a name not in it does not
// exist.
var testZone = map[string][]string{
	"a.pinguin.test.":     {"a.pinguin.test. 300 IN A 192.0.2.1", "a.pinguin.test. 300 IN A 192.0.2.2"},
	"aaaa.pinguin.test.":  {"aaaa.pinguin.test. 300 IN AAAA 2001:db8::1"},
	"alias.pinguin.test.": {"alias.pinguin.test. 300 IN CNAME a.pinguin.test.", "a.pinguin.test. 300 IN A 192.0.2.1"},
	"cname.pinguin.test.": {"cname.pinguin.test. 300 IN CNAME Target.Pinguin.Test."},
	"mx.pinguin.test.": {
		"mx.pinguin.test. 300 IN MX 20 backup.pinguin.test.",
		"mx.pinguin.test. 300 IN MX 10 mail.pinguin.test.",
	},
	"txt.pinguin.test.": {
		`txt.pinguin.test. 300 IN TXT "v=spf1 include:_spf.pinguin.test" " -all"`,
		`txt.pinguin.test. 300 IN TXT "hello"`,
	},
	"ns.pinguin.test.":  {"ns.pinguin.test. 300 IN NS ns1.pinguin.test."},
	"soa.pinguin.test.": {"soa.pinguin.test. 300 IN SOA ns1.pinguin.test. hostmaster.pinguin.test. 2024010101 7200 3600 1209600 300"},
	// big.pinguin.test comes truncated over UDP, whole over TCP.
	"big.pinguin.test.":      {"big.pinguin.test. 300 IN A 192.0.2.10"},
	"servfail.pinguin.test.": nil, // answered SERVFAIL
}

// zoneHandler answers from testZone.
func zoneHandler(t *testing.T) dns.HandlerFunc {
	return func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		_, udp := w.RemoteAddr().(*net.UDPAddr)
		records, ok := testZone[q.Name]
		switch {
		case !ok:
			m.Rcode = dns.RcodeNameError
		case q.Name == "servfail.pinguin.test.":
			m.Rcode = dns.RcodeServerFailure
		case q.Name == "big.pinguin.test." && udp:
			m.Truncated = true
		default:
			for _, s := range records {
				rr, err := dns.NewRR(s)
				if err != nil {
					t.Error(err)
					return
				}
				if rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == dns.TypeCNAME {
					m.Answer = append(m.Answer, rr)
				}
			}
		}
		w.WriteMsg(m)
	}
}

// serveDNS starts a DNS server on 127.0.0.1, over UDP and TCP on the same
// port, answering from testZone, shut down at the end of the test. It
// returns its address.
func serveDNS(t *testing.T) string {
	t.Helper()
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	for range 10 { // the TCP port may be taken where the UDP one was free
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	handler := zoneHandler(t)
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait) // after the servers' shutdowns: cleanups run last first
	for _, srv := range []*dns.Server{
		{PacketConn: pc, Handler: handler},
		{Listener: ln, Handler: handler},
	} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		wg.Go(func() {
			if err := srv.ActivateAndServe(); err != nil {
				t.Errorf("DNS server: %v", err)
			}
		})
		<-started
		t.Cleanup(func() {
			if err := srv.Shutdown(); err != nil {
				t.Errorf("shut the DNS server down: %v", err)
			}
		})
	}
	return pc.LocalAddr().String()
}

// silentDNS returns the address of a UDP socket that reads queries and
// never answers, closed at the end of the test. Each query read is sent
// to reached, if there is room.
func silentDNS(t *testing.T, reached chan<- struct{}) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			select {
			case reached <- struct{}{}:
			default:
			}
		}
	})
	t.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	return pc.LocalAddr().String()
}

// freeUDPAddr returns a UDP address where nothing listens: a query sent
// there is refused.
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	if err := pc.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestDNSCheck(t *testing.T) {
	t.Parallel()
	server := serveDNS(t)

	type want struct {
		ok          bool
		kind        Kind
		err         string // exact, when errContains is empty
		errContains string
	}
	tests := []struct {
		name string
		req  DNSRequest // Resolver is the test server unless set
		want want
	}{
		{
			name: "A",
			req:  DNSRequest{Name: "a.pinguin.test", Type: "A", Expected: []string{"192.0.2.1"}},
			want: want{ok: true},
		},
		{
			name: "A without expected values",
			req:  DNSRequest{Name: "a.pinguin.test", Type: "A"},
			want: want{ok: true},
		},
		{
			name: "name with its trailing dot, type in lower case",
			req:  DNSRequest{Name: "a.pinguin.test.", Type: "a", Expected: []string{"192.0.2.2"}},
			want: want{ok: true},
		},
		{
			name: "any of",
			req:  DNSRequest{Name: "a.pinguin.test", Type: "A", Expected: []string{"192.0.2.9", "192.0.2.2"}},
			want: want{ok: true},
		},
		{
			name: "none of",
			req:  DNSRequest{Name: "a.pinguin.test", Type: "A", Expected: []string{"192.0.2.9", "192.0.2.8"}},
			want: want{kind: KindMismatch, err: "expected any of [192.0.2.9, 192.0.2.8], got [192.0.2.1, 192.0.2.2]"},
		},
		{
			name: "all of",
			req:  DNSRequest{Name: "a.pinguin.test", Type: "A", Expected: []string{"192.0.2.2", "192.0.2.1"}, MatchAll: true},
			want: want{ok: true},
		},
		{
			name: "not all of",
			req:  DNSRequest{Name: "a.pinguin.test", Type: "A", Expected: []string{"192.0.2.1", "192.0.2.9"}, MatchAll: true},
			want: want{kind: KindMismatch, err: "expected all of [192.0.2.1, 192.0.2.9], got [192.0.2.1, 192.0.2.2]"},
		},
		{
			name: "A through a CNAME",
			req:  DNSRequest{Name: "alias.pinguin.test", Type: "A", Expected: []string{"192.0.2.1"}, MatchAll: true},
			want: want{ok: true},
		},
		{
			name: "AAAA written another way",
			req:  DNSRequest{Name: "aaaa.pinguin.test", Type: "AAAA", Expected: []string{"2001:DB8:0::1"}},
			want: want{ok: true},
		},
		{
			name: "MX",
			req:  DNSRequest{Name: "mx.pinguin.test", Type: "MX", Expected: []string{"10 MAIL.pinguin.test."}},
			want: want{ok: true},
		},
		{
			name: "MX mismatch",
			req:  DNSRequest{Name: "mx.pinguin.test", Type: "MX", Expected: []string{"10 mx.other.test"}},
			want: want{kind: KindMismatch, err: "expected any of [10 mx.other.test], got [10 mail.pinguin.test, 20 backup.pinguin.test]"},
		},
		{
			name: "TXT strings joined",
			req:  DNSRequest{Name: "txt.pinguin.test", Type: "TXT", Expected: []string{"v=spf1 include:_spf.pinguin.test -all"}},
			want: want{ok: true},
		},
		{
			name: "TXT mismatch",
			req:  DNSRequest{Name: "txt.pinguin.test", Type: "TXT", Expected: []string{"v=spf1 -all"}},
			want: want{kind: KindMismatch, err: `expected any of ["v=spf1 -all"], got ["hello", "v=spf1 include:_spf.pinguin.test -all"]`},
		},
		{
			name: "CNAME in lower case",
			req:  DNSRequest{Name: "cname.pinguin.test", Type: "CNAME", Expected: []string{"target.pinguin.test"}},
			want: want{ok: true},
		},
		{
			name: "CNAME mismatch",
			req:  DNSRequest{Name: "cname.pinguin.test", Type: "CNAME", Expected: []string{"other.pinguin.test."}},
			want: want{kind: KindMismatch, err: "expected any of [other.pinguin.test.], got [target.pinguin.test]"},
		},
		{
			name: "NS",
			req:  DNSRequest{Name: "ns.pinguin.test", Type: "NS", Expected: []string{"ns1.pinguin.test."}},
			want: want{ok: true},
		},
		{
			name: "SOA with trailing dots",
			req:  DNSRequest{Name: "soa.pinguin.test", Type: "SOA", Expected: []string{"ns1.pinguin.test. hostmaster.pinguin.test. 2024010101"}},
			want: want{ok: true},
		},
		{
			name: "SOA mismatch",
			req:  DNSRequest{Name: "soa.pinguin.test", Type: "SOA", Expected: []string{"ns1.pinguin.test hostmaster.pinguin.test 2024010102"}},
			want: want{kind: KindMismatch, err: "expected any of [ns1.pinguin.test hostmaster.pinguin.test 2024010102], got [ns1.pinguin.test hostmaster.pinguin.test 2024010101]"},
		},
		{
			name: "NXDOMAIN",
			req:  DNSRequest{Name: "nope.pinguin.test", Type: "A"},
			want: want{kind: KindDNS, err: "NXDOMAIN: nope.pinguin.test does not exist"},
		},
		{
			name: "SERVFAIL",
			req:  DNSRequest{Name: "servfail.pinguin.test", Type: "A"},
			want: want{kind: KindDNS, err: "SERVFAIL: no answer for A servfail.pinguin.test"},
		},
		{
			name: "no record of the type",
			req:  DNSRequest{Name: "txt.pinguin.test", Type: "A"},
			want: want{kind: KindDNS, err: "no A record for txt.pinguin.test (NOERROR)"},
		},
		{
			name: "truncated over UDP, asked again over TCP",
			req:  DNSRequest{Name: "big.pinguin.test", Type: "A", Expected: []string{"192.0.2.10"}},
			want: want{ok: true},
		},
		{
			name: "unknown type",
			req:  DNSRequest{Name: "a.pinguin.test", Type: "PTR"},
			want: want{kind: KindInvalid, err: `record type "PTR" must be one of A, AAAA, CNAME, MX, TXT, NS, SOA`},
		},
		{
			name: "no name",
			req:  DNSRequest{Type: "A"},
			want: want{kind: KindInvalid, err: `name "" is not a valid domain name`},
		},
		{
			name: "invalid resolver",
			req:  DNSRequest{Name: "a.pinguin.test", Type: "A", Resolver: "127.0.0.1:0"},
			want: want{kind: KindInvalid, err: `resolver "127.0.0.1:0": port must be between 1 and 65535`},
		},
		{
			name: "resolver refuses",
			req:  DNSRequest{Name: "a.pinguin.test", Type: "A", Resolver: freeUDPAddr(t)},
			want: want{kind: KindRefused, errContains: "connection refused"},
		},
		{
			name: "resolver name does not resolve",
			req:  DNSRequest{Name: "a.pinguin.test", Type: "A", Resolver: "nonexistent.invalid"},
			want: want{kind: KindDNS, errContains: "lookup nonexistent.invalid"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := tt.req
			if req.Resolver == "" {
				req.Resolver = server
			}
			req.Timeout = 10 * time.Second

			got := NewDNS(nil).Check(t.Context(), req)

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
			if got.Latency <= 0 {
				t.Errorf("latency %v, want > 0", got.Latency)
			}
		})
	}
}

func TestDNSCheckSystemResolver(t *testing.T) {
	t.Parallel()
	server := serveDNS(t)

	tests := []struct {
		name        string
		nameservers func() ([]string, error)
		wantKind    Kind
		wantErr     string
	}{
		{
			name:        "first nameserver",
			nameservers: func() ([]string, error) { return []string{server}, nil },
		},
		{
			name:        "next nameserver when one refuses",
			nameservers: func() ([]string, error) { return []string{freeUDPAddr(t), server}, nil },
		},
		{
			name:        "resolv.conf unreadable",
			nameservers: func() ([]string, error) { return nil, errors.New("open /etc/resolv.conf: permission denied") },
			wantKind:    KindUnsupported,
			wantErr:     "system resolver: open /etc/resolv.conf: permission denied",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := NewDNS(NewGuard(true)) // the operator's nameservers are not vetted
			d.nameservers = tt.nameservers
			req := DNSRequest{Name: "a.pinguin.test", Type: "A", Expected: []string{"192.0.2.1"}, Timeout: 10 * time.Second}

			got := d.Check(t.Context(), req)

			if got.OK != (tt.wantKind == KindNone) || got.ErrorKind != tt.wantKind || got.Error != tt.wantErr {
				t.Errorf("got OK %v, kind %q, error %q; want kind %q, error %q", got.OK, got.ErrorKind, got.Error, tt.wantKind, tt.wantErr)
			}
		})
	}
}

func TestDNSCheckTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	server := silentDNS(t, nil)

	start := time.Now()
	got := NewDNS(nil).Check(t.Context(), DNSRequest{Name: "a.pinguin.test", Type: "A", Resolver: server, Timeout: timeout})
	elapsed := time.Since(start)

	if want := "timeout after 300ms: no answer from " + server; got.OK || got.ErrorKind != KindTimeout || got.Error != want {
		t.Errorf("got OK %v, kind %q, error %q; want kind %q, error %q", got.OK, got.ErrorKind, got.Error, KindTimeout, want)
	}
	if elapsed > timeout+slack {
		t.Errorf("check returned after %v, timeout %v", elapsed, timeout)
	}
}

func TestDNSCheckCanceled(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		answering bool // cancel once the server has the query, not before the check
	}{
		{name: "before the check"},
		{name: "while waiting for the answer", answering: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reached := make(chan struct{}, 1)
			server := silentDNS(t, reached)
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

			got := NewDNS(nil).Check(ctx, DNSRequest{Name: "a.pinguin.test", Type: "A", Resolver: server, Timeout: time.Minute})

			if want := "canceled: asking " + server; got.OK || got.ErrorKind != KindTimeout || got.Error != want {
				t.Errorf("got OK %v, kind %q, error %q; want kind %q, error %q", got.OK, got.ErrorKind, got.Error, KindTimeout, want)
			}
		})
	}
}

func TestDNSCheckGuard(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		allow    bool
		query    string
		wantKind Kind
		wantErr  string
	}{
		{name: "loopback resolver", query: "a.pinguin.test", wantKind: KindBlocked, wantErr: "blocked target: 127.0.0.1 is a loopback address"},
		{name: "allowed resolver", allow: true, query: "a.pinguin.test"},
		{name: "allowed resolver over TCP", allow: true, query: "big.pinguin.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			server := serveDNS(t)
			g := NewGuard(true)
			if tt.allow {
				g.allowForTest(netip.MustParseAddrPort(server))
			}

			got := NewDNS(g).Check(t.Context(), DNSRequest{Name: tt.query, Type: "A", Resolver: server, Timeout: 10 * time.Second})

			if got.OK != (tt.wantKind == KindNone) || got.ErrorKind != tt.wantKind || got.Error != tt.wantErr {
				t.Errorf("got OK %v, kind %q, error %q; want kind %q, error %q", got.OK, got.ErrorKind, got.Error, tt.wantKind, tt.wantErr)
			}
		})
	}
}

func TestParseRecordType(t *testing.T) {
	t.Parallel()

	tests := []struct {
		in      string
		want    uint16
		wantErr string
	}{
		{in: "A", want: dns.TypeA},
		{in: "AAAA", want: dns.TypeAAAA},
		{in: "CNAME", want: dns.TypeCNAME},
		{in: "MX", want: dns.TypeMX},
		{in: "TXT", want: dns.TypeTXT},
		{in: "NS", want: dns.TypeNS},
		{in: "SOA", want: dns.TypeSOA},
		{in: "mx", want: dns.TypeMX},
		{in: "", wantErr: "must be one of A, AAAA, CNAME, MX, TXT, NS, SOA"},
		{in: "PTR", wantErr: "must be one of A, AAAA, CNAME, MX, TXT, NS, SOA"},
		{in: " A", wantErr: "must be one of A, AAAA, CNAME, MX, TXT, NS, SOA"},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.in), func(t *testing.T) {
			t.Parallel()
			got, err := ParseRecordType(tt.in)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tt.want || gotErr != tt.wantErr {
				t.Errorf("ParseRecordType(%q) = %d, %q; want %d, %q", tt.in, got, gotErr, tt.want, tt.wantErr)
			}
		})
	}
}

func TestResolverAddr(t *testing.T) {
	t.Parallel()

	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "192.0.2.53", want: "192.0.2.53:53"},
		{in: "192.0.2.53:5353", want: "192.0.2.53:5353"},
		{in: "2001:db8::53", want: "[2001:db8::53]:53"},
		{in: "[2001:db8::53]", want: "[2001:db8::53]:53"},
		{in: "[2001:db8::53]:5353", want: "[2001:db8::53]:5353"},
		{in: "dns.pinguin.test", want: "dns.pinguin.test:53"},
		{in: "dns.pinguin.test:5353", want: "dns.pinguin.test:5353"},
		{in: "192.0.2.53:0", wantErr: `resolver "192.0.2.53:0": port must be between 1 and 65535`},
		{in: "192.0.2.53:dns", wantErr: `resolver "192.0.2.53:dns": port must be between 1 and 65535`},
		{in: ":53", wantErr: `resolver ":53" must be host or host:port`},
		{in: "[dns.pinguin.test]", wantErr: `resolver "[dns.pinguin.test]" is not a valid address`},
		{in: "dns pinguin", wantErr: `resolver "dns pinguin" must be host or host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := resolverAddr(tt.in)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tt.want || gotErr != tt.wantErr {
				t.Errorf("resolverAddr(%q) = %q, %q; want %q, %q", tt.in, got, gotErr, tt.want, tt.wantErr)
			}
		})
	}
}

// A resolver is user input: whatever it is, resolverAddr returns a
// host:port with a valid port, or an error.
func FuzzResolverAddr(f *testing.F) {
	for _, s := range []string{"192.0.2.53", "[2001:db8::53]:5353", "2001:db8::53", "dns.pinguin.test:53", ":53", "[", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addr, err := resolverAddr(s)
		if err != nil {
			return
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("resolverAddr(%q) = %q, not host:port: %v", s, addr, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
			t.Fatalf("resolverAddr(%q) = %q, host %q, port %q", s, addr, host, port)
		}
	})
}

func TestParseResolvConf(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{
			name: "nameservers in order",
			in:   "search pinguin.test\nnameserver 192.0.2.53\nnameserver 2001:db8::53\noptions ndots:2\n",
			want: []string{"192.0.2.53:53", "[2001:db8::53]:53"},
		},
		{
			name:    "no nameserver",
			in:      "search pinguin.test\n",
			wantErr: "no nameserver in /etc/resolv.conf",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseResolvConf(strings.NewReader(tt.in))
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") || gotErr != tt.wantErr {
				t.Errorf("got %q, %q; want %q, %q", got, gotErr, tt.want, tt.wantErr)
			}
		})
	}
}

func TestValueList(t *testing.T) {
	t.Parallel()
	var many []string
	for i := range 12 {
		many = append(many, "192.0.2."+strconv.Itoa(i))
	}

	tests := []struct {
		name   string
		qtype  uint16
		values []string
		want   string
	}{
		{name: "empty", qtype: dns.TypeA, want: "[]"},
		{name: "addresses", qtype: dns.TypeA, values: []string{"192.0.2.1", "192.0.2.2"}, want: "[192.0.2.1, 192.0.2.2]"},
		{
			name:   "at most ten",
			qtype:  dns.TypeA,
			values: many,
			want:   "[" + strings.Join(many[:10], ", ") + " and 2 more]",
		},
		{
			name:   "TXT quoted and cut",
			qtype:  dns.TypeTXT,
			values: []string{"a, b", strings.Repeat("k", 150)},
			want:   `["a, b", "` + strings.Repeat("k", 100) + `" and 50 more bytes]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := valueList(tt.qtype, tt.values); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
