// Package monitor holds the Monitor type: its fields, defaults and
// validation. It is pure: no I/O, no SQL, no Redis. The api decodes requests
// into a Patch, applies it to Defaults or to a stored Monitor, and calls
// Validate; store persists what passes (DESIGN.md invariant 8).
package monitor

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrNotFound is returned when a monitor does not exist.
var ErrNotFound = errors.New("monitor not found")

// Limits of a monitor's fields.
const (
	MaxNameLength   = 200
	MaxURLLength    = 2048
	MaxBodyBytes    = 64 << 10
	MaxHeaders      = 50
	MaxHeaderBytes  = 8 << 10
	MinInterval     = 1
	MaxInterval     = 86400
	MinTimeoutMS    = 100
	MaxTimeoutMS    = 60000
	DefaultInterval = 60
	DefaultTimeout  = 10000
	DefaultExpected = "200-299"
	// DefaultMaxRedirects is how many redirects an http monitor follows.
	DefaultMaxRedirects = 10
)

// Monitor is one watched target and how to check it. Which fields matter
// depends on Type; see types.go.
type Monitor struct {
	ID              int64
	Name            string
	Type            string
	URL             string
	Method          string
	Headers         map[string]string
	Body            string
	IntervalSeconds int
	TimeoutMS       int
	ExpectedStatus  string
	FollowRedirects bool
	VerifyTLS       bool
	Enabled         bool
	CreatedAt       time.Time
	UpdatedAt       time.Time

	// http
	MaxRedirects      int
	Assertions        []Assertion
	IPVersion         string // "", "4" or "6" (also icmp)
	ProxyURL          string // secret: may carry credentials
	BasicAuthUser     string
	BasicAuthPassword string // secret
	BearerToken       string // secret
	ClientCert        string // PEM
	ClientKey         string // PEM, secret

	// tcp, tls, dns, icmp
	Host           string
	Port           int
	TLS            bool // tcp: speak TLS after connecting
	Send           string
	Expect         string
	RecordType     string
	Resolver       string
	ExpectedValues []string
	MatchAll       bool
	WarnDays       int
	Packets        int

	// heartbeat: the period is IntervalSeconds unless Cron is set
	Cron         string
	TimeZone     string
	GraceSeconds int
	PingToken    string // set by the store; the ping URL's secret

	// Alerting, for every type (see alert.go).
	Confirmations         int     // consecutive failures before an incident opens
	RecoveryConfirmations int     // consecutive successes before it resolves
	ReminderMinutes       int     // 0: no reminders while an incident stays open
	CertAlertDays         []int   // days before a certificate's expiry to warn at
	Channels              []int64 // channels notified, besides the default ones
}

// Defaults returns a monitor with every optional field at its default.
func Defaults() Monitor {
	return Monitor{
		Type:            TypeHTTP,
		MaxRedirects:    DefaultMaxRedirects,
		Method:          "GET",
		Headers:         map[string]string{},
		IntervalSeconds: DefaultInterval,
		TimeoutMS:       DefaultTimeout,
		ExpectedStatus:  DefaultExpected,
		FollowRedirects: true,
		VerifyTLS:       true,
		Enabled:         true,

		Confirmations:         DefaultConfirmations,
		RecoveryConfirmations: DefaultRecoveryConfirmations,
		CertAlertDays:         slices.Clone(DefaultCertAlertDays),
	}
}

// DefaultTimeoutFor is the timeout of a monitor created without one: 10 s,
// or less for short intervals, so that it stays below the interval.
func DefaultTimeoutFor(intervalSeconds int) int {
	return max(MinTimeoutMS, min(DefaultTimeout, intervalSeconds*800))
}

// Interval is the time between two checks.
func (m *Monitor) Interval() time.Duration { return time.Duration(m.IntervalSeconds) * time.Second }

// Timeout is the deadline of one check.
func (m *Monitor) Timeout() time.Duration { return time.Duration(m.TimeoutMS) * time.Millisecond }

// FormatID renders a monitor id as the opaque string the API shows.
func FormatID(id int64) string { return strconv.FormatInt(id, 10) }

// ParseID reads an id the API showed. Any malformed id is ErrNotFound, so a
// caller cannot tell a malformed id from an unknown one.
func ParseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || FormatID(id) != s {
		return 0, ErrNotFound
	}
	return id, nil
}

// Patch is a set of field changes; nil fields are left as they are.
type Patch struct {
	Name            *string
	URL             *string
	Method          *string
	Headers         *map[string]string
	Body            *string
	IntervalSeconds *int
	TimeoutMS       *int
	ExpectedStatus  *string
	FollowRedirects *bool
	VerifyTLS       *bool
	Enabled         *bool

	Type              *string
	MaxRedirects      *int
	Assertions        *[]Assertion
	IPVersion         *string
	ProxyURL          *string
	BasicAuthUser     *string
	BasicAuthPassword *string
	BearerToken       *string
	ClientCert        *string
	ClientKey         *string
	Host              *string
	Port              *int
	TLS               *bool
	Send              *string
	Expect            *string
	RecordType        *string
	Resolver          *string
	ExpectedValues    *[]string
	MatchAll          *bool
	WarnDays          *int
	Packets           *int
	Cron              *string
	TimeZone          *string
	GraceSeconds      *int

	Confirmations         *int
	RecoveryConfirmations *int
	ReminderMinutes       *int
	CertAlertDays         *[]int
	Channels              *[]int64
}

// Apply writes the patch's fields into m.
func (p *Patch) Apply(m *Monitor) {
	set(&m.Name, p.Name)
	set(&m.URL, p.URL)
	set(&m.Method, p.Method)
	set(&m.Headers, p.Headers)
	set(&m.Body, p.Body)
	set(&m.IntervalSeconds, p.IntervalSeconds)
	set(&m.TimeoutMS, p.TimeoutMS)
	set(&m.ExpectedStatus, p.ExpectedStatus)
	set(&m.FollowRedirects, p.FollowRedirects)
	set(&m.VerifyTLS, p.VerifyTLS)
	set(&m.Enabled, p.Enabled)
	set(&m.Type, p.Type)
	set(&m.MaxRedirects, p.MaxRedirects)
	set(&m.Assertions, p.Assertions)
	set(&m.IPVersion, p.IPVersion)
	set(&m.ProxyURL, p.ProxyURL)
	set(&m.BasicAuthUser, p.BasicAuthUser)
	set(&m.BasicAuthPassword, p.BasicAuthPassword)
	set(&m.BearerToken, p.BearerToken)
	set(&m.ClientCert, p.ClientCert)
	set(&m.ClientKey, p.ClientKey)
	set(&m.Host, p.Host)
	set(&m.Port, p.Port)
	set(&m.TLS, p.TLS)
	set(&m.Send, p.Send)
	set(&m.Expect, p.Expect)
	set(&m.RecordType, p.RecordType)
	set(&m.Resolver, p.Resolver)
	set(&m.ExpectedValues, p.ExpectedValues)
	set(&m.MatchAll, p.MatchAll)
	set(&m.WarnDays, p.WarnDays)
	set(&m.Packets, p.Packets)
	set(&m.Cron, p.Cron)
	set(&m.TimeZone, p.TimeZone)
	set(&m.GraceSeconds, p.GraceSeconds)
	set(&m.Confirmations, p.Confirmations)
	set(&m.RecoveryConfirmations, p.RecoveryConfirmations)
	set(&m.ReminderMinutes, p.ReminderMinutes)
	set(&m.CertAlertDays, p.CertAlertDays)
	set(&m.Channels, p.Channels)
	if m.Headers == nil {
		m.Headers = map[string]string{}
	}
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// FieldError names a field and says what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every field at fault.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid monitor: " + strings.Join(parts, "; ")
}

// Add records a field error.
func (e *ValidationError) Add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns e when it holds errors, else nil.
func (e *ValidationError) Err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

var methods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true,
	"DELETE": true, "OPTIONS": true,
}

// Normalize canonicalises fields that have one meaning in many spellings
// (the method's case, white space around the name).
func (m *Monitor) Normalize() {
	m.Name = strings.TrimSpace(m.Name)
	m.URL = strings.TrimSpace(m.URL)
	m.Method = strings.ToUpper(strings.TrimSpace(m.Method))
	m.ExpectedStatus = strings.ReplaceAll(strings.TrimSpace(m.ExpectedStatus), " ", "")
	m.Type = strings.ToLower(strings.TrimSpace(m.Type))
	m.Host = strings.TrimSpace(m.Host)
	m.RecordType = strings.ToUpper(strings.TrimSpace(m.RecordType))
	m.NormalizeAlerting()
}

// Validate reports every field of m that is out of bounds.
func (m *Monitor) Validate() error {
	var v ValidationError
	switch n := utf8.RuneCountInString(m.Name); {
	case n == 0:
		v.Add("name", "is required")
	case n > MaxNameLength:
		v.Add("name", "must be at most %d characters", MaxNameLength)
	case !utf8.ValidString(m.Name):
		v.Add("name", "must be valid UTF-8")
	}
	validateHeaders(&v, m.Headers)
	if len(m.Body) > MaxBodyBytes {
		v.Add("body", "must be at most %d bytes", MaxBodyBytes)
	}
	if m.IntervalSeconds < MinInterval || m.IntervalSeconds > MaxInterval {
		v.Add("interval_seconds", "must be between %d and %d", MinInterval, MaxInterval)
	}
	if m.TimeoutMS < MinTimeoutMS || m.TimeoutMS > MaxTimeoutMS {
		v.Add("timeout_ms", "must be between %d and %d", MinTimeoutMS, MaxTimeoutMS)
	} else if m.Type != TypeHeartbeat && m.IntervalSeconds >= MinInterval && m.TimeoutMS >= m.IntervalSeconds*1000 {
		v.Add("timeout_ms", "must be less than the interval (%d ms)", m.IntervalSeconds*1000)
	}
	if m.Type == TypeHTTP {
		if _, err := ParseStatusRanges(m.ExpectedStatus); err != nil {
			v.Add("expected_status", "%s", err.Error())
		}
	}
	m.validateType(&v)
	m.validateAlerting(&v)
	return v.Err()
}

func validateURL(v *ValidationError, raw string) {
	if raw == "" {
		v.Add("url", "is required")
		return
	}
	if len(raw) > MaxURLLength {
		v.Add("url", "must be at most %d bytes", MaxURLLength)
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		v.Add("url", "is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		v.Add("url", "must be an absolute http or https URL")
	case u.Hostname() == "":
		v.Add("url", "must have a host")
	case u.User != nil:
		v.Add("url", "must not carry credentials; send them in a header such as Authorization, which is stored sealed and shown masked")
	case u.Port() != "" && !validPort(u.Port()):
		v.Add("url", "has an invalid port")
	}
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}

func validateHeaders(v *ValidationError, h map[string]string) {
	if len(h) > MaxHeaders {
		v.Add("headers", "must have at most %d entries", MaxHeaders)
		return
	}
	size := 0
	for name, value := range h {
		size += len(name) + len(value)
		if !validHeaderName(name) {
			v.Add("headers", "%q is not a valid header name", name)
			return
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			v.Add("headers", "value of %q must not contain line breaks or NUL", name)
			return
		}
	}
	if size > MaxHeaderBytes {
		v.Add("headers", "must be at most %d bytes in all", MaxHeaderBytes)
	}
}

// validHeaderName accepts RFC 9110 tokens.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// Masked stands in the API for the value of a header that carries a secret.
// Sent back in a PATCH, it keeps the stored value.
const Masked = "********"

// sensitiveWords mark header names whose values are secrets.
var sensitiveWords = []string{"auth", "cookie", "token", "key", "secret", "password", "session", "signature"}

// SensitiveHeader reports whether a header's value is a secret that the API
// must not show again.
func SensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	for _, w := range sensitiveWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// MaskHeaders returns h with the values of sensitive headers replaced by Masked.
func MaskHeaders(h map[string]string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		if SensitiveHeader(k) {
			v = Masked
		}
		out[k] = v
	}
	return out
}

// KeepMasked replaces every Masked value in the patch (header values and
// secret fields) with the value stored in m, so that a client can send
// back what it read without erasing secrets.
func (p *Patch) KeepMasked(m *Monitor) {
	if p.Headers != nil {
		for k, v := range *p.Headers {
			if v == Masked {
				if old, ok := m.Headers[k]; ok {
					(*p.Headers)[k] = old
				}
			}
		}
	}
	for _, f := range []struct {
		patch *string
		old   string
	}{
		{p.BasicAuthPassword, m.BasicAuthPassword}, {p.BearerToken, m.BearerToken},
		{p.ClientKey, m.ClientKey}, {p.ProxyURL, m.ProxyURL},
	} {
		if f.patch != nil && *f.patch == Masked {
			*f.patch = f.old
		}
	}
}
