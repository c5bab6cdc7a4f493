package notify

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// telegram sends messages through a Telegram bot.
type telegram struct {
	client   *http.Client
	endpoint string // {api_url}/bot{token}/sendMessage
	chatID   string
}

// telegramToken is the shape of a bot token, as @BotFather hands it out.
// Checking it also keeps the token, which goes into the URL path, from
// changing the URL.
var telegramToken = regexp.MustCompile(`^[0-9]+:[A-Za-z0-9_-]+$`)

// telegramErrorLimit cuts the error, in runes, well below Telegram's
// 4096-character limit on a message.
const telegramErrorLimit = 1000

// newTelegram reads secrets.bot_token, settings.chat_id (a numeric chat id
// or an @channel username) and the optional settings.api_url, a Bot API
// server (default https://api.telegram.org).
func newTelegram(cfg Config, client *http.Client) (Sender, error) {
	token, err := chatRequired(cfg.Secrets, "secrets", "bot_token")
	if err != nil {
		return nil, err
	}
	if !telegramToken.MatchString(token) {
		return nil, &FieldError{Field: "secrets.bot_token", Message: "must be a bot token like 123456789:AAE..."}
	}
	chatID, err := chatRequired(cfg.Settings, "settings", "chat_id")
	if err != nil {
		return nil, err
	}
	if _, err := strconv.ParseInt(chatID, 10, 64); err != nil && !strings.HasPrefix(chatID, "@") {
		return nil, &FieldError{Field: "settings.chat_id", Message: "must be a numeric chat id or an @channel username"}
	}
	api, err := chatURL(cfg.Settings, "settings", "api_url", "https://api.telegram.org", false)
	if err != nil {
		return nil, err
	}
	return &telegram{
		client:   client,
		endpoint: strings.TrimRight(api, "/") + "/bot" + token + "/sendMessage",
		chatID:   chatID,
	}, nil
}

type (
	telegramMessage struct {
		ChatID                string `json:"chat_id"`
		Text                  string `json:"text"`
		ParseMode             string `json:"parse_mode"`
		DisableWebPagePreview bool   `json:"disable_web_page_preview"`
	}
	telegramAnswer struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
	}
)

// telegramHTML is the message in Telegram's HTML parse mode.
func telegramHTML(e Event) string {
	var b strings.Builder
	b.WriteString("<b>" + html.EscapeString(e.Title()) + "</b>\n")
	for _, f := range chatFacts(e) {
		v := f.Value
		if f.Name == "Error" {
			v = truncate(v, telegramErrorLimit)
		}
		b.WriteString("\n<b>" + f.Name + ":</b> " + html.EscapeString(v))
	}
	if e.Link != "" {
		b.WriteString("\n\n<a href=\"" + html.EscapeString(e.Link) + "\">Open in Pinguin</a>")
	}
	return b.String()
}

func (t *telegram) Send(ctx context.Context, e Event) error {
	body, err := chatJSON(telegramMessage{
		ChatID:                t.chatID,
		Text:                  telegramHTML(e),
		ParseMode:             "HTML",
		DisableWebPagePreview: true,
	})
	if err != nil {
		return err
	}
	answer, err := chatPost(ctx, t.client, "telegram", t.endpoint, body, nil)
	if err != nil {
		return err
	}
	// The Bot API answers errors with a 4xx as a rule; an "ok": false in a
	// 2xx is a failure all the same. An answer that is not its JSON (a
	// proxy's page) is taken as delivered: the status said so.
	var a telegramAnswer
	if json.Unmarshal(answer, &a) == nil && !a.OK {
		return &DeliveryError{
			Status: http.StatusOK,
			Body:   errorBody(answer),
			Err:    errors.New("telegram answered ok: false: " + a.Description),
		}
	}
	return nil
}
