package api

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// kind is a kind of thing the API serves by id under /{id}. Ids are shown
// and read like monitors' (monitor.FormatID, monitor.ParseID), and a
// malformed id is the same 404 as an unknown one, naming the kind.
type kind struct{ notFound *Problem }

var (
	channelRoute  = kind{problem(http.StatusNotFound, "No channel has this id.")}
	windowRoute   = kind{problem(http.StatusNotFound, "No maintenance window has this id.")}
	incidentRoute = kind{problem(http.StatusNotFound, "No incident has this id.")}
	deliveryRoute = kind{problem(http.StatusNotFound, "No delivery has this id.")}
	tokenRoute    = kind{problem(http.StatusNotFound, "No token has this id.")}
)

// pathID reads the id in the request's path.
func (k kind) pathID(r *http.Request) (int64, error) {
	id, err := monitor.ParseID(chi.URLParam(r, "id"))
	if err != nil {
		return 0, k.notFound
	}
	return id, nil
}

// err is err, with the store's alert.ErrNotFound made the kind's 404.
func (k kind) err(err error) error {
	if errors.Is(err, alert.ErrNotFound) {
		return k.notFound
	}
	return err
}

// nextPage cuts items, fetched with one more than limit, to limit, and
// returns the cursor of the page after them (cursor kind letter, the last
// item's id), nil on the last page.
func nextPage[T any](items []T, limit int, letter byte, id func(T) int64) ([]T, *string) {
	if len(items) <= limit {
		return items, nil
	}
	items = items[:limit]
	c := encodeCursor(letter, id(items[limit-1]))
	return items, &c
}
