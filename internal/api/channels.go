package api

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/notify"
)

// channelJSON is a notification channel as the API shows it: each secret
// it has is shown as monitor.Masked, never its value.
type channelJSON struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Type      string            `json:"type"`
	Settings  map[string]string `json:"settings"`
	Secrets   map[string]string `json:"secrets"`
	Default   bool              `json:"default"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

func toChannelJSON(c alert.Channel) channelJSON {
	out := channelJSON{
		ID: monitor.FormatID(c.ID), Name: c.Name, Type: c.Type, Settings: c.Settings,
		Secrets: make(map[string]string, len(c.Secrets)), Default: c.Default,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
	}
	if out.Settings == nil {
		out.Settings = map[string]string{}
	}
	for k := range c.Secrets {
		out.Secrets[k] = monitor.Masked
	}
	return out
}

// channelInput holds the fields of a channel body; nil when absent.
type channelInput struct {
	name, typ         *string
	settings, secrets *map[string]string
	isDefault         *bool
}

// decodeChannel reads a channel body, adding to v every field that is
// unknown, read-only, null or of the wrong type.
func decodeChannel(fields map[string]json.RawMessage, v *monitor.ValidationError) channelInput {
	var in channelInput
	for _, name := range slices.Sorted(maps.Keys(fields)) { // errors in a stable order
		raw := fields[name]
		var err error
		switch name {
		case "name":
			in.name, err = field[string](raw, "a string")
		case "type":
			in.typ, err = field[string](raw, "a string")
		case "settings":
			in.settings, err = field[map[string]string](raw, "an object of strings")
		case "secrets":
			in.secrets, err = field[map[string]string](raw, "an object of strings")
		case "default":
			in.isDefault, err = field[bool](raw, "true or false")
		case "id", "created_at", "updated_at":
			err = errors.New("is read-only")
		default:
			err = errors.New("is not a known field")
		}
		if err != nil {
			v.Add(name, "%s", err.Error())
		}
	}
	return in
}

// apply sets the given fields on c. Given secrets replace c's, except
// that one sent back as monitor.Masked keeps the value c has; empty ones
// are left out.
func (in *channelInput) apply(c *alert.Channel) {
	if in.name != nil {
		c.Name = strings.TrimSpace(*in.name)
	}
	if in.typ != nil {
		c.Type = channelType(*in.typ)
	}
	if in.settings != nil {
		c.Settings = *in.settings
	}
	if in.secrets != nil {
		secrets := make(map[string]string, len(*in.secrets))
		for k, val := range *in.secrets {
			if old, ok := c.Secrets[k]; ok && val == monitor.Masked {
				val = old
			}
			if val != "" {
				secrets[k] = val
			}
		}
		c.Secrets = secrets
	}
	if in.isDefault != nil {
		c.Default = *in.isDefault
	}
}

// channelType is a type as given, in its canonical spelling.
func channelType(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// validateChannel adds to v what is wrong with c, the provider's own
// checks of its settings and secrets included, and returns v's error.
func validateChannel(c *alert.Channel, v *monitor.ValidationError) error {
	switch {
	case c.Name == "" && !hasField(*v, "name"):
		v.Add("name", "is required")
	case utf8.RuneCountInString(c.Name) > 200:
		v.Add("name", "must be at most 200 characters")
	}
	masked := false
	for _, k := range slices.Sorted(maps.Keys(c.Secrets)) {
		if c.Secrets[k] == monitor.Masked {
			v.Add("secrets."+k, "is %s, which stands for a stored secret, but none is stored; send the secret itself", monitor.Masked)
			masked = true
		}
	}
	if c.Type == "" && !hasField(*v, "type") {
		v.Add("type", "is required")
	}
	if masked || hasField(*v, "type") || hasField(*v, "settings") || hasField(*v, "secrets") {
		return v.Err()
	}
	// The provider checks its own settings and secrets, with the types
	// it knows; an error other than a field's is an unknown type.
	_, err := notify.New(notify.Config{Type: c.Type, Settings: c.Settings, Secrets: c.Secrets}, nil)
	var fe *notify.FieldError
	switch {
	case errors.As(err, &fe):
		v.Add(fe.Field, "%s", fe.Message)
	case err != nil:
		v.Add("type", "must be one of %s", strings.Join(notify.Types(), ", "))
	}
	return v.Err()
}

func (s *Server) createChannel(w http.ResponseWriter, r *http.Request) {
	fields, err := readObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var v monitor.ValidationError
	in := decodeChannel(fields, &v)
	var c alert.Channel
	in.apply(&c)
	if err := validateChannel(&c, &v); err != nil {
		s.writeError(w, r, err)
		return
	}
	created, err := s.store.CreateChannel(r.Context(), c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := toChannelJSON(created)
	w.Header().Set("Location", "/api/v1/channels/"+out.ID)
	writeJSON(w, s.logger, http.StatusCreated, out)
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.ListChannels(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]channelJSON, len(list))
	for i, c := range list {
		out[i] = toChannelJSON(c)
	}
	writeJSON(w, s.logger, http.StatusOK, map[string]any{"channels": out})
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request) {
	id, err := channelRoute.pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.store.GetChannel(r.Context(), id)
	if err != nil {
		s.writeError(w, r, channelRoute.err(err))
		return
	}
	writeJSON(w, s.logger, http.StatusOK, toChannelJSON(c))
}

func (s *Server) updateChannel(w http.ResponseWriter, r *http.Request) {
	id, err := channelRoute.pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	fields, err := readObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var v monitor.ValidationError
	in := decodeChannel(fields, &v)
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	updated, err := s.store.UpdateChannel(r.Context(), id, func(c *alert.Channel) error {
		if in.typ != nil && channelType(*in.typ) != c.Type {
			return invalid("type", "cannot be changed; create a new channel of the other type")
		}
		in.apply(c)
		return validateChannel(c, &monitor.ValidationError{})
	})
	if err != nil {
		s.writeError(w, r, channelRoute.err(err))
		return
	}
	writeJSON(w, s.logger, http.StatusOK, toChannelJSON(updated))
}

func (s *Server) deleteChannel(w http.ResponseWriter, r *http.Request) {
	id, err := channelRoute.pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.DeleteChannel(r.Context(), id); err != nil {
		s.writeError(w, r, channelRoute.err(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// testTimeout bounds a test notification, and is the timeout of the
// default client for providers.
const testTimeout = 15 * time.Second

// testResultJSON is the outcome of a test notification: delivered, or
// what the provider answered and whether trying again may help.
type testResultJSON struct {
	Delivered      bool   `json:"delivered"`
	ProviderStatus int    `json:"provider_status,omitempty"`
	ProviderAnswer string `json:"provider_answer,omitempty"`
	Error          string `json:"error,omitempty"`
	Retryable      *bool  `json:"retryable,omitempty"`
}

// testChannel sends a test notification through a channel at once, not
// through the outbox, and tells how it went. A failure to deliver is the
// answer to the request, not an error of it: it is a 200.
func (s *Server) testChannel(w http.ResponseWriter, r *http.Request) {
	id, err := channelRoute.pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.store.GetChannel(r.Context(), id)
	if err != nil {
		s.writeError(w, r, channelRoute.err(err))
		return
	}
	out := testResultJSON{Delivered: true}
	sender, err := notify.New(notify.Config{Type: c.Type, Settings: c.Settings, Secrets: c.Secrets}, s.opts.NotifyClient)
	if err == nil {
		ctx, cancel := context.WithTimeout(r.Context(), testTimeout)
		defer cancel()
		err = sender.Send(ctx, notify.Event{Kind: notify.KindTest, MonitorName: "Pinguin", At: s.now(), Link: s.opts.PublicURL})
	}
	if err != nil {
		// A stored channel that no longer passes validation is told
		// like a failed delivery: changing the channel is the fix.
		out = testResultJSON{Error: err.Error(), Retryable: ptr(false)}
		var de *notify.DeliveryError
		if errors.As(err, &de) {
			out.ProviderStatus, out.ProviderAnswer, out.Retryable = de.Status, de.Body, ptr(de.Retryable)
			if de.Err != nil {
				out.Error = de.Err.Error()
			}
		}
	}
	writeJSON(w, s.logger, http.StatusOK, out)
}
