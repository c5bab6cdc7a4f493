package notify

import (
	"context"
	"net/http"
	"strings"
)

// slack posts Block Kit messages to a Slack incoming webhook.
type slack struct {
	client *http.Client
	url    string
}

// newSlack reads secrets.webhook_url, the incoming webhook's URL
// (https://hooks.slack.com/services/T…/B…/…). Any https URL is accepted, so
// that Slack-compatible receivers and test servers work too.
func newSlack(cfg Config, client *http.Client) (Sender, error) {
	u, err := chatURL(cfg.Secrets, "secrets", "webhook_url", "", true)
	if err != nil {
		return nil, err
	}
	return &slack{client: client, url: u}, nil
}

// Slack's Block Kit types, only what the message uses.
type (
	slackMessage struct {
		Text   string       `json:"text"` // the fallback for notifications
		Blocks []slackBlock `json:"blocks"`
	}
	slackBlock struct {
		Type     string         `json:"type"`
		Text     *slackText     `json:"text,omitempty"`
		Fields   []slackText    `json:"fields,omitempty"`
		Elements []slackElement `json:"elements,omitempty"`
	}
	slackText struct {
		Type  string `json:"type"` // plain_text or mrkdwn
		Text  string `json:"text"`
		Emoji bool   `json:"emoji,omitempty"`
	}
	slackElement struct {
		Type string    `json:"type"`
		Text slackText `json:"text"`
		URL  string    `json:"url"`
	}
)

// Block Kit limits.
const (
	slackHeaderLimit = 150
	slackFieldLimit  = 2000
	slackFieldsLimit = 10
)

// slackEscape escapes the three characters mrkdwn reserves.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func (s *slack) Send(ctx context.Context, e Event) error {
	var fields []slackText
	for _, f := range chatFacts(e) {
		if len(fields) == slackFieldsLimit {
			break
		}
		text := "*" + f.Name + "*\n" + slackEscape.Replace(f.Value)
		fields = append(fields, slackText{Type: "mrkdwn", Text: truncate(text, slackFieldLimit)})
	}
	msg := slackMessage{
		Text: chatText(e),
		Blocks: []slackBlock{
			{Type: "header", Text: &slackText{Type: "plain_text", Text: truncate(e.Title(), slackHeaderLimit), Emoji: true}},
			{Type: "section", Fields: fields},
		},
	}
	if e.Link != "" {
		msg.Blocks = append(msg.Blocks, slackBlock{
			Type: "actions",
			Elements: []slackElement{{
				Type: "button",
				Text: slackText{Type: "plain_text", Text: "Open in Pinguin"},
				URL:  e.Link,
			}},
		})
	}
	body, err := chatJSON(msg)
	if err != nil {
		return err
	}
	_, err = chatPost(ctx, s.client, "slack", s.url, body, nil)
	return err
}
