package check

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	probing "github.com/prometheus-community/pro-bing"
)

// icmpSockets reports which kinds of ICMP socket this process may open: a
// ping socket (net.ipv4.ping_group_range) and a raw one (CAP_NET_RAW).
// Checks are expected to succeed or to fail with KindUnsupported
// accordingly: tests assert either, never skip.
func icmpSockets(t *testing.T) (ping, raw bool) {
	t.Helper()
	open := func(typ int) bool {
		fd, err := syscall.Socket(syscall.AF_INET, typ, syscall.IPPROTO_ICMP)
		if errors.Is(err, os.ErrPermission) {
			return false
		}
		if err != nil {
			t.Fatalf("open an ICMP socket: %v", err)
		}
		syscall.Close(fd)
		return true
	}
	ping, raw = open(syscall.SOCK_DGRAM), open(syscall.SOCK_RAW)
	t.Logf("this process may open ICMP sockets: ping %v, raw %v", ping, raw)
	return ping, raw
}

func TestICMPCheck(t *testing.T) {
	t.Parallel()
	ping, raw := icmpSockets(t)

	tests := []struct {
		name    string
		sockets []bool // nil: as NewICMP tries them
		req     ICMPRequest
		allowed bool // whether this process may ping with sockets
		dns     bool // whether the host is a name
	}{
		{name: "loopback", req: ICMPRequest{Host: "127.0.0.1"}, allowed: ping || raw},
		{name: "ping socket only", sockets: []bool{false}, req: ICMPRequest{Host: "127.0.0.1"}, allowed: ping},
		{name: "raw socket only", sockets: []bool{true}, req: ICMPRequest{Host: "127.0.0.1"}, allowed: raw},
		{name: "one packet", req: ICMPRequest{Host: "127.0.0.1", Packets: 1}, allowed: ping || raw},
		{name: "IPv4 only", req: ICMPRequest{Host: "127.0.0.1", IPVersion: "4"}, allowed: ping || raw},
		{name: "host name", req: ICMPRequest{Host: "localhost", IPVersion: "4"}, allowed: ping || raw, dns: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewICMP(nil)
			if tt.sockets != nil {
				c.raw = tt.sockets
			}
			req := tt.req
			req.Timeout = 2 * time.Second
			packets := req.Packets
			if packets == 0 {
				packets = DefaultPackets
			}

			got := c.CheckDetailed(t.Context(), req)

			if tt.dns != (got.Phases.DNS > 0) {
				t.Errorf("DNS phase %v, want > 0: %v", got.Phases.DNS, tt.dns)
			}
			if !tt.allowed {
				if got.OK || got.ErrorKind != KindUnsupported || got.Error != errICMPNotPermitted {
					t.Errorf("got OK %v, kind %q, error %q; want kind %q, error %q",
						got.OK, got.ErrorKind, got.Error, KindUnsupported, errICMPNotPermitted)
				}
				return
			}
			if !got.OK || got.Degraded || got.ErrorKind != KindNone || got.Error != "" {
				t.Fatalf("got OK %v, degraded %v, kind %q, error %q; want OK", got.OK, got.Degraded, got.ErrorKind, got.Error)
			}
			if got.Sent != packets || got.Received != packets {
				t.Errorf("sent %d, received %d; want %d each", got.Sent, got.Received, packets)
			}
			if got.MinRTT <= 0 || got.MinRTT > got.AvgRTT || got.AvgRTT > got.MaxRTT || got.Latency != got.AvgRTT {
				t.Errorf("min %v, avg %v, max %v, latency %v; want 0 < min <= avg = latency <= max",
					got.MinRTT, got.AvgRTT, got.MaxRTT, got.Latency)
			}
			if r := c.Check(t.Context(), req); r.OK != got.OK || r.ErrorKind != got.ErrorKind {
				t.Errorf("Check got OK %v, kind %q; CheckDetailed %v, %q", r.OK, r.ErrorKind, got.OK, got.ErrorKind)
			}
		})
	}
}

func TestICMPCheckFails(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		guard    *Guard
		req      ICMPRequest
		wantKind Kind
		wantErr  string // a prefix: resolvers word their errors their own way
	}{
		{
			name:     "blocked address",
			guard:    NewGuard(true),
			req:      ICMPRequest{Host: "127.0.0.1"},
			wantKind: KindBlocked,
			wantErr:  "blocked target: 127.0.0.1 is a loopback address",
		},
		{
			name:     "name that resolves to a blocked address",
			guard:    NewGuard(true),
			req:      ICMPRequest{Host: "localhost"},
			wantKind: KindBlocked,
			wantErr:  "blocked target: ",
		},
		{
			name:     "unresolvable name",
			req:      ICMPRequest{Host: "nonexistent.invalid"},
			wantKind: KindDNS,
			wantErr:  "lookup nonexistent.invalid",
		},
		{
			name:     "no host",
			req:      ICMPRequest{},
			wantKind: KindInvalid,
			wantErr:  "host is required",
		},
		{
			name:     "unknown IP version",
			req:      ICMPRequest{Host: "127.0.0.1", IPVersion: "5"},
			wantKind: KindInvalid,
			wantErr:  `IP version "5" must be 4, 6 or empty`,
		},
		{
			name:     "address of the other IP version",
			req:      ICMPRequest{Host: "127.0.0.1", IPVersion: "6"},
			wantKind: KindInvalid,
			wantErr:  "127.0.0.1 is not an IPv6 address",
		},
		{
			name:     "too many packets",
			req:      ICMPRequest{Host: "127.0.0.1", Packets: MaxPackets + 1},
			wantKind: KindInvalid,
			wantErr:  "packets 101 must be between 1 and 100",
		},
		{
			name:     "negative packets",
			req:      ICMPRequest{Host: "127.0.0.1", Packets: -1},
			wantKind: KindInvalid,
			wantErr:  "packets -1 must be between 1 and 100",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := tt.req
			req.Timeout = 10 * time.Second

			got := NewICMP(tt.guard).CheckDetailed(t.Context(), req)

			if got.OK || got.ErrorKind != tt.wantKind || !strings.HasPrefix(got.Error, tt.wantErr) {
				t.Errorf("got OK %v, kind %q, error %q; want kind %q, error %q", got.OK, got.ErrorKind, got.Error, tt.wantKind, tt.wantErr)
			}
			if got.Sent != 0 {
				t.Errorf("sent %d packets, want none", got.Sent)
			}
		})
	}
}

// No host answers none of its echoes here, so this runs the other bound:
// more packets than fit in the timeout at the usual interval.
func TestICMPCheckTimeout(t *testing.T) {
	t.Parallel()
	ping, raw := icmpSockets(t)
	const timeout = 300 * time.Millisecond

	start := time.Now()
	got := NewICMP(nil).CheckDetailed(t.Context(), ICMPRequest{Host: "127.0.0.1", Packets: MaxPackets, Timeout: timeout})
	elapsed := time.Since(start)

	switch {
	case !ping && !raw:
		if got.ErrorKind != KindUnsupported {
			t.Errorf("got kind %q (%s), want %q", got.ErrorKind, got.Error, KindUnsupported)
		}
	case !got.OK || got.Sent == 0 || got.Received == 0:
		t.Errorf("got OK %v, kind %q, error %q, sent %d, received %d; want replies", got.OK, got.ErrorKind, got.Error, got.Sent, got.Received)
	}
	if elapsed > timeout+slack {
		t.Errorf("check returned after %v, timeout %v", elapsed, timeout)
	}
}

func TestICMPCheckCanceled(t *testing.T) {
	t.Parallel()

	tests := []struct {
		host    string
		wantErr string
	}{
		{host: "127.0.0.1", wantErr: "canceled: pinging"},
		{host: "localhost", wantErr: "canceled: resolving name"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			cancel()

			got := NewICMP(nil).CheckDetailed(ctx, ICMPRequest{Host: tt.host, Timeout: time.Minute})

			if got.OK || got.ErrorKind != KindTimeout || got.Error != tt.wantErr {
				t.Errorf("got OK %v, kind %q, error %q; want kind %q, error %q", got.OK, got.ErrorKind, got.Error, KindTimeout, tt.wantErr)
			}
		})
	}
}

// Loss cannot be caused on loopback, so its verdicts are tested alone.
func TestPingVerdict(t *testing.T) {
	t.Parallel()
	unreachable := &net.OpError{Op: "write", Net: "ip4:icmp", Err: os.NewSyscallError("sendto", syscall.ENETUNREACH)}

	tests := []struct {
		name    string
		stats   probing.Statistics
		sendErr error
		want    ICMPResult
	}{
		{
			name:  "all replies",
			stats: probing.Statistics{PacketsSent: 3, PacketsRecv: 3, MinRtt: 1 * time.Millisecond, AvgRtt: 2 * time.Millisecond, MaxRtt: 3 * time.Millisecond},
			want: ICMPResult{
				Result: Result{OK: true, Latency: 2 * time.Millisecond, Detail: "3 of 3 received, round trip min/avg/max 1.000/2.000/3.000 ms"},
				Sent:   3, Received: 3, MinRTT: time.Millisecond, AvgRTT: 2 * time.Millisecond, MaxRTT: 3 * time.Millisecond,
			},
		},
		{
			name:  "some lost",
			stats: probing.Statistics{PacketsSent: 3, PacketsRecv: 2, MinRtt: 1 * time.Millisecond, AvgRtt: 2 * time.Millisecond, MaxRtt: 3 * time.Millisecond},
			want: ICMPResult{
				Result: Result{OK: true, Degraded: true, Latency: 2 * time.Millisecond, Error: "1 of 3 packets lost",
					Detail: "2 of 3 received, round trip min/avg/max 1.000/2.000/3.000 ms"},
				Sent: 3, Received: 2, MinRTT: time.Millisecond, AvgRTT: 2 * time.Millisecond, MaxRTT: 3 * time.Millisecond,
			},
		},
		{
			name:  "all lost",
			stats: probing.Statistics{PacketsSent: 3},
			want:  ICMPResult{Result: Result{ErrorKind: KindLoss, Error: "3 of 3 packets lost"}, Sent: 3},
		},
		{
			name:    "some not sent",
			stats:   probing.Statistics{PacketsSent: 1},
			sendErr: unreachable,
			want:    ICMPResult{Result: Result{ErrorKind: KindLoss, Error: "3 of 3 packets lost: sendto: network is unreachable"}, Sent: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := pingVerdict(3, &tt.stats, tt.sendErr); got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPingFailure(t *testing.T) {
	t.Parallel()
	listen := func(network string, errno syscall.Errno) error {
		return &net.OpError{Op: "listen", Net: network, Err: os.NewSyscallError("socket", errno)}
	}

	tests := []struct {
		name     string
		err      error
		wantKind Kind
		wantErr  string
	}{
		{
			name:     "ping socket refused",
			err:      os.NewSyscallError("socket", syscall.EACCES), // as golang.org/x/net/icmp opens one
			wantKind: KindUnsupported,
			wantErr:  errICMPNotPermitted,
		},
		{
			name:     "raw socket refused",
			err:      listen("ip4:icmp", syscall.EPERM),
			wantKind: KindUnsupported,
			wantErr:  errICMPNotPermitted,
		},
		{
			name:     "no IPv6",
			err:      os.NewSyscallError("socket", syscall.EAFNOSUPPORT),
			wantKind: KindUnsupported,
			wantErr:  "pinging: socket: address family not supported by protocol",
		},
		{
			name:     "send refused by a firewall",
			err:      &net.OpError{Op: "write", Net: "udp", Err: os.NewSyscallError("sendto", syscall.EPERM)},
			wantKind: KindConnection,
			wantErr:  "pinging: sendto: operation not permitted",
		},
		{
			name:     "network unreachable",
			err:      &net.OpError{Op: "write", Net: "udp", Err: os.NewSyscallError("sendto", syscall.ENETUNREACH)},
			wantKind: KindConnection,
			wantErr:  "pinging: sendto: network is unreachable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kind, msg := pingFailure(tt.err)
			if kind != tt.wantKind || msg != tt.wantErr {
				t.Errorf("got %q, %q; want %q, %q", kind, msg, tt.wantKind, tt.wantErr)
			}
		})
	}
}
