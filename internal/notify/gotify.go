package notify

import (
	"context"
	"net/http"
)

// gotify pushes a message to a Gotify server with an application token.
type gotify struct {
	client *http.Client
	server string
	token  string
}

func newGotify(cfg Config, client *http.Client) (Sender, error) {
	server, err := pagingURL(cfg, "settings.server", "", false)
	if err != nil {
		return nil, err
	}
	token, err := pagingRequired(cfg, "secrets.token")
	if err != nil {
		return nil, err
	}
	return &gotify{client: client, server: server, token: token}, nil
}

type gotifyMessage struct {
	Title    string         `json:"title"`
	Message  string         `json:"message"`
	Priority int            `json:"priority"`
	Extras   map[string]any `json:"extras,omitempty"`
}

// Send posts the message; the token goes in a header, not the URL, so it
// stays out of proxies' and servers' logs.
func (g *gotify) Send(ctx context.Context, e Event) error {
	priority := 8
	switch e.Kind {
	case KindUp, KindTest:
		priority = 4
	case KindCert:
		priority = 6
	}
	msg := gotifyMessage{Title: e.Title(), Message: pagingText(e), Priority: priority}
	if e.Link != "" {
		msg.Extras = map[string]any{
			"client::notification": map[string]any{"click": map[string]string{"url": e.Link}},
		}
	}
	header := http.Header{"X-Gotify-Key": {g.token}}
	_, err := pagingJSON(ctx, g.client, http.MethodPost, g.server+"/message", header, msg, "gotify")
	return err
}
