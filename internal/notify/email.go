package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	netmail "net/mail"
	"strconv"
	"strings"

	"github.com/wneessen/go-mail"
)

// email sends a plain-text and HTML message over SMTP, with STARTTLS
// (submission, port 587), implicit TLS (port 465) or, for tests and local
// relays only, no TLS.
type email struct {
	host     string
	port     int
	tls      string
	from     string
	to       []string
	username string
	password string
	// dial connects to the server: the HTTP client's dialer when it has
	// one, so that the SSRF guard and timeouts apply to SMTP too.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func newEmail(cfg Config, client *http.Client) (Sender, error) {
	host, err := pagingRequired(cfg, "settings.host")
	if err != nil {
		return nil, err
	}
	tlsMode := pagingValue(cfg, "settings.tls")
	switch tlsMode {
	case "":
		tlsMode = "starttls"
	case "starttls", "tls", "none":
	default:
		return nil, &FieldError{Field: "settings.tls", Message: `must be "starttls", "tls" or "none"`}
	}
	port := 587 // submission with STARTTLS; implicit TLS listens on 465
	if tlsMode == "tls" {
		port = 465
	}
	if v := pagingValue(cfg, "settings.port"); v != "" {
		port, err = strconv.Atoi(v)
		if err != nil || port < 1 || port > 65535 {
			return nil, &FieldError{Field: "settings.port", Message: "must be a port number (1-65535)"}
		}
	}
	from, err := pagingRequired(cfg, "settings.from")
	if err != nil {
		return nil, err
	}
	if _, err := netmail.ParseAddress(from); err != nil {
		return nil, &FieldError{Field: "settings.from", Message: "must be an e-mail address"}
	}
	toList, err := pagingRequired(cfg, "settings.to")
	if err != nil {
		return nil, err
	}
	var to []string
	for _, addr := range strings.Split(toList, ",") {
		addr = strings.TrimSpace(addr)
		if addr == "" {
			continue
		}
		if _, err := netmail.ParseAddress(addr); err != nil {
			return nil, &FieldError{Field: "settings.to", Message: fmt.Sprintf("%q is not an e-mail address", addr)}
		}
		to = append(to, addr)
	}
	if len(to) == 0 {
		return nil, &FieldError{Field: "settings.to", Message: "is required"}
	}
	e := &email{host: host, port: port, tls: tlsMode, from: from, to: to}
	e.username = pagingValue(cfg, "settings.username")
	if e.username != "" {
		// Passwords may begin or end with spaces: not trimmed.
		e.password = cfg.Secrets["password"]
		if e.password == "" {
			return nil, &FieldError{Field: "secrets.password", Message: "is required with settings.username"}
		}
	}
	if client != nil {
		if t, ok := client.Transport.(*http.Transport); ok && t.DialContext != nil {
			e.dial = t.DialContext
		}
	}
	return e, nil
}

// dialer is the connection go-mail uses, when e has a dialer of its own.
// go-mail applies implicit TLS only to connections it dials itself, so
// here the TLS handshake of mode "tls" is done on the dialled connection.
func (m *email) dialer() mail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := m.dial(ctx, network, addr)
		if err != nil || m.tls != "tls" {
			return conn, err
		}
		tc := tls.Client(conn, &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		return tc, nil
	}
}

// Send dials the server, sends one message and hangs up. SMTP answers 4xx
// (and failures to connect) are retryable; 5xx are not.
func (m *email) Send(ctx context.Context, e Event) error {
	msg := mail.NewMsg()
	if err := msg.From(m.from); err != nil {
		return &DeliveryError{Err: fmt.Errorf("set sender: %w", err)}
	}
	if err := msg.To(m.to...); err != nil {
		return &DeliveryError{Err: fmt.Errorf("set recipients: %w", err)}
	}
	msg.Subject(e.Title())
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, e.Title()+"\n\n"+pagingText(e)+"\n")
	msg.AddAlternativeString(mail.TypeTextHTML, pagingHTML(e))

	opts := []mail.Option{mail.WithPort(m.port)}
	if m.dial != nil {
		opts = append(opts, mail.WithDialContextFunc(m.dialer()))
	}
	switch m.tls {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if m.username != "" {
		auth := mail.SMTPAuthAutoDiscover
		if m.tls == "none" {
			// Without TLS only PLAIN to a loopback relay is allowed.
			auth = mail.SMTPAuthPlain
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(m.username), mail.WithPassword(m.password))
	}
	client, err := mail.NewClient(m.host, opts...)
	if err != nil {
		return &DeliveryError{Err: fmt.Errorf("set up smtp client: %w", err)}
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		var sendErr *mail.SendError
		permanent := errors.As(err, &sendErr) && !sendErr.IsTemp() && sendErr.ErrorCode() >= 500
		return &DeliveryError{Retryable: !permanent, Err: fmt.Errorf("send mail via %s: %w", m.host, err)}
	}
	return nil
}
