// Package auth holds API tokens: their scopes, how a token is generated, and
// how it is hashed for storage. It is pure; store keeps the hashes and the
// api checks every request against them.
//
// A token is "pgn_" followed by 32 random bytes in base64url. Only its
// SHA-256 hash is stored: the token is shown once, at creation. SHA-256
// without salt or stretching is right here because the secret is random
// and long, not a password someone chose.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Scope is what a token may do. Each scope includes the ones below it.
type Scope string

// The scopes, from least to most.
const (
	Read  Scope = "read"  // read monitors, checks and uptime
	Write Scope = "write" // also create, change and delete monitors
	Admin Scope = "admin" // also manage tokens
)

var rank = map[Scope]int{Read: 1, Write: 2, Admin: 3}

// ParseScope reads a scope name.
func ParseScope(s string) (Scope, error) {
	if _, ok := rank[Scope(s)]; !ok {
		return "", fmt.Errorf("must be read, write or admin")
	}
	return Scope(s), nil
}

// Allows reports whether a token of scope s may do what needs.
func (s Scope) Allows(needs Scope) bool { return rank[s] >= rank[needs] && rank[needs] > 0 }

// prefix starts every token, so a leaked one is recognisable (secret
// scanners, logs).
const prefix = "pgn_"

// MinLength is the shortest token accepted, also for PINGUIN_ADMIN_TOKEN.
const MinLength = 24

// Generate returns a new random token.
func Generate() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hash is what is stored of a token.
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Equal compares two hashes in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// Hint is the part of a token that may be shown again: enough to tell
// tokens apart in a list, far too little to use.
func Hint(token string) string {
	if len(token) <= len(prefix)+6 {
		return prefix + "…"
	}
	return token[:len(prefix)+6] + "…"
}

// ErrNoToken is returned for a request without a bearer token.
var ErrNoToken = errors.New("no bearer token")

// FromHeader extracts the token from an Authorization header value.
func FromHeader(h string) (string, error) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", ErrNoToken
	}
	return strings.TrimSpace(token), nil
}

// Token is a stored token, without its secret.
type Token struct {
	ID         int64
	Name       string
	Scope      Scope
	Hint       string
	Hash       []byte
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
}

// Expired reports whether the token has expired at now.
func (t *Token) Expired(now time.Time) bool { return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) }
