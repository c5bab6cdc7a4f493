// Package check runs probes against monitored targets and describes what
// happened in a structured Result. It knows nothing of Redis or SQL: the
// worker hands it a request and stores what it returns.
package check

import "time"

// Kind classifies why a check failed.
type Kind string

// The kinds of failure a check reports.
const (
	KindNone        Kind = ""
	KindTimeout     Kind = "timeout"     // the deadline passed
	KindDNS         Kind = "dns"         // the name did not resolve
	KindRefused     Kind = "refused"     // the connection was refused
	KindTLS         Kind = "tls"         // handshake or certificate failed
	KindStatus      Kind = "status"      // the status code was not expected
	KindRedirects   Kind = "redirects"   // too many redirects
	KindConnection  Kind = "connection"  // reset, unexpected EOF, unreachable network
	KindInvalid     Kind = "invalid"     // the request could not be built
	KindBlocked     Kind = "blocked"     // the Guard refused the target's address
	KindAssertion   Kind = "assertion"   // an assertion on the answer did not hold
	KindMismatch    Kind = "mismatch"    // the answer was not the expected one (TCP expect, DNS values)
	KindLoss        Kind = "loss"        // every ICMP echo was lost
	KindCert        Kind = "certificate" // the certificate is expired, not yet valid, or for another name
	KindNoPing      Kind = "no_ping"     // a heartbeat did not arrive in time
	KindUnsupported Kind = "unsupported" // the check cannot run here (e.g. no ICMP permission)
)

// Phases are the durations of the steps of one HTTP exchange (of its last
// hop when redirects were followed). A phase that did not happen is zero.
type Phases struct {
	DNS     time.Duration
	Connect time.Duration
	TLS     time.Duration
	TTFB    time.Duration // from the request being written to the first response byte
}

// Result is what one check found.
type Result struct {
	OK bool
	// Degraded marks a check that succeeded but is not healthy: slower than
	// its response-time assertion, some ICMP echoes lost, a certificate close
	// to expiry. Degraded implies OK; Error says why.
	Degraded   bool
	StatusCode int // 0 when no response arrived
	Latency    time.Duration
	Phases     Phases
	ErrorKind  Kind
	Error      string // the underlying message, empty when OK and not degraded
	// Detail holds the figures of a check that the other fields lack, for
	// people to read: ICMP packets received and round trips, the DNS answer.
	Detail string
	// CertExpiry is the leaf certificate's NotAfter for checks that made a
	// TLS connection; zero otherwise.
	CertExpiry time.Time
}
