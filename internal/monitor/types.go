package monitor

import (
	"crypto/tls"
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

// applyTypeDefaults sets the defaults of m's type on fields left at zero.
func (m *Monitor) applyTypeDefaults() {
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
		if m.Type == TypeTLS && (m.WarnDays < 0 || m.WarnDays > MaxWarnDays) {
			v.Add("warn_days", "must be between 0 and %d", MaxWarnDays)
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
		if m.Cron != "" {
			if _, err := m.NextDeadline(time.Now()); err != nil {
				v.Add("cron", "%s", err.Error())
			}
		} else if _, err := time.LoadLocation(m.TimeZone); err != nil {
			v.Add("time_zone", "is not a known time zone such as Europe/Berlin")
		}
	default:
		v.Add("type", "must be one of %s", strings.Join(Types, ", "))
		return
	}
	m.rejectForeignFields(v)
}

// rejectForeignFields names fields set that m's type does not use, so a
// mistake such as a url on a tcp monitor is an error, not silently ignored.
func (m *Monitor) rejectForeignFields(v *ValidationError) {
	used := map[string]bool{}
	for _, f := range typeFields[m.Type] {
		used[f] = true
	}
	for _, f := range m.setFields() {
		if !used[f] {
			v.Add(f, "is not used by %s monitors", m.Type)
		}
	}
}

var typeFields = map[string][]string{
	TypeHTTP: {"url", "method", "headers", "body", "expected_status", "follow_redirects", "verify_tls",
		"max_redirects", "assertions", "ip_version", "proxy_url", "basic_auth", "bearer_token", "client_cert", "client_key"},
	TypeTCP:       {"host", "port", "tls", "verify_tls", "send", "expect"},
	TypeDNS:       {"host", "record_type", "resolver", "expected_values", "match_all"},
	TypeTLS:       {"host", "port", "warn_days", "verify_tls"},
	TypeICMP:      {"host", "packets", "ip_version"},
	TypeHeartbeat: {"cron", "time_zone", "grace_seconds"},
}

// setFields lists the type-specific fields that differ from their zero
// value or their default for every type.
func (m *Monitor) setFields() []string {
	var out []string
	add := func(name string, set bool) {
		if set {
			out = append(out, name)
		}
	}
	add("url", m.URL != "")
	add("method", m.Method != "" && m.Method != "GET")
	add("headers", len(m.Headers) > 0)
	add("body", m.Body != "")
	add("expected_status", m.ExpectedStatus != "" && m.ExpectedStatus != DefaultExpected)
	add("max_redirects", m.MaxRedirects != 0 && m.MaxRedirects != DefaultMaxRedirects)
	add("assertions", len(m.Assertions) > 0)
	add("ip_version", m.IPVersion != "")
	add("proxy_url", m.ProxyURL != "")
	add("basic_auth", m.BasicAuthUser != "" || m.BasicAuthPassword != "")
	add("bearer_token", m.BearerToken != "")
	add("client_cert", m.ClientCert != "")
	add("client_key", m.ClientKey != "")
	add("host", m.Host != "")
	add("port", m.Port != 0 && !(m.Type == TypeTLS && m.Port == 443))
	add("tls", m.TLS)
	add("send", m.Send != "")
	add("expect", m.Expect != "")
	add("record_type", m.RecordType != "" && m.RecordType != "A")
	add("resolver", m.Resolver != "")
	add("expected_values", len(m.ExpectedValues) > 0)
	add("match_all", m.MatchAll)
	add("warn_days", m.WarnDays != 0 && m.WarnDays != 14)
	add("packets", m.Packets != 0 && m.Packets != 3)
	add("cron", m.Cron != "")
	add("time_zone", m.TimeZone != "" && m.TimeZone != "UTC")
	add("grace_seconds", m.GraceSeconds != 0)
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
	loc, err := time.LoadLocation(m.TimeZone)
	if err != nil {
		return time.Time{}, fmt.Errorf("time zone %q is not known", m.TimeZone)
	}
	sched, err := cronParser.Parse(m.Cron)
	if err != nil {
		return time.Time{}, fmt.Errorf("is not a cron expression (minute hour day-of-month month day-of-week, or @daily): %v", err)
	}
	next := sched.Next(from.In(loc))
	if next.IsZero() || next.Sub(from) > 366*24*time.Hour {
		return time.Time{}, fmt.Errorf("never fires within a year")
	}
	return next.Add(grace), nil
}
