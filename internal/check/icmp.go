package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"

	probing "github.com/prometheus-community/pro-bing"
)

// Limits and defaults of ICMP checks.
const (
	// DefaultPackets is how many echo requests a check sends when
	// ICMPRequest.Packets is zero.
	DefaultPackets = 3
	// MaxPackets is how many echo requests a check sends at most.
	MaxPackets = 100

	// maxPingInterval is the longest wait between two echo requests; a
	// check sends them faster when its timeout is short, so that all are
	// sent in the first half of it and the replies have the other half.
	maxPingInterval = time.Second
	minPingInterval = time.Millisecond
)

// errICMPNotPermitted is the message of a check this process may not ping
// from.
const errICMPNotPermitted = `ICMP is not permitted for this process: allow unprivileged ping with sysctl net.ipv4.ping_group_range="0 2147483647" or run with CAP_NET_RAW`

// ICMPRequest describes one ICMP check: a few echo requests to one host.
type ICMPRequest struct {
	Host    string // a name or an address
	Packets int    // echo requests sent; 0 means DefaultPackets (3)
	// Timeout bounds the whole check, from DNS to the last reply awaited;
	// 0 means DefaultTimeout. A deadline of the check's context that comes
	// sooner wins.
	Timeout time.Duration
	// IPVersion is "4" or "6" to ping over that version only; "" pings the
	// first IPv4 address of Host, or its first address when it has none.
	IPVersion string
}

// ICMPResult is what an ICMP check found, with the figures of its echoes.
type ICMPResult struct {
	Result
	Sent, Received         int
	MinRTT, AvgRTT, MaxRTT time.Duration // zero when no reply came
}

// ICMP runs ICMP (ping) checks. It is safe for concurrent use by many
// goroutines.
//
// A check pings from an unprivileged ICMP socket (Linux's ping sockets,
// open to the groups in sysctl net.ipv4.ping_group_range) and, where the
// kernel refuses one, from a raw socket, which needs CAP_NET_RAW. When
// neither may be opened, checks fail with KindUnsupported and say how to
// allow them.
type ICMP struct {
	guard *Guard
	// raw lists the kinds of socket tried in turn: false for a ping
	// socket, true for a raw one.
	raw []bool
}

// NewICMP returns an ICMP checker. A check whose host has an address guard
// refuses fails with KindBlocked, and nothing is sent; a nil guard allows
// every address.
func NewICMP(guard *Guard) *ICMP {
	return &ICMP{guard: guard, raw: []bool{false, true}}
}

// Check runs one ICMP check and returns its Result (see CheckDetailed).
func (c *ICMP) Check(ctx context.Context, req ICMPRequest) Result {
	return c.CheckDetailed(ctx, req).Result
}

// CheckDetailed runs one ICMP check. It returns within the request's
// timeout (or ctx's deadline when sooner). A check is OK when a reply came
// to at least one echo request; Degraded, with Error saying how many, when
// some were lost; down with KindLoss when all were. Latency is the average
// round trip, or the time the check took when no reply came.
func (c *ICMP) CheckDetailed(ctx context.Context, req ICMPRequest) ICMPResult {
	start := time.Now()
	ctx, cancel, budget := withBudget(ctx, start, req.Timeout)
	defer cancel()
	var phases Phases
	fail := func(kind Kind, msg string) ICMPResult {
		return ICMPResult{Result: Result{Latency: time.Since(start), Phases: phases, ErrorKind: kind, Error: msg}}
	}

	packets := req.Packets
	if packets == 0 {
		packets = DefaultPackets
	}
	if packets < 0 || packets > MaxPackets {
		return fail(KindInvalid, fmt.Sprintf("packets %d must be between 1 and %d", packets, MaxPackets))
	}
	if req.Host == "" {
		return fail(KindInvalid, "host is required")
	}
	network, err := pingNetwork(req.Host, req.IPVersion)
	if err != nil {
		return fail(KindInvalid, err.Error())
	}

	addr, resolved, err := pingAddr(ctx, req.Host, network)
	if resolved {
		phases.DNS = time.Since(start)
	}
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.Canceled):
			return fail(KindTimeout, "canceled: resolving name")
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return fail(KindTimeout, "timeout after "+budget.String()+": resolving name")
		}
		return fail(KindDNS, err.Error())
	}
	if err := c.guard.Allowed(addr); err != nil {
		return fail(KindBlocked, err.Error())
	}

	res, err := c.ping(ctx, addr, packets)
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.Canceled):
			return fail(KindTimeout, "canceled: pinging")
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return fail(KindTimeout, "timeout after "+budget.String()+": pinging")
		}
		kind, msg := pingFailure(err)
		return fail(kind, msg)
	}
	res.Phases = phases
	if res.Received == 0 {
		res.Latency = time.Since(start)
	}
	return res
}

// ping sends packets echo requests to addr and judges what came back. It
// tries each kind of socket of c.raw in turn while the kernel refuses to
// open one.
func (c *ICMP) ping(ctx context.Context, addr netip.Addr, packets int) (ICMPResult, error) {
	deadline, _ := ctx.Deadline()
	var err error
	for _, raw := range c.raw {
		left := time.Until(deadline)
		if left <= 0 {
			return ICMPResult{}, context.DeadlineExceeded
		}
		p := probing.New("")
		p.SetIPAddr(&net.IPAddr{IP: addr.AsSlice(), Zone: addr.Zone()})
		p.SetPrivileged(raw)
		p.SetLogger(probing.NoopLogger{})
		p.Count = packets
		p.Timeout = left
		p.Interval = min(max(left/time.Duration(2*packets), minPingInterval), maxPingInterval)
		// The last send that failed, after the first (whose error ends the
		// run). Set by the pinger's goroutines, read once they are done.
		var sendErr error
		p.OnSendError = func(_ *probing.Packet, err error) { sendErr = err }
		err = p.RunWithContext(ctx)
		if socketRefused(err) {
			continue
		}
		// The deadline ends a check as its Timeout does: with what came back.
		if err != nil && !(errors.Is(err, context.DeadlineExceeded) && errors.Is(ctx.Err(), context.DeadlineExceeded)) {
			return ICMPResult{}, err
		}
		return pingVerdict(packets, p.Statistics(), sendErr), nil
	}
	return ICMPResult{}, err
}

// socketRefused reports whether err says the kernel refused to open an ICMP
// socket to this process: a ping socket to a group outside
// net.ipv4.ping_group_range, a raw socket without CAP_NET_RAW. A send
// refused by a firewall, also a permission error, is not that.
func socketRefused(err error) bool {
	sysErr, ok := errors.AsType[*os.SyscallError](err)
	return ok && sysErr.Syscall == "socket" && errors.Is(err, os.ErrPermission)
}

// pingVerdict judges a check that sent packets echo requests from its
// statistics; sendErr is the last error of a request that could not be
// sent, if any.
func pingVerdict(packets int, stats *probing.Statistics, sendErr error) ICMPResult {
	res := ICMPResult{Sent: stats.PacketsSent, Received: stats.PacketsRecv}
	if res.Received > 0 {
		res.MinRTT, res.AvgRTT, res.MaxRTT = stats.MinRtt, stats.AvgRtt, stats.MaxRtt
		res.Latency = stats.AvgRtt
		res.Detail = fmt.Sprintf("%d of %d received, round trip min/avg/max %.3f/%.3f/%.3f ms", res.Received, packets,
			msFloat(res.MinRTT), msFloat(res.AvgRTT), msFloat(res.MaxRTT))
	}
	lost := max(packets-res.Received, 0)
	res.OK = res.Received > 0
	res.Degraded = res.OK && lost > 0
	if lost > 0 {
		res.Error = strconv.Itoa(lost) + " of " + strconv.Itoa(packets) + " packets lost"
		if sendErr != nil {
			res.Error += ": " + opCause(sendErr).Error()
		}
	}
	if !res.OK {
		res.ErrorKind = KindLoss
	}
	return res
}

// pingFailure says why a check could not ping, in a short message that
// keeps the cause.
func pingFailure(err error) (Kind, string) {
	switch cause := opCause(err); {
	case socketRefused(err):
		return KindUnsupported, errICMPNotPermitted
	case errors.Is(err, syscall.EAFNOSUPPORT), errors.Is(err, syscall.EPROTONOSUPPORT):
		return KindUnsupported, "pinging: " + cause.Error() // no IPv6 here, say
	default:
		return KindConnection, "pinging: " + cause.Error()
	}
}

// opCause drops the addresses of a *net.OpError, which name the local end.
func opCause(err error) error {
	if opErr, ok := errors.AsType[*net.OpError](err); ok && opErr.Err != nil {
		return opErr.Err
	}
	return err
}

// pingNetwork returns the network, for net.Resolver.LookupNetIP, of a
// check of host over IP version v.
func pingNetwork(host, v string) (string, error) {
	var network string
	switch v {
	case "":
		return "ip", nil
	case "4":
		network = "ip4"
	case "6":
		network = "ip6"
	default:
		return "", fmt.Errorf("IP version %q must be 4, 6 or empty", v)
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Unmap().Is4() != (v == "4") {
		return "", fmt.Errorf("%s is not an IPv%s address", host, v)
	}
	return network, nil
}

// pingAddr returns the address of host to ping on network, and whether it
// had to be resolved. Over "ip", the first IPv4 address is preferred: it is
// the more likely to be reachable.
func pingAddr(ctx context.Context, host, network string) (addr netip.Addr, resolved bool, err error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), false, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	if err != nil {
		return netip.Addr{}, true, err
	}
	if len(addrs) == 0 {
		return netip.Addr{}, true, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return a.Unmap(), true, nil
		}
	}
	return addrs[0], true, nil
}

func msFloat(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
