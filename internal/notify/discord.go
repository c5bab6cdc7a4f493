package notify

import (
	"context"
	"net/http"
)

// discord posts embeds to a Discord channel webhook.
type discord struct {
	client *http.Client
	url    string
}

// newDiscord reads secrets.webhook_url, the channel webhook's URL
// (https://discord.com/api/webhooks/…).
func newDiscord(cfg Config, client *http.Client) (Sender, error) {
	u, err := chatURL(cfg.Secrets, "secrets", "webhook_url", "", true)
	if err != nil {
		return nil, err
	}
	return &discord{client: client, url: u}, nil
}

// Discord's webhook message, only what Pinguin sends.
type (
	discordMessage struct {
		Username        string          `json:"username"`
		Embeds          []discordEmbed  `json:"embeds"`
		AllowedMentions discordMentions `json:"allowed_mentions"`
	}
	discordEmbed struct {
		Title       string         `json:"title"`
		Description string         `json:"description,omitempty"`
		URL         string         `json:"url,omitempty"`
		Color       int            `json:"color"`
		Fields      []discordField `json:"fields"`
		Timestamp   string         `json:"timestamp,omitempty"`
	}
	discordField struct {
		Name   string `json:"name"`
		Value  string `json:"value"`
		Inline bool   `json:"inline"`
	}
	// discordMentions with an empty Parse keeps an error text holding
	// "@everyone" from pinging the channel.
	discordMentions struct {
		Parse []string `json:"parse"`
	}
)

// Embed colours and limits.
const (
	discordRed    = 0xE53935
	discordGreen  = 0x43A047
	discordOrange = 0xFB8C00
	discordBlue   = 0x1E88E5

	discordTitleLimit      = 256
	discordFieldValueLimit = 1024
)

func discordColor(kind string) int {
	switch kind {
	case KindDown, KindReminder:
		return discordRed
	case KindUp:
		return discordGreen
	case KindCert:
		return discordOrange
	default:
		return discordBlue
	}
}

func (d *discord) Send(ctx context.Context, e Event) error {
	var fields []discordField
	for _, f := range chatFacts(e) {
		fields = append(fields, discordField{
			Name:   f.Name,
			Value:  truncate(f.Value, discordFieldValueLimit),
			Inline: f.Name != "Error" && f.Name != "Target",
		})
	}
	desc := ""
	if e.Link != "" {
		desc = "[Open in Pinguin](" + e.Link + ")"
	}
	body, err := chatJSON(discordMessage{
		Username: "Pinguin",
		Embeds: []discordEmbed{{
			Title:       truncate(e.Title(), discordTitleLimit),
			Description: desc,
			URL:         e.Link,
			Color:       discordColor(e.Kind),
			Fields:      fields,
			Timestamp:   chatTime(e.At),
		}},
		AllowedMentions: discordMentions{Parse: []string{}},
	})
	if err != nil {
		return err
	}
	_, err = chatPost(ctx, d.client, "discord", d.url, body, nil)
	return err
}
