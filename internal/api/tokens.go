package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pinguin-dev/pinguin/internal/auth"
	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/store"
)

// tokenJSON is a token as the API shows it; Token is set only in the answer
// to its creation.
type tokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scope      auth.Scope `json:"scope"`
	Hint       string     `json:"hint"`
	Token      string     `json:"token,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func toTokenJSON(t auth.Token) tokenJSON {
	out := tokenJSON{ID: strconv.FormatInt(t.ID, 10), Name: t.Name, Scope: t.Scope, Hint: t.Hint, CreatedAt: t.CreatedAt.UTC()}
	if t.ExpiresAt != nil {
		out.ExpiresAt = utc(*t.ExpiresAt)
	}
	if t.LastUsedAt != nil {
		out.LastUsedAt = utc(*t.LastUsedAt)
	}
	return out
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	fields, err := readObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var v monitor.ValidationError
	var name, scope string
	var expires *time.Time
	for key, raw := range fields {
		switch key {
		case "name":
			if p, err := field[string](raw, "a string"); err != nil {
				v.Add(key, "%s", err.Error())
			} else {
				name = strings.TrimSpace(*p)
			}
		case "scope":
			if p, err := field[string](raw, "a string"); err != nil {
				v.Add(key, "%s", err.Error())
			} else {
				scope = *p
			}
		case "expires_at":
			if p, err := field[time.Time](raw, "an RFC 3339 time"); err != nil {
				v.Add(key, "%s", err.Error())
			} else if !p.After(s.now()) {
				v.Add(key, "must be in the future")
			} else {
				expires = p
			}
		default:
			v.Add(key, "is not a known field")
		}
	}
	if name == "" && !hasField(v, "name") {
		v.Add("name", "is required")
	} else if utf8.RuneCountInString(name) > 200 {
		v.Add("name", "must be at most 200 characters")
	}
	sc, err := auth.ParseScope(scope)
	if err != nil && !hasField(v, "scope") {
		v.Add("scope", "%s", err.Error())
	}
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	secret := auth.Generate()
	tok, err := s.store.CreateToken(r.Context(), name, sc, auth.Hash(secret), auth.Hint(secret), expires)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := toTokenJSON(tok)
	out.Token = secret
	w.Header().Set("Location", "/api/v1/tokens/"+out.ID)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, s.logger, http.StatusCreated, out)
}

func hasField(v monitor.ValidationError, name string) bool {
	for _, f := range v.Fields {
		if f.Field == name {
			return true
		}
	}
	return false
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	toks, err := s.store.ListTokens(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]tokenJSON, len(toks))
	for i, t := range toks {
		out[i] = toTokenJSON(t)
	}
	writeJSON(w, s.logger, http.StatusOK, map[string]any{"tokens": out})
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) {
	id, err := tokenRoute.pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.DeleteToken(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrTokenNotFound) {
			err = tokenRoute.notFound
		}
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
