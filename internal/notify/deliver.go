package notify

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// userAgent identifies Pinguin to the providers.
const userAgent = "Pinguin"

// answerLimit caps how much of a provider's answer is read at all;
// errorBodyLimit how much of a failed one a DeliveryError keeps.
const (
	answerLimit    = 64 << 10
	errorBodyLimit = 300
)

// send does req for every HTTP provider and returns the start of a 2xx
// answer, or a *DeliveryError: retryable for network errors, timeouts, 429,
// 408 and 5xx; not for other statuses, which mean the channel's
// configuration is wrong. provider names the provider in errors; the URL is
// left out of them because it often holds the secret (Slack and Discord
// webhook URLs, Telegram bot tokens).
func send(client *http.Client, req *http.Request, provider string) ([]byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		// Network errors and timeouts may pass; so may a cancelled
		// context, whose delivery the outbox tries again.
		return nil, &DeliveryError{Retryable: true, Err: fmt.Errorf("send to %s: %w", provider, withoutURL(err))}
	}
	defer resp.Body.Close()
	// A read error leaves what was read: a 2xx is delivered all the same,
	// and trying again would only send the message twice.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, answerLimit))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &DeliveryError{
			Status:    resp.StatusCode,
			Body:      errorBody(answer),
			Retryable: retryable(resp.StatusCode),
			Err:       fmt.Errorf("%s answered %s", provider, resp.Status),
		}
	}
	return answer, nil
}

// retryable tells whether a failed status may pass later: server errors,
// rate limits and request timeouts.
func retryable(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

// withoutURL drops the *url.Error wrapper, whose message holds the request
// URL and so possibly a secret.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errorBody is the start of an answer, trimmed and valid UTF-8.
func errorBody(b []byte) string {
	if len(b) > errorBodyLimit {
		b = b[:errorBodyLimit]
		// Do not cut a character in two.
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
}

// truncate cuts s to at most n characters, ending it with "…" when cut:
// providers limit the length of titles and fields.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// NewHTTPClient is the client providers are reached with: each attempt
// bounded by timeout, at most a few idle connections kept, and every
// connection's resolved address passed to control (the SSRF guard,
// check.Guard.Control) when it is not nil, redirects included.
func NewHTTPClient(timeout time.Duration, control func(network, address string, c syscall.RawConn) error) *http.Client {
	dialer := &net.Dialer{Timeout: min(timeout, 10*time.Second), Control: control}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   min(timeout, 10*time.Second),
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
	}
}
