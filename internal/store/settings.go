package store

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// settings are the type-specific fields of a monitor that are not secrets,
// kept as JSON in monitors.settings.
type settings struct {
	MaxRedirects   int                 `json:"max_redirects"`
	Assertions     []monitor.Assertion `json:"assertions,omitempty"`
	IPVersion      string              `json:"ip_version,omitempty"`
	BasicAuthUser  string              `json:"basic_auth_user,omitempty"`
	ClientCert     string              `json:"client_cert,omitempty"`
	Host           string              `json:"host,omitempty"`
	Port           int                 `json:"port,omitempty"`
	TLS            bool                `json:"tls,omitempty"`
	Send           string              `json:"send,omitempty"`
	Expect         string              `json:"expect,omitempty"`
	RecordType     string              `json:"record_type,omitempty"`
	Resolver       string              `json:"resolver,omitempty"`
	ExpectedValues []string            `json:"expected_values,omitempty"`
	MatchAll       bool                `json:"match_all,omitempty"`
	WarnDays       int                 `json:"warn_days,omitempty"`
	Packets        int                 `json:"packets,omitempty"`
	Cron           string              `json:"cron,omitempty"`
	TimeZone       string              `json:"time_zone,omitempty"`
	GraceSeconds   int                 `json:"grace_seconds,omitempty"`
}

func settingsOf(m *monitor.Monitor) settings {
	return settings{
		MaxRedirects: m.MaxRedirects, Assertions: m.Assertions, IPVersion: m.IPVersion,
		BasicAuthUser: m.BasicAuthUser, ClientCert: m.ClientCert, Host: m.Host, Port: m.Port,
		TLS: m.TLS, Send: m.Send, Expect: m.Expect, RecordType: m.RecordType, Resolver: m.Resolver,
		ExpectedValues: m.ExpectedValues, MatchAll: m.MatchAll, WarnDays: m.WarnDays,
		Packets: m.Packets, Cron: m.Cron, TimeZone: m.TimeZone, GraceSeconds: m.GraceSeconds,
	}
}

func (s settings) apply(m *monitor.Monitor) {
	m.MaxRedirects, m.Assertions, m.IPVersion = s.MaxRedirects, s.Assertions, s.IPVersion
	m.BasicAuthUser, m.ClientCert, m.Host, m.Port = s.BasicAuthUser, s.ClientCert, s.Host, s.Port
	m.TLS, m.Send, m.Expect, m.RecordType, m.Resolver = s.TLS, s.Send, s.Expect, s.RecordType, s.Resolver
	m.ExpectedValues, m.MatchAll, m.WarnDays = s.ExpectedValues, s.MatchAll, s.WarnDays
	m.Packets, m.Cron, m.TimeZone, m.GraceSeconds = s.Packets, s.Cron, s.TimeZone, s.GraceSeconds
}

// The names of a monitor's secrets other than its headers.
const (
	secretBasicPassword = "basic_password"
	secretBearerToken   = "bearer_token"
	secretClientKey     = "client_key"
	secretProxyURL      = "proxy_url"
)

func secretsOf(m *monitor.Monitor) map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{secretBasicPassword: m.BasicAuthPassword, secretBearerToken: m.BearerToken,
		secretClientKey: m.ClientKey, secretProxyURL: m.ProxyURL} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func applySecrets(m *monitor.Monitor, s map[string]string) {
	m.BasicAuthPassword, m.BearerToken = s[secretBasicPassword], s[secretBearerToken]
	m.ClientKey, m.ProxyURL = s[secretClientKey], s[secretProxyURL]
}

// newPingToken makes the secret part of a heartbeat monitor's ping URL.
func newPingToken() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}
