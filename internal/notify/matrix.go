package notify

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// matrix posts a message to a Matrix room through the client-server API,
// as the user whose access token the channel holds (a bot account).
type matrix struct {
	client      *http.Client
	homeserver  string
	roomID      string
	accessToken string
}

func newMatrix(cfg Config, client *http.Client) (Sender, error) {
	homeserver, err := pagingURL(cfg, "settings.homeserver", "", true)
	if err != nil {
		return nil, err
	}
	roomID, err := pagingRequired(cfg, "settings.room_id")
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(roomID, "!") || !strings.Contains(roomID, ":") {
		return nil, &FieldError{Field: "settings.room_id", Message: "must be a room ID like !room:server"}
	}
	token, err := pagingRequired(cfg, "secrets.access_token")
	if err != nil {
		return nil, err
	}
	return &matrix{client: client, homeserver: homeserver, roomID: roomID, accessToken: token}, nil
}

type matrixMessage struct {
	MsgType       string `json:"msgtype"`
	Body          string `json:"body"`
	Format        string `json:"format"`
	FormattedBody string `json:"formatted_body"`
}

// Send puts an m.room.message event. Its transaction ID is derived from the
// event (incident, kind, time), not drawn at random: the homeserver treats
// a repeated transaction ID as the same message, so when the outbox retries
// an event whose first answer was lost, the room does not see it twice.
func (m *matrix) Send(ctx context.Context, e Event) error {
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	txn := pagingDedupKey(e) + "-" + e.Kind + "-" + strconv.FormatInt(at.UnixNano(), 10)
	target := m.homeserver + "/_matrix/client/v3/rooms/" + url.PathEscape(m.roomID) +
		"/send/m.room.message/" + url.PathEscape(txn)
	msg := matrixMessage{
		MsgType:       "m.text",
		Body:          e.Title() + "\n" + pagingText(e),
		Format:        "org.matrix.custom.html",
		FormattedBody: pagingHTML(e),
	}
	header := http.Header{"Authorization": {"Bearer " + m.accessToken}}
	_, err := pagingJSON(ctx, m.client, http.MethodPut, target, header, msg, "matrix")
	return err
}
