package notify

import (
	"context"
	"net/http"
)

// pagerDutyURL is the Events API v2 endpoint.
const pagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// pagerDuty triggers and resolves PagerDuty incidents through the Events API
// v2, deduplicated on the Pinguin incident.
type pagerDuty struct {
	client     *http.Client
	apiURL     string
	routingKey string
}

func newPagerDuty(cfg Config, client *http.Client) (Sender, error) {
	key, err := pagingRequired(cfg, "secrets.routing_key")
	if err != nil {
		return nil, err
	}
	if len(key) != 32 {
		return nil, &FieldError{Field: "secrets.routing_key", Message: "must be 32 characters"}
	}
	apiURL, err := pagingURL(cfg, "settings.api_url", pagerDutyURL, false)
	if err != nil {
		return nil, err
	}
	return &pagerDuty{client: client, apiURL: apiURL, routingKey: key}, nil
}

type pagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"`
	DedupKey    string            `json:"dedup_key"`
	Payload     *pagerDutyPayload `json:"payload,omitempty"`
	Links       []pagerDutyLink   `json:"links,omitempty"`
}

type pagerDutyPayload struct {
	Summary       string            `json:"summary"`
	Source        string            `json:"source"`
	Severity      string            `json:"severity"`
	Timestamp     string            `json:"timestamp"`
	Component     string            `json:"component,omitempty"`
	CustomDetails map[string]string `json:"custom_details"`
}

type pagerDutyLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// Send triggers an alert for every kind but up, which resolves it.
func (p *pagerDuty) Send(ctx context.Context, e Event) error {
	ev := pagerDutyEvent{RoutingKey: p.routingKey, EventAction: "resolve", DedupKey: pagingDedupKey(e)}
	if e.Kind != KindUp {
		severity := "critical"
		switch e.Kind {
		case KindCert:
			severity = "warning"
		case KindTest:
			severity = "info"
		}
		source := e.Target
		if source == "" {
			source = e.MonitorName
		}
		ev.EventAction = "trigger"
		ev.Payload = &pagerDutyPayload{
			Summary:       truncate(e.Title(), 1024),
			Source:        source,
			Severity:      severity,
			Timestamp:     pagingTime(e.At),
			Component:     e.MonitorName,
			CustomDetails: pagingDetails(e),
		}
		if e.Link != "" {
			ev.Links = []pagerDutyLink{{Href: e.Link, Text: "Open in Pinguin"}}
		}
	}
	_, err := pagingJSON(ctx, p.client, http.MethodPost, p.apiURL, nil, ev, "pagerduty")
	return err
}
