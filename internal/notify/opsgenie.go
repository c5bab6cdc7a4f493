package notify

import (
	"context"
	"net/http"
	"net/url"
)

// opsgenieURL is Opsgenie's API in the US; EU accounts use
// https://api.eu.opsgenie.com.
const opsgenieURL = "https://api.opsgenie.com"

// opsgenie creates and closes Opsgenie alerts, aliased to the Pinguin
// incident so reminders add to the open alert instead of opening new ones.
type opsgenie struct {
	client *http.Client
	apiURL string
	apiKey string
}

func newOpsgenie(cfg Config, client *http.Client) (Sender, error) {
	key, err := pagingRequired(cfg, "secrets.api_key")
	if err != nil {
		return nil, err
	}
	apiURL, err := pagingURL(cfg, "settings.api_url", opsgenieURL, false)
	if err != nil {
		return nil, err
	}
	return &opsgenie{client: client, apiURL: apiURL, apiKey: key}, nil
}

type opsgenieAlert struct {
	Message     string            `json:"message"`
	Alias       string            `json:"alias"`
	Description string            `json:"description"`
	Priority    string            `json:"priority"`
	Source      string            `json:"source"`
	Tags        []string          `json:"tags,omitempty"`
	Details     map[string]string `json:"details"`
}

type opsgenieNote struct {
	Source string `json:"source"`
	Note   string `json:"note"`
}

// Send creates an alert for every kind but up, which closes it by alias.
func (o *opsgenie) Send(ctx context.Context, e Event) error {
	header := http.Header{"Authorization": {"GenieKey " + o.apiKey}}
	alias := truncate(pagingDedupKey(e), 512)
	if e.Kind == KindUp {
		target := o.apiURL + "/v2/alerts/" + url.PathEscape(alias) + "/close?identifierType=alias"
		note := opsgenieNote{Source: "Pinguin", Note: truncate(e.Title()+"\n"+pagingText(e), 25000)}
		_, err := pagingJSON(ctx, o.client, http.MethodPost, target, header, note, "opsgenie")
		return err
	}
	priority := "P1"
	switch e.Kind {
	case KindCert:
		priority = "P3"
	case KindTest:
		priority = "P5"
	}
	alert := opsgenieAlert{
		Message:     truncate(e.Title(), 130),
		Alias:       alias,
		Description: truncate(pagingText(e), 15000),
		Priority:    priority,
		Source:      "Pinguin",
		Tags:        []string{"pinguin", e.Kind},
		Details:     pagingDetails(e),
	}
	_, err := pagingJSON(ctx, o.client, http.MethodPost, o.apiURL+"/v2/alerts", header, alert, "opsgenie")
	return err
}
