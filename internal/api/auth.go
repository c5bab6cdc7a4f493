package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pinguin-dev/pinguin/internal/auth"
	"github.com/pinguin-dev/pinguin/internal/store"
)

type tokenKey struct{}

// tokenFrom returns the token that authenticated the request.
func tokenFrom(ctx context.Context) (auth.Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(auth.Token)
	return t, ok
}

var errUnauthenticated = problem(http.StatusUnauthorized,
	"This needs a valid API token: send Authorization: Bearer <token>. The token given is missing, unknown, expired or revoked.")

// authenticate lets a request through only with a token that exists, has
// not expired, and whose scope allows needs. It runs before the handler
// looks anything up, so a 401 or 403 never tells whether a monitor exists.
func (s *Server) authenticate(needs auth.Scope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := s.tokenOf(r)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="pinguin"`)
				s.writeError(w, r, err)
				return
			}
			if !tok.Scope.Allows(needs) {
				s.writeError(w, r, problem(http.StatusForbidden,
					"This token's scope is "+string(tok.Scope)+"; this needs "+string(needs)+"."))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok)))
		})
	}
}

func (s *Server) tokenOf(r *http.Request) (auth.Token, error) {
	secret, err := auth.FromHeader(r.Header.Get("Authorization"))
	if err != nil {
		return auth.Token{}, errUnauthenticated
	}
	hash := auth.Hash(secret)
	tok, err := s.store.TokenByHash(r.Context(), hash)
	if errors.Is(err, store.ErrTokenNotFound) {
		return tok, errUnauthenticated
	}
	if err != nil {
		return tok, err
	}
	// The lookup matched the hash already; compare again in constant time
	// so that no code path's timing depends on how much of it matched.
	if !auth.Equal(tok.Hash, hash) || tok.Expired(s.now()) {
		return tok, errUnauthenticated
	}
	// The lookup brought the last use: record a new one only when it is
	// a minute old, so a busy client costs no write per request.
	if now := s.now(); tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) >= time.Minute {
		if err := s.store.TouchToken(context.WithoutCancel(r.Context()), tok.ID, now); err != nil {
			s.logger.WarnContext(r.Context(), "record token use", "token", tok.ID, "err", err)
		}
	}
	return tok, nil
}

// rateKeyByToken keys the per-token rate limit; it runs after authenticate.
func rateKeyByToken(r *http.Request) (string, error) {
	if tok, ok := tokenFrom(r.Context()); ok {
		return "token:" + strconv.FormatInt(tok.ID, 10), nil
	}
	return "anonymous", nil
}
