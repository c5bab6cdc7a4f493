package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/monitor"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string               `json:"type"`
	Title  string               `json:"title"`
	Status int                  `json:"status"`
	Detail string               `json:"detail,omitempty"`
	Errors []monitor.FieldError `json:"errors,omitempty"`
}

func (p *Problem) Error() string { return p.Detail }

func problem(status int, detail string, fields ...monitor.FieldError) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Errors: fields}
}

func invalid(field, message string) *Problem {
	return problem(http.StatusBadRequest, "The request is invalid: "+field+" "+message+".",
		monitor.FieldError{Field: field, Message: message})
}

var errNotFound = problem(http.StatusNotFound, "No monitor has this id.")

// writeError answers with the problem document err maps to. Domain errors
// are mapped here, in one place; anything unknown is logged and answered
// with a 500 that reveals nothing.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	var v *monitor.ValidationError
	switch {
	case errors.As(err, &p):
	case errors.As(err, &v):
		p = problem(http.StatusBadRequest, "The request is invalid: "+strings.TrimPrefix(v.Error(), "invalid monitor: ")+".", v.Fields...)
	case errors.Is(err, monitor.ErrNotFound):
		p = errNotFound
	case errors.Is(err, alert.ErrNotFound):
		p = problem(http.StatusNotFound, "Nothing of this kind has this id.")
	case errors.Is(err, alert.ErrIncidentResolved):
		p = problem(http.StatusConflict, "The incident is resolved; only open incidents can be acknowledged.")
	case errors.Is(err, alert.ErrDeliveryNotDead):
		p = problem(http.StatusConflict, "The delivery is not dead (it is pending or was delivered); only dead deliveries can be retried.")
	case errors.Is(err, alert.ErrStaleAlert):
		p = problem(http.StatusConflict, "The incident has resolved since this alert was given up on; sent now, it would arrive after the recovery message.")
	case errors.Is(err, r.Context().Err()):
		p = problem(http.StatusServiceUnavailable, "The request was cancelled before it completed.")
	default:
		s.logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		p = problem(http.StatusInternalServerError, "The server could not complete the request; it has been logged.")
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p *Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p) // the client may be gone; nothing to do then
}

func writeJSON(w http.ResponseWriter, logger *slog.Logger, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		logger.Debug("write response", "err", err)
	}
}
