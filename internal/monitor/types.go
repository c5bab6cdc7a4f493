package monitor

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// The types of monitor.
const (
	TypeHTTP      = "http"      // an HTTP(S) request with status and assertions
	TypeTCP       = "tcp"       // a TCP connection, optionally TLS, send and expect
	TypeDNS       = "dns"       // a DNS query with expected values
	TypeTLS       = "tls"       // a TLS certificate's validity and expiry
	TypeICMP      = "icmp"      // ping
	TypeHeartbeat = "heartbeat" // the monitored job pings Pinguin
)

// Types lists every type, in the order the API documents them.
var Types = []string{TypeHTTP, TypeTCP, TypeDNS, TypeTLS, TypeICMP, TypeHeartbeat}

// RecordTypes are the DNS record types a dns monitor can query.
var RecordTypes = []string{"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA"}

// AssertionTypes are the kinds of assertion an http monitor can carry.
var AssertionTypes = []string{"status", "response_time", "body_contains", "body_not_contains",
	"body_regex", "json_path", "header", "cert_expiry"}

// Limits of the type-specific fields.
const (
	MaxAssertions     = 20
	MaxRedirects      = 20
	MaxExpectedValues = 20
	MaxSendBytes      = 4 << 10
	MaxPackets        = 10
	MaxWarnDays       = 365
	MaxGraceSeconds   = 7 * 86400
	MaxPEMBytes       = 16 << 10
)

// Assertion is one condition an http monitor's answer must meet. The check
// package compiles and evaluates it.
type Assertion struct {
	Type  string `json:"type"`
	Path  string `json:"path,omitempty"`
	Op    string `json:"op,omitempty"`
	Value string `json:"value,omitempty"`
}

// ApplyTypeDefaults sets the defaults of m's type on fields left at zero.
// It is for creation only: in a change, zero is what the user asked for.
func (m *Monitor) ApplyTypeDefaults() {
	switch m.Type {
	case TypeTLS:
		if m.Port == 0 {
			m.Port = 443
		}
		if m.WarnDays == 0 {
			m.WarnDays = 14
		}
	case TypeICMP:
		if m.Packets == 0 {
			m.Packets = 3
		}
	case TypeDNS:
		if m.RecordType == "" {
			m.RecordType = "A"
		}
	case TypeHeartbeat:
		if m.TimeZone == "" {
			m.TimeZone = "UTC"
		}
	}
}

// validateType checks the fields of m's type, and that fields of other
// types are not set.
func (m *Monitor) validateType(v *ValidationError) {
	switch m.Type {
	case TypeHTTP:
		validateURL(v, m.URL)
		if !methods[m.Method] {
			v.Add("method", "must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
		}
		if m.MaxRedirects < 0 || m.MaxRedirects > MaxRedirects {
			v.Add("max_redirects", "must be between 0 and %d", MaxRedirects)
		}
		validateIPVersion(v, m.IPVersion)
		validateAssertions(v, m.Assertions)
		if m.ProxyURL != "" {
			if u, err := url.Parse(m.ProxyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.Add("proxy_url", "must be an http or https URL such as http://proxy:3128")
			}
		}
		if strings.Contains(m.BasicAuthUser, ":") {
			v.Add("basic_auth.username", "must not contain a colon")
		}
		if (m.BasicAuthUser != "" || m.BasicAuthPassword != "") && m.BearerToken != "" {
			v.Add("bearer_token", "cannot be used together with basic_auth: choose one")
		}
		if (m.ClientCert == "") != (m.ClientKey == "") {
			v.Add("client_cert", "needs both client_cert and client_key (PEM)")
		} else if m.ClientCert != "" {
			if len(m.ClientCert) > MaxPEMBytes || len(m.ClientKey) > MaxPEMBytes {
				v.Add("client_cert", "must be at most %d bytes of PEM", MaxPEMBytes)
			} else if _, err := tls.X509KeyPair([]byte(m.ClientCert), []byte(m.ClientKey)); err != nil {
				v.Add("client_cert", "client_cert and client_key are not a matching PEM certificate and key")
			}
		}
	case TypeTCP, TypeTLS:
		validateHostPort(v, m.Host, m.Port)
		if len(m.Send) > MaxSendBytes || len(m.Expect) > MaxSendBytes {
			v.Add("send", "send and expect must be at most %d bytes each", MaxSendBytes)
		}
		if m.Type == TypeTLS && (m.WarnDays < 1 || m.WarnDays > MaxWarnDays) {
			v.Add("warn_days", "must be between 1 and %d", MaxWarnDays)
		}
	case TypeDNS:
		validateHost(v, m.Host)
		if !contains(RecordTypes, m.RecordType) {
			v.Add("record_type", "must be one of %s", strings.Join(RecordTypes, ", "))
		}
		if m.Resolver != "" {
			host, port := m.Resolver, "53"
			if h, p, err := net.SplitHostPort(m.Resolver); err == nil {
				host, port = h, p
			}
			if host == "" || !validPort(port) {
				v.Add("resolver", "must be a host or host:port such as 1.1.1.1 or 9.9.9.9:53")
			}
		}
		if len(m.ExpectedValues) > MaxExpectedValues {
			v.Add("expected_values", "must have at most %d entries", MaxExpectedValues)
		}
	case TypeICMP:
		validateHost(v, m.Host)
		if m.Packets < 1 || m.Packets > MaxPackets {
			v.Add("packets", "must be between 1 and %d", MaxPackets)
		}
		validateIPVersion(v, m.IPVersion)
	case TypeHeartbeat:
		if m.GraceSeconds < 0 || m.GraceSeconds > MaxGraceSeconds {
			v.Add("grace_seconds", "must be between 0 and %d", MaxGraceSeconds)
		}
		if _, err := time.LoadLocation(m.TimeZone); err != nil {
			v.Add("time_zone", "is not a known time zone such as Europe/Berlin")
		} else if m.Cron != "" {
			if _, err := m.NextDeadline(time.Now()); err != nil {
				v.Add("cron", "%s", err.Error())
			}
		}
	default:
		v.Add("type", "must be one of %s", strings.Join(Types, ", "))
		return
	}
}

// typeFields are the fields each type uses, as the API names them.
var typeFields = map[string][]string{
	TypeHTTP: {"url", "method", "headers", "body", "expected_status", "follow_redirects", "verify_tls",
		"max_redirects", "assertions", "ip_version", "proxy_url", "basic_auth", "bearer_token", "client_cert", "client_key"},
	TypeTCP:       {"host", "port", "tls", "verify_tls", "send", "expect"},
	TypeDNS:       {"host", "record_type", "resolver", "expected_values", "match_all"},
	TypeTLS:       {"host", "port", "warn_days"},
	TypeICMP:      {"host", "packets", "ip_version"},
	TypeHeartbeat: {"cron", "time_zone", "grace_seconds"},
}

// ForeignFields lists the fields the patch sets that a monitor of type typ
// does not use, so that a mistake such as a url on a tcp monitor is an
// error rather than silently ignored.
func (p *Patch) ForeignFields(typ string) []string {
	used := map[string]bool{}
	for _, f := range typeFields[typ] {
		used[f] = true
	}
	var out []string
	for _, f := range p.typeSpecific() {
		if !used[f] {
			out = append(out, f)
		}
	}
	return out
}

// typeSpecific lists the type-specific fields present in the patch.
func (p *Patch) typeSpecific() []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"url", p.URL != nil}, {"method", p.Method != nil}, {"headers", p.Headers != nil}, {"body", p.Body != nil},
		{"expected_status", p.ExpectedStatus != nil}, {"follow_redirects", p.FollowRedirects != nil},
		{"verify_tls", p.VerifyTLS != nil}, {"max_redirects", p.MaxRedirects != nil}, {"assertions", p.Assertions != nil},
		{"ip_version", p.IPVersion != nil}, {"proxy_url", p.ProxyURL != nil},
		{"basic_auth", p.BasicAuthUser != nil || p.BasicAuthPassword != nil}, {"bearer_token", p.BearerToken != nil},
		{"client_cert", p.ClientCert != nil}, {"client_key", p.ClientKey != nil}, {"host", p.Host != nil},
		{"port", p.Port != nil}, {"tls", p.TLS != nil}, {"send", p.Send != nil}, {"expect", p.Expect != nil},
		{"record_type", p.RecordType != nil}, {"resolver", p.Resolver != nil},
		{"expected_values", p.ExpectedValues != nil}, {"match_all", p.MatchAll != nil},
		{"warn_days", p.WarnDays != nil}, {"packets", p.Packets != nil}, {"cron", p.Cron != nil},
		{"time_zone", p.TimeZone != nil}, {"grace_seconds", p.GraceSeconds != nil},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func validateHost(v *ValidationError, host string) {
	switch {
	case host == "":
		v.Add("host", "is required")
	case len(host) > 253 || strings.ContainsAny(host, " /?#@\t\r\n"):
		v.Add("host", "must be a host name or IP address")
	}
}

func validateHostPort(v *ValidationError, host string, port int) {
	validateHost(v, host)
	if port < 1 || port > 65535 {
		v.Add("port", "is required: a port from 1 to 65535")
	}
}

func validateIPVersion(v *ValidationError, s string) {
	if s != "" && s != "4" && s != "6" {
		v.Add("ip_version", `must be "4", "6" or empty for either`)
	}
}

func validateAssertions(v *ValidationError, list []Assertion) {
	if len(list) > MaxAssertions {
		v.Add("assertions", "must have at most %d entries", MaxAssertions)
		return
	}
	for i, a := range list {
		if !contains(AssertionTypes, a.Type) {
			v.Add("assertions["+strconv.Itoa(i)+"].type", "must be one of %s", strings.Join(AssertionTypes, ", "))
		}
	}
}

// cronParser reads standard five-field cron expressions and descriptors
// such as @daily.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// NextDeadline is when a heartbeat monitor must have pinged by, counted
// from a ping (or the monitor's creation) at from: the next period (the
// interval, or the next time the cron expression fires in the monitor's
// time zone) plus the grace time.
func (m *Monitor) NextDeadline(from time.Time) (time.Time, error) {
	grace := time.Duration(m.GraceSeconds) * time.Second
	if m.Cron == "" {
		return from.Add(m.Interval() + grace), nil
	}
	sched, loc, err := ParseCron(m.Cron, m.TimeZone)
	if err != nil {
		return time.Time{}, err
	}
	next := sched.Next(from.In(loc))
	if next.IsZero() || next.Sub(from) > 366*24*time.Hour {
		return time.Time{}, fmt.Errorf("never fires within a year")
	}
	return next.Add(grace), nil
}

// ParseCron reads a five-field cron expression (or a descriptor such as
// @daily) and the time zone it fires in; heartbeat monitors and
// maintenance windows share it.
func ParseCron(expr, timeZone string) (cron.Schedule, *time.Location, error) {
	loc, err := time.LoadLocation(timeZone)
	if err != nil {
		return nil, nil, fmt.Errorf("time zone %q is not known", timeZone)
	}
	// robfig/cron reads a leading TZ= or CRON_TZ= as the schedule's own
	// zone, and panics on one without a space after it: the zone is
	// time_zone's to say.
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, nil, errors.New("must not name a time zone (TZ=); set time_zone instead")
	}
	sched, err := cronParser.Parse(expr)
	if err != nil {
		return nil, nil, fmt.Errorf("is not a cron expression (minute hour day-of-month month day-of-week, or @daily): %v", err)
	}
	return sched, loc, nil
}
