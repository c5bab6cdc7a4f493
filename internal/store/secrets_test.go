package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/pinguin-dev/pinguin/internal/monitor"
	"github.com/pinguin-dev/pinguin/internal/secret"
	"github.com/pinguin-dev/pinguin/internal/store"
	"github.com/pinguin-dev/pinguin/internal/testenv"
)

func keys(t *testing.T, current string, previous string) *secret.Keys {
	t.Helper()
	k, err := secret.ParseKeys(current, previous)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealedHeaders(t *testing.T) {
	t.Parallel()
	st, dbURL := testenv.Store(t)
	ctx := context.Background()
	oldKey, newKey := secret.GenerateKey(), secret.GenerateKey()
	st.UseSecrets(keys(t, oldKey, ""))

	m := monitor.Defaults()
	m.Name, m.URL = "secret", "https://example.com"
	m.Headers = map[string]string{"Authorization": "Bearer hunter2-very-secret"}
	created, err := st.CreateMonitor(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if created.Headers["Authorization"] != "Bearer hunter2-very-secret" {
		t.Fatalf("created headers = %v", created.Headers)
	}
	// In the table: no plain headers, and the secret is not in the sealed bytes.
	var plain string
	var sealed []byte
	if err := st.Pool().QueryRow(ctx, `SELECT headers::text, headers_sealed FROM monitors WHERE id = $1`, created.ID).Scan(&plain, &sealed); err != nil {
		t.Fatal(err)
	}
	if plain != "{}" || len(sealed) == 0 || bytes.Contains(sealed, []byte("hunter2")) {
		t.Fatalf("stored headers %q, sealed %d bytes (contains the secret: %v)", plain, len(sealed), bytes.Contains(sealed, []byte("hunter2")))
	}

	// Without the key, or with another one, the monitor cannot be read and
	// the start-up check says why.
	for name, k := range map[string]*secret.Keys{"no key": nil, "other key": keys(t, secret.GenerateKey(), "")} {
		other, err := store.Open(ctx, dbURL, 2)
		if err != nil {
			t.Fatal(err)
		}
		other.UseSecrets(k)
		if _, err := other.GetMonitor(ctx, created.ID); !errors.Is(err, store.ErrSecretsUnreadable) {
			t.Errorf("%s: GetMonitor = %v, want ErrSecretsUnreadable", name, err)
		}
		if err := other.CheckSecrets(ctx); !errors.Is(err, store.ErrSecretsUnreadable) {
			t.Errorf("%s: CheckSecrets = %v, want ErrSecretsUnreadable", name, err)
		}
		other.Close()
	}

	// Rotation: the new key with the old one as previous reads it, and the
	// reseal pass moves it to the new key.
	st.UseSecrets(keys(t, newKey, oldKey))
	if n, err := st.ResealSecrets(ctx, 100); err != nil || n != 1 {
		t.Fatalf("reseal = %d, %v; want 1", n, err)
	}
	if n, err := st.ResealSecrets(ctx, 100); err != nil || n != 0 {
		t.Fatalf("second reseal = %d, %v; want 0", n, err)
	}
	st.UseSecrets(keys(t, newKey, ""))
	got, err := st.GetMonitor(ctx, created.ID)
	if err != nil || got.Headers["Authorization"] != "Bearer hunter2-very-secret" {
		t.Fatalf("after rotation: %v, %v", got.Headers, err)
	}
	// The sealed value is bound to its row: copied to another monitor it does not open.
	other, err := st.CreateMonitor(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE monitors SET headers_sealed = (SELECT headers_sealed FROM monitors WHERE id = $1) WHERE id = $2`, created.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetMonitor(ctx, other.ID); !errors.Is(err, store.ErrSecretsUnreadable) {
		t.Fatalf("pasted ciphertext: %v, want ErrSecretsUnreadable", err)
	}
}

func TestPlainHeadersGetSealedWhenAKeyArrives(t *testing.T) {
	t.Parallel()
	st, _ := testenv.Store(t)
	ctx := context.Background()
	m := monitor.Defaults()
	m.Name, m.URL, m.Headers = "plain", "https://example.com", map[string]string{"X-Api-Key": "abc"}
	created, err := st.CreateMonitor(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	st.UseSecrets(keys(t, secret.GenerateKey(), ""))
	if n, err := st.ResealSecrets(ctx, 100); err != nil || n != 1 {
		t.Fatalf("reseal = %d, %v", n, err)
	}
	var plain string
	if err := st.Pool().QueryRow(ctx, `SELECT headers::text FROM monitors WHERE id = $1`, created.ID).Scan(&plain); err != nil || plain != "{}" {
		t.Fatalf("plain headers left: %q %v", plain, err)
	}
	got, err := st.GetMonitor(ctx, created.ID)
	if err != nil || got.Headers["X-Api-Key"] != "abc" {
		t.Fatalf("after sealing: %v %v", got.Headers, err)
	}
}
