package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// DefaultTLSPort is the port of a TLS check whose TLSRequest.Port is zero.
const DefaultTLSPort = 443

// TLSRequest describes one TLS certificate check.
type TLSRequest struct {
	Host       string
	Port       int    // 0 means DefaultTLSPort (443)
	ServerName string // sent as SNI and verified; "" means Host
	// Timeout bounds the whole check, from DNS to the end of the handshake;
	// 0 means DefaultTimeout. A deadline of the check's context that comes
	// sooner wins.
	Timeout time.Duration
	// WarnDays marks a valid certificate that expires within this many days
	// Degraded; 0 never does.
	WarnDays int
	// RootCAs are the roots the chain must lead to; nil means the system's.
	RootCAs *x509.CertPool
}

// TLS checks the certificate a TLS server presents. It is safe for
// concurrent use by many goroutines.
type TLS struct {
	guard *Guard
}

// NewTLS returns a TLS certificate checker. A check whose target has an
// address guard refuses fails with KindBlocked; a nil guard allows every
// address.
func NewTLS(guard *Guard) *TLS {
	return &TLS{guard: guard}
}

// Check runs one TLS certificate check. It returns within the request's
// timeout (or ctx's deadline when sooner), whatever the peer does. A check
// is OK when the handshake succeeded and the leaf certificate is valid now,
// names ServerName and chains to a trusted root; it fails with KindCert
// otherwise, and with KindTLS when the handshake itself failed. CertExpiry
// is the leaf certificate's whenever one was presented, valid or not.
func (t *TLS) Check(ctx context.Context, req TLSRequest) Result {
	start := time.Now()
	ctx, cancel, budget := withBudget(ctx, start, req.Timeout)
	defer cancel()
	p := &connProbe{budget: budget}

	port := req.Port
	if port == 0 {
		port = DefaultTLSPort
	}
	if err := validateTarget(req.Host, port); err != nil {
		return p.result(start, KindInvalid, err.Error())
	}
	serverName := req.ServerName
	if serverName == "" {
		serverName = req.Host
	}
	raw, err := p.dial(ctx, t.guard, net.JoinHostPort(req.Host, strconv.Itoa(port)))
	if err != nil {
		return p.fail(ctx, start, err)
	}
	defer raw.Close()

	// The chain is verified below, to say what is wrong with it in words of
	// our own and to learn the expiry of a certificate that fails. Nothing
	// is sent on the connection, so skipping crypto/tls's verification
	// exposes nothing; the handshake still proves the server holds the
	// leaf's key.
	tconn, err := p.handshake(ctx, raw, &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	if err != nil {
		return p.fail(ctx, start, err)
	}
	certs := tconn.ConnectionState().PeerCertificates
	if len(certs) == 0 { // crypto/tls refuses this; be safe anyway
		return p.result(start, KindTLS, "the server sent no certificate")
	}
	kind, msg, degraded := certVerdict(time.Now(), certs, serverName, req.RootCAs, req.WarnDays)
	res := p.result(start, kind, msg)
	res.Degraded = degraded
	res.CertExpiry = certs[0].NotAfter
	return res
}

// certVerdict judges the chain a server presented for serverName at now:
// the leaf certs[0] first, then the chain up to roots (the system's when
// nil). A valid leaf that expires within warnDays is degraded, with msg
// saying when.
func certVerdict(now time.Time, certs []*x509.Certificate, serverName string, roots *x509.CertPool, warnDays int) (kind Kind, msg string, degraded bool) {
	leaf := certs[0]
	switch {
	case now.After(leaf.NotAfter):
		return KindCert, "certificate expired " + wholeDays(now.Sub(leaf.NotAfter)) + " ago (" + utcDate(leaf.NotAfter) + ")", false
	case now.Before(leaf.NotBefore):
		return KindCert, "certificate becomes valid in " + wholeDays(leaf.NotBefore.Sub(now)) + " (" + utcDate(leaf.NotBefore) + ")", false
	}
	if err := leaf.VerifyHostname(serverName); err != nil {
		return KindCert, "certificate is for " + certNames(leaf) + ", not " + serverName, false
	}
	intermediates := x509.NewCertPool()
	for _, c := range certs[1:] {
		intermediates.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: intermediates, CurrentTime: now}
	if _, err := leaf.Verify(opts); err != nil {
		if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
			return KindCert, "certificate signed by an unknown authority (issuer " + strconv.Quote(issuerName(leaf)) + ")", false
		}
		return KindCert, err.Error(), false
	}
	if left := leaf.NotAfter.Sub(now); warnDays > 0 && left < time.Duration(warnDays)*24*time.Hour {
		return KindNone, "certificate expires in " + wholeDays(left) + " (" + utcDate(leaf.NotAfter) + ")", true
	}
	return KindNone, "", false
}

// wholeDays says how many whole days d is: "1 day", "12 days".
func wholeDays(d time.Duration) string {
	switch n := int64(d / (24 * time.Hour)); n {
	case 0:
		return "less than a day"
	case 1:
		return "1 day"
	default:
		return strconv.FormatInt(n, 10) + " days"
	}
}

// utcDate is the UTC day of t: "2026-12-01".
func utcDate(t time.Time) string {
	return t.UTC().Format(time.DateOnly)
}

// maxCertNames is how many of a certificate's names a message lists.
const maxCertNames = 3

// certNames lists the names a certificate is valid for:
// "a.example, b.example and 4 more".
func certNames(c *x509.Certificate) string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			names = append(names, a.Unmap().String())
		}
	}
	if len(names) == 0 {
		if c.Subject.CommonName != "" {
			// Go, like browsers, ignores the common name.
			return "no names (only the legacy common name " + strconv.Quote(c.Subject.CommonName) + ")"
		}
		return "no names"
	}
	if len(names) <= maxCertNames {
		if len(names) == 1 {
			return names[0]
		}
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
	return strings.Join(names[:maxCertNames], ", ") + " and " + strconv.Itoa(len(names)-maxCertNames) + " more"
}

// issuerName names the issuer of c as people know it: its common name, or
// its whole distinguished name when it has none.
func issuerName(c *x509.Certificate) string {
	if c.Issuer.CommonName != "" {
		return c.Issuer.CommonName
	}
	return c.Issuer.String()
}
