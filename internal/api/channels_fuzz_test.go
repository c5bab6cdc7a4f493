package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/notify"
)

// FuzzChannelBody feeds arbitrary bodies through the channel create path's
// decoding and validation: every input is either a channel its provider
// accepts or a 4xx problem.
func FuzzChannelBody(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","type":"slack","secrets":{"webhook_url":"https://hooks.example.com/x"}}`,
		`{"name":"a","type":"email","settings":{"host":"h","from":"a@example.com","to":"b@example.com, c@example.com","port":"465","tls":"tls"}}`,
		`{"name":"a","type":"webhook","secrets":{"url":"http://[::1]:80/","signing_secret":"********"},"default":true}`,
		`{"name":"a","type":"ntfy","settings":{"topic":"x","server":"http://a:65536"}}`,
		`{"type":"PagerDuty","settings":{"routing_key":"0123456789abcdef0123456789abcdef"}}`,
		`{"settings":{"a":null}}`, `{"secrets":[]}`, `[]`, `null`, `{}}`, `{"name":"\u0000","type":"\u212a"}`, "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/channels", strings.NewReader(body))
		fields, err := readObject(httptest.NewRecorder(), r)
		if err != nil {
			assertClientError(t, err)
			return
		}
		var v monitor.ValidationError
		in := decodeChannel(fields, &v)
		var c alert.Channel
		in.apply(&c)
		if err := validateChannel(&c, &v); err != nil {
			assertClientError(t, err)
			return
		}
		if _, err := notify.New(notify.Config{Type: c.Type, Settings: c.Settings, Secrets: c.Secrets}, nil); err != nil {
			t.Fatalf("valid channel %+v that its provider refuses: %v", c, err)
		}
		if c.Name == "" || c.Name != strings.TrimSpace(c.Name) {
			t.Fatalf("valid channel with name %q", c.Name)
		}
	})
}
