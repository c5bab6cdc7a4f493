package notify

import (
	"context"
	"net/http"
	"regexp"
	"strings"
)

// ntfy publishes to a topic of an ntfy server.
type ntfy struct {
	client *http.Client
	url    string
	topic  string
	token  string
}

// ntfyTopic is what ntfy accepts as a topic name.
var ntfyTopic = regexp.MustCompile(`^[-_A-Za-z0-9]{1,64}$`)

// newNtfy reads settings.server (default https://ntfy.sh; a self-hosted
// server may be http), settings.topic and the optional secrets.token, an
// access token sent as a Bearer token.
func newNtfy(cfg Config, client *http.Client) (Sender, error) {
	server, err := chatURL(cfg.Settings, "settings", "server", "https://ntfy.sh", false)
	if err != nil {
		return nil, err
	}
	topic, err := chatRequired(cfg.Settings, "settings", "topic")
	if err != nil {
		return nil, err
	}
	if !ntfyTopic.MatchString(topic) {
		return nil, &FieldError{Field: "settings.topic", Message: "must be 1 to 64 letters, digits, - or _"}
	}
	return &ntfy{
		client: client,
		// JSON messages are published to the server's root.
		url:   strings.TrimRight(server, "/") + "/",
		topic: topic,
		token: strings.TrimSpace(cfg.Secrets["token"]),
	}, nil
}

type ntfyMessage struct {
	Topic    string   `json:"topic"`
	Title    string   `json:"title"`
	Message  string   `json:"message"`
	Priority int      `json:"priority"`
	Tags     []string `json:"tags"`
	Click    string   `json:"click,omitempty"`
}

// ntfyLook is an event's priority (1 to 5) and tags (emoji short codes).
func ntfyLook(kind string) (int, []string) {
	switch kind {
	case KindDown:
		return 5, []string{"rotating_light"}
	case KindReminder:
		return 4, []string{"rotating_light"}
	case KindUp:
		return 3, []string{"white_check_mark"}
	case KindCert:
		return 4, []string{"warning"}
	default:
		return 3, []string{"bell"}
	}
}

func (n *ntfy) Send(ctx context.Context, e Event) error {
	var b strings.Builder
	for i, f := range chatFacts(e) {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(f.Name + ": " + f.Value)
	}
	prio, tags := ntfyLook(e.Kind)
	body, err := chatJSON(ntfyMessage{
		Topic:    n.topic,
		Title:    e.Title(),
		Message:  b.String(),
		Priority: prio,
		Tags:     tags,
		Click:    e.Link,
	})
	if err != nil {
		return err
	}
	h := http.Header{}
	if n.token != "" {
		h.Set("Authorization", "Bearer "+n.token)
	}
	_, err = chatPost(ctx, n.client, "ntfy", n.url, body, h)
	return err
}
