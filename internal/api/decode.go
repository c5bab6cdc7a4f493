package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"

	"github.com/pinguin-dev/pinguin/internal/check"
	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 1 << 20

// readObject reads a JSON object from the body: at most MaxBodyBytes, of
// type application/json, with nothing after it. Its fields are returned
// undecoded so each can be checked on its own.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		// curl -d sends application/x-www-form-urlencoded unless told
		// otherwise; the body is still JSON, so that is accepted too.
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json") && mt != "application/x-www-form-urlencoded") {
			return nil, problem(http.StatusUnsupportedMediaType, "The body must be JSON (Content-Type: application/json).")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("The body must be at most %d bytes.", MaxBodyBytes))
		}
		return nil, problem(http.StatusBadRequest, "The body could not be read.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, problem(http.StatusBadRequest, "The body is empty; send a JSON object.")
	}
	if check.JSONDepth(body) > maxDepth {
		return nil, problem(http.StatusBadRequest, fmt.Sprintf("The body is nested deeper than %d levels.", maxDepth))
	}
	if hasNUL(body) {
		// PostgreSQL stores no NUL in text or jsonb: refused here, it is
		// a 400 for any field instead of a failed write.
		return nil, problem(http.StatusBadRequest, `The body holds the NUL character (\u0000), which no field may contain.`)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax):
			return nil, problem(http.StatusBadRequest, fmt.Sprintf("The body is not valid JSON (at byte %d): %s.", syntax.Offset, syntax.Error()))
		case errors.As(err, &typ):
			return nil, problem(http.StatusBadRequest, "The body must be a JSON object.")
		default:
			return nil, problem(http.StatusBadRequest, "The body is not valid JSON.")
		}
	}
	if fields == nil {
		return nil, problem(http.StatusBadRequest, "The body must be a JSON object, not null.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, problem(http.StatusBadRequest, "The body must hold one JSON object and nothing after it.")
	}
	return fields, nil
}

// hasNUL tells whether a JSON text holds the escape \u0000 (a raw NUL byte
// is not valid JSON and fails decoding anyway). An escape is one when an
// even number of backslashes precede its own.
func hasNUL(body []byte) bool {
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte(`\u0000`))
		if j < 0 {
			return false
		}
		j += i
		n := 0
		for k := j - 1; k >= 0 && body[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return true
		}
		i = j + 1
	}
}

// maxDepth bounds how deeply a request body may nest objects and arrays.
const maxDepth = 16

// decodePatch turns a JSON object into a monitor.Patch, naming every field
// that is unknown, null or of the wrong type.
func decodePatch(fields map[string]json.RawMessage) (monitor.Patch, error) {
	var p monitor.Patch
	var v monitor.ValidationError
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names) // errors in a stable order
	for _, name := range names {
		raw := fields[name]
		var err error
		switch name {
		case "name":
			p.Name, err = field[string](raw, "a string")
		case "url":
			p.URL, err = field[string](raw, "a string")
		case "method":
			p.Method, err = field[string](raw, "a string")
		case "headers":
			p.Headers, err = field[map[string]string](raw, "an object of strings")
		case "body":
			p.Body, err = field[string](raw, "a string")
		case "interval_seconds":
			p.IntervalSeconds, err = field[int](raw, "a whole number")
		case "timeout_ms":
			p.TimeoutMS, err = field[int](raw, "a whole number")
		case "expected_status":
			p.ExpectedStatus, err = field[string](raw, "a string such as \"200-299,301\"")
		case "follow_redirects":
			p.FollowRedirects, err = field[bool](raw, "true or false")
		case "verify_tls":
			p.VerifyTLS, err = field[bool](raw, "true or false")
		case "enabled":
			p.Enabled, err = field[bool](raw, "true or false")
		case "type":
			p.Type, err = field[string](raw, "a string")
		case "max_redirects":
			p.MaxRedirects, err = field[int](raw, "a whole number")
		case "assertions":
			p.Assertions, err = strictField[[]monitor.Assertion](raw, "a list of {type, path, op, value} objects")
		case "ip_version":
			p.IPVersion, err = field[string](raw, `"4", "6" or ""`)
		case "proxy_url":
			p.ProxyURL, err = field[string](raw, "a string")
		case "basic_auth":
			var b *basicAuthJSON
			if b, err = strictField[basicAuthJSON](raw, "an object {username, password}"); err == nil {
				p.BasicAuthUser, p.BasicAuthPassword = &b.Username, &b.Password
			}
		case "bearer_token":
			p.BearerToken, err = field[string](raw, "a string")
		case "client_cert":
			p.ClientCert, err = field[string](raw, "a PEM string")
		case "client_key":
			p.ClientKey, err = field[string](raw, "a PEM string")
		case "host":
			p.Host, err = field[string](raw, "a string")
		case "port":
			p.Port, err = field[int](raw, "a whole number")
		case "tls":
			p.TLS, err = field[bool](raw, "true or false")
		case "send":
			p.Send, err = field[string](raw, "a string")
		case "expect":
			p.Expect, err = field[string](raw, "a string")
		case "record_type":
			p.RecordType, err = field[string](raw, "a string")
		case "resolver":
			p.Resolver, err = field[string](raw, "a string such as 1.1.1.1:53")
		case "expected_values":
			p.ExpectedValues, err = field[[]string](raw, "a list of strings")
		case "match_all":
			p.MatchAll, err = field[bool](raw, "true or false")
		case "warn_days":
			p.WarnDays, err = field[int](raw, "a whole number")
		case "packets":
			p.Packets, err = field[int](raw, "a whole number")
		case "cron":
			p.Cron, err = field[string](raw, "a string such as \"0 3 * * *\"")
		case "time_zone":
			p.TimeZone, err = field[string](raw, "a string such as Europe/Berlin")
		case "grace_seconds":
			p.GraceSeconds, err = field[int](raw, "a whole number")
		case "confirmations":
			p.Confirmations, err = field[int](raw, "a whole number")
		case "recovery_confirmations":
			p.RecoveryConfirmations, err = field[int](raw, "a whole number")
		case "reminder_minutes":
			p.ReminderMinutes, err = field[int](raw, "a whole number (0: no reminders)")
		case "cert_alert_days":
			p.CertAlertDays, err = field[[]int](raw, "a list of whole numbers of days")
		case "channels":
			p.Channels, err = channelIDs(raw)
		case "id", "incident", "ping_url", "status", "status_since", "last_check_at", "last_latency_ms", "last_error", "created_at", "updated_at":
			err = errors.New("is read-only")
		default:
			err = errors.New("is not a known field")
		}
		if err != nil {
			v.Add(name, "%s", err.Error())
		}
	}
	return p, v.Err()
}

// strictField decodes an object or list of objects, refusing unknown keys.
func strictField[T any](raw json.RawMessage, want string) (*T, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, errors.New("must not be null")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var v T
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("must be %s", want)
	}
	return &v, nil
}

func field[T any](raw json.RawMessage, want string) (*T, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, errors.New("must not be null")
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("must be %s", want)
	}
	return &v, nil
}

// channelIDs reads a list of channel ids as the API shows them.
func channelIDs(raw json.RawMessage) (*[]int64, error) {
	ids, err := field[[]string](raw, "a list of channel ids such as [\"1\"]")
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(*ids))
	for i, s := range *ids {
		if out[i], err = monitor.ParseID(s); err != nil {
			return nil, fmt.Errorf("holds %q, which is not a channel id", s)
		}
	}
	return &out, nil
}
