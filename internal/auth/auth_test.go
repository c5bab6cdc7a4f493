package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pinguin-dev/pinguin/internal/auth"
)

func TestScopes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		has, needs auth.Scope
		ok         bool
	}{
		{auth.Read, auth.Read, true}, {auth.Read, auth.Write, false}, {auth.Read, auth.Admin, false},
		{auth.Write, auth.Read, true}, {auth.Write, auth.Write, true}, {auth.Write, auth.Admin, false},
		{auth.Admin, auth.Read, true}, {auth.Admin, auth.Write, true}, {auth.Admin, auth.Admin, true},
		{"", auth.Read, false}, {auth.Admin, "", false},
	}
	for _, c := range cases {
		if got := c.has.Allows(c.needs); got != c.ok {
			t.Errorf("%q.Allows(%q) = %v, want %v", c.has, c.needs, got, c.ok)
		}
	}
	if _, err := auth.ParseScope("root"); err == nil || err.Error() != "must be read, write or admin" {
		t.Errorf("ParseScope(root) = %v", err)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	a, b := auth.Generate(), auth.Generate()
	if a == b || !strings.HasPrefix(a, "pgn_") || len(a) < auth.MinLength {
		t.Fatalf("tokens %q %q", a, b)
	}
	if !auth.Equal(auth.Hash(a), auth.Hash(a)) || auth.Equal(auth.Hash(a), auth.Hash(b)) || auth.Equal(auth.Hash(a), nil) {
		t.Fatal("hash comparison is wrong")
	}
	if h := auth.Hint(a); !strings.HasPrefix(a, strings.TrimSuffix(h, "…")) || len(h) > 16 {
		t.Fatalf("hint %q of %q", h, a)
	}
	past := time.Now().Add(-time.Second)
	if tok := (auth.Token{ExpiresAt: &past}); !tok.Expired(time.Now()) {
		t.Fatal("expired token not expired")
	}
	if tok := (auth.Token{}); tok.Expired(time.Now()) {
		t.Fatal("token without expiry expired")
	}
}

func TestFromHeader(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]string{
		"Bearer pgn_abc": "pgn_abc", "bearer pgn_abc": "pgn_abc", "  Bearer   pgn_abc ": "pgn_abc",
		"": "", "Basic dXNlcjpwYXNz": "", "Bearer": "", "Bearer ": "", "pgn_abc": "",
	} {
		got, err := auth.FromHeader(header)
		if (want == "") != (err != nil) || got != want {
			t.Errorf("FromHeader(%q) = %q, %v; want %q", header, got, err, want)
		}
	}
}
