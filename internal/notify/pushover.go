package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// pushoverURL is Pushover's message API.
const pushoverURL = "https://api.pushover.net/1/messages.json"

// pushover sends a push notification through Pushover: an application's
// token and a user's (or group's) key.
type pushover struct {
	client  *http.Client
	apiURL  string
	token   string
	userKey string
}

func newPushover(cfg Config, client *http.Client) (Sender, error) {
	token, err := pagingRequired(cfg, "secrets.token")
	if err != nil {
		return nil, err
	}
	userKey, err := pagingRequired(cfg, "secrets.user_key")
	if err != nil {
		return nil, err
	}
	apiURL, err := pagingURL(cfg, "settings.api_url", pushoverURL, false)
	if err != nil {
		return nil, err
	}
	return &pushover{client: client, apiURL: apiURL, token: token, userKey: userKey}, nil
}

// Send posts the form Pushover expects (its own limits: title 250, message
// 1024, url 512 and url_title 100 characters) and checks its "status".
func (p *pushover) Send(ctx context.Context, e Event) error {
	priority := 0
	if e.Kind == KindDown || e.Kind == KindReminder {
		priority = 1
	}
	form := url.Values{
		"token":    {p.token},
		"user":     {p.userKey},
		"title":    {truncate(e.Title(), 250)},
		"message":  {truncate(pagingText(e), 1024)},
		"priority": {strconv.Itoa(priority)},
	}
	if e.Link != "" && len(e.Link) <= 512 {
		form.Set("url", e.Link)
		form.Set("url_title", "Open in Pinguin")
	}
	req, err := pagingNewRequest(ctx, http.MethodPost, p.apiURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	body, err := send(p.client, req, "pushover")
	if err != nil {
		return err
	}
	var answer struct {
		Status int `json:"status"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Status != 1 {
		return &DeliveryError{
			Status: http.StatusOK,
			Body:   errorBody(body),
			Err:    fmt.Errorf("pushover answered status %d", answer.Status),
		}
	}
	return nil
}
