package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// Limits of DNS checks.
const (
	// ednsBufferSize is the UDP answer size a query offers (the DNS Flag Day
	// 2020 value): larger answers come truncated and are asked again over
	// TCP.
	ednsBufferSize = 1232
	// maxListedValues is how many values a mismatch message lists.
	maxListedValues = 10
	// resolvConf is where the system's nameservers are read from.
	resolvConf = "/etc/resolv.conf"
	// resolvConfTTL is how long the nameservers read from resolvConf are
	// used before it is read again, as Go's own resolver does.
	resolvConfTTL = 5 * time.Second
)

// recordTypes are the record types a DNS check asks for, by name.
var recordTypes = map[string]uint16{
	"A":     dns.TypeA,
	"AAAA":  dns.TypeAAAA,
	"CNAME": dns.TypeCNAME,
	"MX":    dns.TypeMX,
	"TXT":   dns.TypeTXT,
	"NS":    dns.TypeNS,
	"SOA":   dns.TypeSOA,
}

// ParseRecordType returns the DNS type code of a record type a DNS check
// can ask for: A, AAAA, CNAME, MX, TXT, NS or SOA, in any case. Its error
// completes a sentence about the field: "must be one of …".
func ParseRecordType(s string) (uint16, error) {
	if t, ok := recordTypes[strings.ToUpper(s)]; ok {
		return t, nil
	}
	return 0, errors.New("must be one of A, AAAA, CNAME, MX, TXT, NS, SOA")
}

// DNSRequest describes one DNS check: a query for one name and type.
type DNSRequest struct {
	Name string
	Type string // A, AAAA, CNAME, MX, TXT, NS or SOA (see ParseRecordType)
	// Resolver is the server asked: "host" or "host:port", the port 53 by
	// default, an IPv6 address in brackets when a port follows. "" means
	// the nameservers of /etc/resolv.conf, in turn until one answers (with
	// any code): each has its share of the time left.
	Resolver string
	// Timeout bounds the whole check, every server tried and the retry over
	// TCP included; 0 means DefaultTimeout. A deadline of the check's
	// context that comes sooner wins.
	Timeout time.Duration
	// Expected are values the answer must hold, in the form described on
	// DNS; any case and trailing dots do not matter. Empty accepts any
	// answer that holds a record of the type asked for.
	Expected []string
	// MatchAll requires every Expected value in the answer instead of at
	// least one.
	MatchAll bool
}

// DNS runs DNS checks. It is safe for concurrent use by many goroutines.
//
// A check asks over UDP, and again over TCP when the answer was truncated.
// The values of the records of the type asked for are compared with the
// expected ones in this form: A and AAAA the address ("2001:db8::1"), CNAME
// and NS the name in lower case without its trailing dot, MX "10
// mail.example.com", TXT the record's strings joined (as presented by
// miekg/dns: `"` and `\` escaped), SOA "ns.example.com
// hostmaster.example.com 2024010101".
type DNS struct {
	guard *Guard
	// nameservers reads the system's nameservers, host:port, in the order
	// they are tried.
	nameservers func() ([]string, error)

	mu      sync.Mutex // guards the cache of nameservers
	servers []string
	readAt  time.Time
	readErr error
}

// NewDNS returns a DNS checker. A check whose Resolver has an address guard
// refuses fails with KindBlocked; a nil guard allows every address. The
// system's nameservers, which the operator chose, are not vetted.
func NewDNS(guard *Guard) *DNS {
	return &DNS{guard: guard, nameservers: readResolvConf}
}

// Check runs one DNS check. It returns within the request's timeout (or
// ctx's deadline when sooner), whatever the servers do. A check is OK when
// the answer holds records of the type asked for and, with Expected, the
// values expected. NXDOMAIN, SERVFAIL, any other error code and an empty
// answer fail with KindDNS; unexpected values with KindMismatch.
func (d *DNS) Check(ctx context.Context, req DNSRequest) Result {
	start := time.Now()
	ctx, cancel, budget := withBudget(ctx, start, req.Timeout)
	defer cancel()
	result := func(kind Kind, msg string) Result {
		return Result{OK: kind == KindNone, Latency: time.Since(start), ErrorKind: kind, Error: msg}
	}

	qtype, err := ParseRecordType(req.Type)
	if err != nil {
		return result(KindInvalid, "record type "+strconv.Quote(req.Type)+" "+err.Error())
	}
	name := strings.TrimSuffix(req.Name, ".") // as messages show it
	if _, ok := dns.IsDomainName(req.Name); !ok || name == "" {
		return result(KindInvalid, "name "+strconv.Quote(req.Name)+" is not a valid domain name")
	}
	servers, guarded := []string(nil), false
	if req.Resolver == "" {
		if servers, err = d.systemNameservers(); err != nil {
			return result(KindUnsupported, "system resolver: "+err.Error())
		}
	} else {
		addr, err := resolverAddr(req.Resolver)
		if err != nil {
			return result(KindInvalid, err.Error())
		}
		servers, guarded = []string{addr}, true
	}

	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(req.Name), qtype)
	m.SetEdns0(ednsBufferSize, false)
	deadline, _ := ctx.Deadline()
	var r *dns.Msg
	for i, server := range servers {
		// Each server gets its share of the time left, so that one that
		// does not answer leaves time for the next.
		share := time.Until(deadline) / time.Duration(len(servers)-i)
		r, err = d.query(ctx, time.Now().Add(share), server, m, guarded)
		if err == nil {
			break
		}
		if _, blocked := errors.AsType[*BlockedError](err); blocked || ctx.Err() != nil || i == len(servers)-1 {
			kind, msg := dnsFailure(ctx, err, budget, server)
			return result(kind, msg)
		}
	}

	typ := dns.TypeToString[qtype]
	if r.Rcode != dns.RcodeSuccess {
		return result(KindDNS, rcodeMessage(r.Rcode, typ, name))
	}
	values := answerValues(r, qtype)
	if len(values) == 0 {
		return result(KindDNS, "no "+typ+" record for "+name+" (NOERROR)")
	}
	if len(req.Expected) > 0 && !expectedIn(qtype, req.Expected, values, req.MatchAll) {
		which := "any"
		if req.MatchAll {
			which = "all"
		}
		return result(KindMismatch, "expected "+which+" of "+valueList(qtype, req.Expected)+", got "+valueList(qtype, values))
	}
	res := result(KindNone, "")
	res.Detail = typ + " " + valueList(qtype, values)
	return res
}

// query asks server m by deadline, over UDP and then, when the answer was
// truncated, over TCP. guarded makes the guard vet the server's address.
func (d *DNS) query(ctx context.Context, deadline time.Time, server string, m *dns.Msg, guarded bool) (*dns.Msg, error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	r, err := d.exchange(ctx, "udp", server, m, guarded)
	if err == nil && r.Truncated {
		return d.exchange(ctx, "tcp", server, m, guarded)
	}
	return r, err
}

// exchange sends m to server over network and reads the answer, all within
// ctx's deadline.
func (d *DNS) exchange(ctx context.Context, network, server string, m *dns.Msg, guarded bool) (*dns.Msg, error) {
	deadline, _ := ctx.Deadline()
	dialer := &net.Dialer{Deadline: deadline, KeepAlive: -1}
	if guarded && d.guard.enabled() {
		// A UDP socket is connected too, so Control sees the server's
		// address.
		dialer.Control = d.guard.Control
	}
	// The client sets the connection's deadlines from ctx's; Timeout only
	// keeps it from cutting them to its 2 s default.
	c := &dns.Client{Net: network, Dialer: dialer, Timeout: max(time.Until(deadline), time.Millisecond)}
	co, err := c.DialContext(ctx, server)
	if err != nil {
		return nil, err
	}
	defer co.Close()
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.Canceled) { // a deadline is on the connection already
			co.Close()
		}
	})
	defer stop()
	r, _, err := c.ExchangeWithConnContext(ctx, m, co)
	return r, err
}

// systemNameservers returns the nameservers of the system, read again once
// resolvConfTTL has passed.
func (d *DNS) systemNameservers() ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.readAt.IsZero() || time.Since(d.readAt) > resolvConfTTL {
		d.servers, d.readErr = d.nameservers()
		if d.readErr == nil && len(d.servers) == 0 {
			d.readErr = errors.New("no nameserver in " + resolvConf)
		}
		d.readAt = time.Now()
	}
	return d.servers, d.readErr
}

// readResolvConf returns the nameservers of resolvConf, host:port.
func readResolvConf() ([]string, error) {
	f, err := os.Open(resolvConf)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseResolvConf(f)
}

// parseResolvConf returns the nameservers of a resolv.conf file, host:port,
// in their order.
func parseResolvConf(r io.Reader) ([]string, error) {
	cfg, err := dns.ClientConfigFromReader(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", resolvConf, err)
	}
	if len(cfg.Servers) == 0 {
		return nil, errors.New("no nameserver in " + resolvConf)
	}
	servers := make([]string, len(cfg.Servers))
	for i, s := range cfg.Servers {
		servers[i] = net.JoinHostPort(s, cfg.Port)
	}
	return servers, nil
}

// resolverAddr returns the host:port of DNSRequest.Resolver s, port 53
// unless s gives one.
func resolverAddr(s string) (string, error) {
	if a, err := netip.ParseAddr(s); err == nil { // IPv6 without brackets
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	if inner, ok := strings.CutPrefix(s, "["); ok && strings.HasSuffix(inner, "]") {
		a, err := netip.ParseAddr(strings.TrimSuffix(inner, "]"))
		if err != nil {
			return "", fmt.Errorf("resolver %q is not a valid address", s)
		}
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, "53"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("resolver %q: port must be between 1 and 65535", s)
	}
	if _, err := netip.ParseAddr(host); err != nil {
		if _, ok := dns.IsDomainName(host); !ok || host == "" || strings.ContainsAny(host, ":[] \t") {
			return "", fmt.Errorf("resolver %q must be host or host:port", s)
		}
	}
	return net.JoinHostPort(host, port), nil
}

// dnsFailure says why asking server failed with err, in a short message
// that keeps the cause. ctx is the check's context.
func dnsFailure(ctx context.Context, err error, budget time.Duration, server string) (Kind, string) {
	if blocked, ok := errors.AsType[*BlockedError](err); ok {
		return KindBlocked, blocked.Error()
	}
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return KindTimeout, "canceled: asking " + server
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return KindTimeout, "timeout after " + budget.String() + ": no answer from " + server
	}
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok { // the resolver's own name
		return KindDNS, dnsErr.Error()
	}
	if netErr, ok := errors.AsType[net.Error](err); ok && netErr.Timeout() {
		return KindTimeout, "timeout after " + budget.String() + ": no answer from " + server
	}
	// Leave out the connection's addresses: the local port differs each
	// time, and server is said once.
	cause := err
	if opErr, ok := errors.AsType[*net.OpError](err); ok && opErr.Err != nil {
		cause = opErr.Err
	}
	switch _, isNet := errors.AsType[*net.OpError](err); {
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused, server + ": " + cause.Error()
	case isNet || isConnectionError(err):
		return KindConnection, server + ": " + cause.Error()
	}
	return KindDNS, server + ": " + cause.Error() // a malformed answer
}

// rcodeMessage says what a server's answer code means for a query of typ
// for name.
func rcodeMessage(rcode int, typ, name string) string {
	code, ok := dns.RcodeToString[rcode]
	if !ok {
		code = "RCODE " + strconv.Itoa(rcode)
	}
	if rcode == dns.RcodeNameError {
		return code + ": " + name + " does not exist"
	}
	return code + ": no answer for " + typ + " " + name
}

// answerValues returns the values of the records of type qtype in r's
// answer, sorted so that messages read the same whatever order the server
// chose.
func answerValues(r *dns.Msg, qtype uint16) []string {
	var values []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype != qtype {
			continue // the CNAMEs that led to the answer
		}
		switch rr := rr.(type) {
		case *dns.A:
			if a, ok := netip.AddrFromSlice(rr.A.To4()); ok {
				values = append(values, a.String())
			}
		case *dns.AAAA:
			if a, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok {
				values = append(values, a.String())
			}
		case *dns.CNAME:
			values = append(values, hostName(rr.Target))
		case *dns.NS:
			values = append(values, hostName(rr.Ns))
		case *dns.MX:
			values = append(values, strconv.Itoa(int(rr.Preference))+" "+hostName(rr.Mx))
		case *dns.TXT:
			values = append(values, strings.Join(rr.Txt, ""))
		case *dns.SOA:
			values = append(values, hostName(rr.Ns)+" "+hostName(rr.Mbox)+" "+strconv.FormatUint(uint64(rr.Serial), 10))
		}
	}
	slices.Sort(values)
	return values
}

// hostName writes a domain name from an answer as people do: lower case,
// without the trailing dot (the root stays ".").
func hostName(s string) string {
	if s == "." {
		return s
	}
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

// expectedIn reports whether values hold any of expected (all of them when
// all is set), compared in the form valueKey gives.
func expectedIn(qtype uint16, expected, values []string, all bool) bool {
	have := make(map[string]bool, len(values))
	for _, v := range values {
		have[valueKey(qtype, v)] = true
	}
	for _, e := range expected {
		found := have[valueKey(qtype, e)]
		if found != all {
			return found // any: one found; all: one missing
		}
	}
	return all
}

// valueKey is the form in which values of type qtype compare: lower case,
// without trailing dots, addresses in their canonical form and the fields
// of MX and SOA values one space apart.
func valueKey(qtype uint16, v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	switch qtype {
	case dns.TypeA, dns.TypeAAAA:
		if a, err := netip.ParseAddr(v); err == nil {
			return a.String()
		}
	case dns.TypeMX, dns.TypeSOA:
		fields := strings.Fields(v)
		for i, f := range fields {
			fields[i] = hostName(f)
		}
		return strings.Join(fields, " ")
	}
	return hostName(v)
}

// valueList writes values for a message: "[192.0.2.1, 192.0.2.2]", TXT
// values quoted and cut, at most maxListedValues of them.
func valueList(qtype uint16, values []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range values {
		if i == maxListedValues {
			b.WriteString(" and " + strconv.Itoa(len(values)-i) + " more")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if qtype == dns.TypeTXT {
			v = answerExcerpt([]byte(v))
		}
		b.WriteString(v)
	}
	b.WriteByte(']')
	return b.String()
}
