package notify

import (
	"context"
	"net/http"
)

// teams posts Adaptive Cards to a Microsoft Teams workflow webhook.
type teams struct {
	client *http.Client
	url    string
}

// newTeams reads secrets.webhook_url, the URL of a Power Automate workflow
// triggered by "When a Teams webhook request is received" (the Office 365
// connectors' incoming webhooks are retired).
func newTeams(cfg Config, client *http.Client) (Sender, error) {
	u, err := chatURL(cfg.Secrets, "secrets", "webhook_url", "", true)
	if err != nil {
		return nil, err
	}
	return &teams{client: client, url: u}, nil
}

// The workflow's message: one Adaptive Card attachment.
type (
	teamsMessage struct {
		Type        string            `json:"type"`
		Attachments []teamsAttachment `json:"attachments"`
	}
	teamsAttachment struct {
		ContentType string    `json:"contentType"`
		Content     teamsCard `json:"content"`
	}
	teamsCard struct {
		Schema  string         `json:"$schema"`
		Type    string         `json:"type"`
		Version string         `json:"version"`
		Body    []teamsElement `json:"body"`
		Actions []teamsAction  `json:"actions,omitempty"`
	}
	teamsElement struct {
		Type   string      `json:"type"`
		Text   string      `json:"text,omitempty"`
		Weight string      `json:"weight,omitempty"`
		Size   string      `json:"size,omitempty"`
		Wrap   bool        `json:"wrap,omitempty"`
		Facts  []teamsFact `json:"facts,omitempty"`
	}
	teamsFact struct {
		Title string `json:"title"`
		Value string `json:"value"`
	}
	teamsAction struct {
		Type  string `json:"type"`
		Title string `json:"title"`
		URL   string `json:"url"`
	}
)

func (t *teams) Send(ctx context.Context, e Event) error {
	var facts []teamsFact
	for _, f := range chatFacts(e) {
		facts = append(facts, teamsFact{Title: f.Name, Value: f.Value})
	}
	card := teamsCard{
		Schema:  "http://adaptivecards.io/schemas/adaptive-card.json",
		Type:    "AdaptiveCard",
		Version: "1.4",
		Body: []teamsElement{
			{Type: "TextBlock", Text: e.Title(), Weight: "bolder", Size: "medium", Wrap: true},
			{Type: "FactSet", Facts: facts},
		},
	}
	if e.Link != "" {
		card.Actions = []teamsAction{{Type: "Action.OpenUrl", Title: "Open in Pinguin", URL: e.Link}}
	}
	body, err := chatJSON(teamsMessage{
		Type: "message",
		Attachments: []teamsAttachment{{
			ContentType: "application/vnd.microsoft.card.adaptive",
			Content:     card,
		}},
	})
	if err != nil {
		return err
	}
	_, err = chatPost(ctx, t.client, "teams", t.url, body, nil)
	return err
}
