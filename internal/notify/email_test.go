package notify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpMessage is one message the in-process SMTP server received.
type smtpMessage struct {
	user     string
	password string
	from     string
	to       []string
	data     []byte
}

// smtpSink is an in-process SMTP server on 127.0.0.1, without TLS, that
// keeps what it receives and rejects recipients with the code reject holds.
type smtpSink struct {
	reject int
	mu     sync.Mutex
	msgs   []smtpMessage
}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{sink: s}, nil }

type smtpSession struct {
	sink *smtpSink
	msg  smtpMessage
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		s.msg.user, s.msg.password = user, password
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.msg.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.sink.reject != 0 {
		return &smtp.SMTPError{Code: s.sink.reject, Message: "no"}
	}
	s.msg.to = append(s.msg.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.data = data
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, s.msg)
	s.sink.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.msg = smtpMessage{user: s.msg.user, password: s.msg.password} }
func (s *smtpSession) Logout() error { return nil }

func setupSMTP(t *testing.T, reject int) (*smtpSink, Config) {
	t.Helper()
	sink := &smtpSink{reject: reject}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l) // returns when closed
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	cfg := Config{
		Type: "email",
		Settings: map[string]string{
			"host": "127.0.0.1", "port": strconv.Itoa(l.Addr().(*net.TCPAddr).Port), "tls": "none",
			"from": "pinguin@example.com", "to": "ops@example.com, oncall@example.com", "username": "pinguin",
		},
		Secrets: map[string]string{"password": "s3cret"},
	}
	return sink, cfg
}

func TestEmailSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		event   Event
		subject string
		body    []string
	}{
		{"down", pagingDown, "🔴 API is down", []string{"Monitor: API", "Target: https://api.example.com/health",
			"Down since: 2026-11-26T20:00:00Z", "Error: connection refused (HTTP 503)", "Link: https://pinguin.example.com/monitors/mon-7"}},
		{"up", pagingUp, "🟢 API is up again after 1m30s", []string{"Down for: 1m30s", "Down since: 2026-11-26T20:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink, cfg := setupSMTP(t, 0)
			s, err := New(cfg, http.DefaultClient)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(context.Background(), tt.event); err != nil {
				t.Fatalf("Send: %v", err)
			}
			sink.mu.Lock()
			msgs := sink.msgs
			sink.mu.Unlock()
			if len(msgs) != 1 {
				t.Fatalf("server received %d messages, want 1", len(msgs))
			}
			got := msgs[0]
			pagingWantEqual(t, "auth", got.user+":"+got.password, "pinguin:s3cret")
			pagingWantEqual(t, "MAIL FROM", got.from, "pinguin@example.com")
			pagingWantEqual(t, "RCPT TO", strings.Join(got.to, ","), "ops@example.com,oncall@example.com")

			m, err := mail.ReadMessage(strings.NewReader(string(got.data)))
			if err != nil {
				t.Fatalf("parse message: %v", err)
			}
			pagingWantContains(t, "From", m.Header.Get("From"), "pinguin@example.com")
			pagingWantContains(t, "To", m.Header.Get("To"), "ops@example.com", "oncall@example.com")
			subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
			if err != nil {
				t.Fatal(err)
			}
			pagingWantEqual(t, "Subject", subject, tt.subject)
			text := plainPart(t, got.data)
			pagingWantContains(t, "text body", text, tt.body...)
		})
	}
}

func TestEmailRejected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		code      int
		retryable bool
	}{
		{"permanent", 550, false},
		{"temporary", 451, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, cfg := setupSMTP(t, tt.code)
			s, err := New(cfg, http.DefaultClient)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(context.Background(), pagingDown)
			var de *DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("Send = %v, want a *DeliveryError", err)
			}
			pagingWantEqual(t, "retryable", de.Retryable, tt.retryable)
		})
	}
}

// plainPart returns the decoded text/plain part of a message.
func plainPart(t *testing.T, data []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q, want multipart/alternative", mediaType)
	}
	var types []string
	var text string
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = part
		switch part.Header.Get("Content-Transfer-Encoding") {
		case "quoted-printable":
			r = quotedprintable.NewReader(part)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, part)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		typ, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		types = append(types, typ)
		if typ == "text/plain" {
			text = string(body)
		}
	}
	pagingWantEqual(t, "parts", strings.Join(types, ","), "text/plain,text/html")
	return text
}

// Through the client the workers use, e-mail is dialled by its dialer: it
// reaches the server, and the SSRF guard can refuse it like any webhook.
func TestEmailDialsThroughTheHTTPClientsDialer(t *testing.T) {
	t.Parallel()
	sink, cfg := setupSMTP(t, 0)
	s, err := New(cfg, NewHTTPClient(5*time.Second, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), pagingDown); err != nil {
		t.Fatalf("Send: %v", err)
	}
	sink.mu.Lock()
	n := len(sink.msgs)
	sink.mu.Unlock()
	if n != 1 {
		t.Fatalf("server received %d messages, want 1", n)
	}

	refuse := func(_, address string, _ syscall.RawConn) error { return fmt.Errorf("blocked %s", address) }
	s, err = New(cfg, NewHTTPClient(5*time.Second, refuse))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), pagingDown)
	if err == nil || !strings.Contains(err.Error(), "blocked 127.0.0.1") {
		t.Fatalf("Send through a refusing guard = %v, want the guard's error", err)
	}
}
