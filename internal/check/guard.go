package check

import (
	"net"
	"net/netip"
	"syscall"
)

// Guard keeps checks from reaching addresses that are not on the public
// internet: loopback, private networks, link-local (where clouds serve
// instance metadata and credentials) and the other special-purpose ranges of
// the IANA registries, in whatever IPv6 form they are written. Without it,
// whoever can create a monitor can make the worker probe the network it runs
// in (server-side request forgery).
//
// A Guard vets the address each connection is really made to, once the name
// was resolved, through Control. A name that resolves to a private address,
// a name whose answers change between the check's lookups (DNS rebinding)
// and a redirect to a private address are refused alike, since every
// connection, and so every redirect hop, is dialled anew. Every prober that
// dials (HTTP today; TCP, DNS and TLS checks and notification webhooks
// alike) sets its net.Dialer's Control to Guard.Control, and dials its
// target directly, never through a proxy, which the Guard would vet instead
// of the target.
//
// A nil Guard, or one built with blockPrivate false, allows everything:
// self-hosters monitor their own networks. A Guard is safe for concurrent
// use.
type Guard struct {
	block bool
	// allow holds the addresses Control lets through although Allowed
	// refuses them; only tests fill it (see allowForTest).
	allow map[netip.AddrPort]struct{}
}

// NewGuard returns a Guard that refuses every address that is not publicly
// routable when blockPrivate is true, and allows everything otherwise.
func NewGuard(blockPrivate bool) *Guard {
	return &Guard{block: blockPrivate}
}

// BlockedError is the error of a connection a Guard refused.
type BlockedError struct {
	Target string // the address refused, without its port: "10.0.0.5", "fe80::1%eth0"
	Reason string // what Target is: "a private address"
}

// Error says what was refused and why:
// "blocked target: 10.0.0.5 is a private address".
func (e *BlockedError) Error() string {
	return "blocked target: " + e.Target + " is " + e.Reason
}

// enabled reports whether g refuses anything.
func (g *Guard) enabled() bool {
	return g != nil && g.block
}

// Allowed returns nil when ip may be checked, and a *BlockedError saying
// which special-purpose range it falls in otherwise. An IPv6 address that
// carries an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4,
// Teredo) is refused when that IPv4 address would be. A zone is ignored:
// fe80::1%eth0 is link-local.
func (g *Guard) Allowed(ip netip.Addr) error {
	if !g.enabled() {
		return nil
	}
	if reason := blockedReason(ip.WithZone("")); reason != "" {
		return &BlockedError{Target: ip.String(), Reason: reason}
	}
	return nil
}

// Control refuses, with a *BlockedError, a connection to an address Allowed
// refuses. It has the signature of net.Dialer.Control, which calls it with
// the IP address and port being dialled, once per address tried, after name
// resolution and before connecting. Anything else it is given, such as a
// Unix socket's path, is refused when g is enabled.
//
// Control is for dialers: a socket that is not connected (net.ListenPacket)
// is given to it with its local address, so a prober that sends datagrams
// without connecting vets each destination with Allowed instead.
func (g *Guard) Control(_, address string, _ syscall.RawConn) error {
	if !g.enabled() {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		target := address
		if host, _, err := net.SplitHostPort(address); err == nil {
			target = host
		}
		return &BlockedError{Target: target, Reason: "not an IP address"}
	}
	if _, ok := g.allow[ap]; ok {
		return nil
	}
	return g.Allowed(ap.Addr())
}

// allowForTest makes Control let ap through, so that a test can reach one
// local server with the guard on. It must be called before g is used.
func (g *Guard) allowForTest(ap netip.AddrPort) {
	if g.allow == nil {
		g.allow = make(map[netip.AddrPort]struct{})
	}
	g.allow[ap] = struct{}{}
}

// blockedRange is a special-purpose range a Guard refuses.
type blockedRange struct {
	prefix netip.Prefix
	what   string // completes "… is ": "a private address"
}

// blockedRanges are the ranges a Guard refuses, a range before any that
// contains it so that the more specific name is given. Most come from the
// IANA IPv4 and IPv6 Special-Purpose Address Registries (those not globally
// reachable); the ranges that carry IPv4 addresses are handled by
// embeddedIPv4 instead.
var blockedRanges = []blockedRange{
	{netip.MustParsePrefix("0.0.0.0/32"), "an unspecified address"},
	{netip.MustParsePrefix("0.0.0.0/8"), `a "this network" address`},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.100.100.200/32"), "a cloud metadata address"}, // Alibaba Cloud
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (CGNAT) address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.169.254/32"), "a cloud metadata address"}, // AWS, GCP, Azure and others
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.192/32"), "a cloud metadata address"}, // Oracle Cloud
	{netip.MustParsePrefix("192.0.0.0/24"), "a reserved address"},         // IETF protocol assignments
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("255.255.255.255/32"), "a broadcast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},

	{netip.MustParsePrefix("::/128"), "an unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},
	{netip.MustParsePrefix("2001:2::/48"), "a benchmarking address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("3fff::/20"), "a documentation address"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "a cloud metadata address"}, // AWS
	{netip.MustParsePrefix("fc00::/7"), "a unique-local address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// blockedReason says what ip is when a Guard refuses it, and returns ""
// otherwise. ip has no zone: a prefix contains no address with one.
func blockedReason(ip netip.Addr) string {
	if !ip.IsValid() {
		return "not an IP address"
	}
	if ip.Is4In6() {
		v4 := ip.Unmap()
		if reason := blockedReason(v4); reason != "" {
			return "an IPv4-mapped form of " + v4.String() + ", " + reason
		}
		return ""
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(ip) {
			return r.what
		}
	}
	form, carried := embeddedIPv4(ip)
	for _, v4 := range carried {
		if !v4.IsValid() {
			continue
		}
		if reason := blockedReason(v4); reason != "" {
			return form + " form of " + v4.String() + ", " + reason
		}
	}
	return ""
}

// embeddedIPv4 returns the IPv4 addresses an IPv6 address carries for a
// transition mechanism, which packets to it may reach, and the mechanism's
// name with its article ("a NAT64"); the addresses are invalid when ip
// carries none. IPv4-mapped
// addresses are left to the caller.
func embeddedIPv4(ip netip.Addr) (form string, carried [2]netip.Addr) {
	if !ip.Is6() {
		return "", carried
	}
	a := ip.As16()
	v4 := func(b []byte) netip.Addr { return netip.AddrFrom4([4]byte(b)) }
	switch {
	case ipv4Compatible.Contains(ip): // deprecated by RFC 4291
		carried[0] = v4(a[12:])
		return "an IPv4-compatible", carried
	case nat64.Contains(ip): // the well-known prefix of RFC 6052
		carried[0] = v4(a[12:])
		return "a NAT64", carried
	case sixToFour.Contains(ip): // RFC 3056
		carried[0] = v4(a[2:6])
		return "a 6to4", carried
	case teredo.Contains(ip): // RFC 4380: the server, and the client obfuscated
		client := [4]byte{^a[12], ^a[13], ^a[14], ^a[15]}
		carried[0], carried[1] = v4(a[4:8]), netip.AddrFrom4(client)
		return "a Teredo", carried
	}
	return "", carried
}

// The prefixes of IPv6 addresses that carry an IPv4 address.
var (
	ipv4Compatible = netip.MustParsePrefix("::/96")
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	teredo         = netip.MustParsePrefix("2001::/32")
)
