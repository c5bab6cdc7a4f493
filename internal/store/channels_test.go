package store_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/pinguin-dev/pinguin/internal/alert"
	"github.com/pinguin-dev/pinguin/internal/secret"
	"github.com/pinguin-dev/pinguin/internal/store"
	"github.com/pinguin-dev/pinguin/internal/testenv"
)

func newSlackChannel(t *testing.T, st *store.Store, name string) alert.Channel {
	t.Helper()
	c, err := st.CreateChannel(context.Background(), alert.Channel{
		Name:     name,
		Type:     "slack",
		Settings: map[string]string{"channel": "#ops"},
		Secrets:  map[string]string{"webhook_url": "https://hooks.slack.com/services/T0/B0/hunter2"},
	})
	if err != nil {
		t.Fatalf("create channel: %v", err)
	}
	return c
}

func TestChannelCRUD(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	c := newSlackChannel(t, st, "ops")
	if c.ID == 0 || c.CreatedAt.IsZero() || c.Name != "ops" || c.Type != "slack" || c.Default ||
		c.Settings["channel"] != "#ops" || c.Secrets["webhook_url"] != "https://hooks.slack.com/services/T0/B0/hunter2" {
		t.Fatalf("created = %+v", c)
	}
	got, err := st.GetChannel(ctx, c.ID)
	if err != nil || !channelsEqual(got, c) {
		t.Fatalf("get = %+v, %v; want %+v", got, err, c)
	}

	upd, err := st.UpdateChannel(ctx, c.ID, func(c *alert.Channel) error {
		c.Name, c.Default = "ops team", true
		c.Secrets = map[string]string{"webhook_url": "https://hooks.slack.com/services/T0/B0/other"}
		c.Settings = nil
		return nil
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if upd.Name != "ops team" || !upd.Default || len(upd.Settings) != 0 || upd.Settings == nil ||
		upd.Secrets["webhook_url"] != "https://hooks.slack.com/services/T0/B0/other" || !upd.UpdatedAt.After(c.UpdatedAt) {
		t.Fatalf("update = %+v", upd)
	}
	abort := errors.New("abort")
	if _, err := st.UpdateChannel(ctx, c.ID, func(*alert.Channel) error { return abort }); err != abort {
		t.Fatalf("aborted update = %v, want abort itself", err)
	}

	second := newSlackChannel(t, st, "second")
	list, err := st.ListChannels(ctx)
	if err != nil || len(list) != 2 || !channelsEqual(list[0], upd) || !channelsEqual(list[1], second) {
		t.Fatalf("list = %+v, %v", list, err)
	}
	byID, err := st.ChannelsByID(ctx, []int64{second.ID, 999999})
	if err != nil || len(byID) != 1 || !channelsEqual(byID[second.ID], second) {
		t.Fatalf("by id = %+v, %v", byID, err)
	}

	if err := st.DeleteChannel(ctx, c.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := st.GetChannel(ctx, c.ID); !errors.Is(err, alert.ErrNotFound) {
		t.Fatalf("get after delete = %v, want ErrNotFound", err)
	}
	if err := st.DeleteChannel(ctx, c.ID); !errors.Is(err, alert.ErrNotFound) {
		t.Fatalf("second delete = %v, want ErrNotFound", err)
	}
	if _, err := st.UpdateChannel(ctx, c.ID, func(*alert.Channel) error { return nil }); !errors.Is(err, alert.ErrNotFound) {
		t.Fatalf("update after delete = %v, want ErrNotFound", err)
	}
	if list, err := st.ListChannels(ctx); err != nil || len(list) != 1 || list[0].ID != second.ID {
		t.Fatalf("list after delete = %+v, %v", list, err)
	}
}

func channelsEqual(a, b alert.Channel) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Type == b.Type && a.Default == b.Default &&
		maps.Equal(a.Settings, b.Settings) && maps.Equal(a.Secrets, b.Secrets) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func TestMissingChannels(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	a, b := newSlackChannel(t, st, "a"), newSlackChannel(t, st, "b")
	cases := []struct {
		name string
		ids  []int64
		want []int64
	}{
		{"none asked", nil, nil},
		{"all exist", []int64{b.ID, a.ID}, nil},
		{"some missing, repeated and unordered", []int64{b.ID + 10, a.ID, b.ID + 5, b.ID + 10}, []int64{b.ID + 5, b.ID + 10}},
	}
	for _, tc := range cases {
		got, err := st.MissingChannels(ctx, tc.ids)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: MissingChannels(%v) = %v, %v; want %v", tc.name, tc.ids, got, err, tc.want)
		}
	}
}

func TestSealedChannelSecrets(t *testing.T) {
	t.Parallel()
	st, dbURL := testenv.Store(t)
	ctx := context.Background()
	oldKey, newKey := secret.GenerateKey(), secret.GenerateKey()
	st.UseSecrets(keys(t, oldKey, ""))

	c := newSlackChannel(t, st, "sealed")
	if c.Secrets["webhook_url"] != "https://hooks.slack.com/services/T0/B0/hunter2" {
		t.Fatalf("created secrets = %v", c.Secrets)
	}
	var plain, settings string
	var sealed []byte
	if err := st.Pool().QueryRow(ctx, `SELECT secrets::text, settings::text, secrets_sealed FROM channels WHERE id = $1`, c.ID).Scan(&plain, &settings, &sealed); err != nil {
		t.Fatal(err)
	}
	if plain != "{}" || len(sealed) == 0 || bytes.Contains(sealed, []byte("hunter2")) {
		t.Fatalf("stored secrets %q, sealed %d bytes (contains the secret: %v)", plain, len(sealed), bytes.Contains(sealed, []byte("hunter2")))
	}
	if settings != `{"channel": "#ops"}` {
		t.Fatalf("stored settings %q: settings are not secret and stay plain", settings)
	}
	got, err := st.GetChannel(ctx, c.ID)
	if err != nil || !maps.Equal(got.Secrets, c.Secrets) {
		t.Fatalf("get = %v, %v", got.Secrets, err)
	}
	upd, err := st.UpdateChannel(ctx, c.ID, func(c *alert.Channel) error { c.Name = "renamed"; return nil })
	if err != nil || !maps.Equal(upd.Secrets, c.Secrets) {
		t.Fatalf("update = %v, %v", upd.Secrets, err)
	}

	// Without the key, or with another one, the channel cannot be read,
	// and the start-up check (no monitor has sealed secrets) says why.
	for name, k := range map[string]*secret.Keys{"no key": nil, "other key": keys(t, secret.GenerateKey(), "")} {
		other, err := store.Open(ctx, dbURL, 2)
		if err != nil {
			t.Fatal(err)
		}
		other.UseSecrets(k)
		if _, err := other.GetChannel(ctx, c.ID); !errors.Is(err, store.ErrSecretsUnreadable) {
			t.Errorf("%s: GetChannel = %v, want ErrSecretsUnreadable", name, err)
		}
		if _, err := other.ListChannels(ctx); !errors.Is(err, store.ErrSecretsUnreadable) {
			t.Errorf("%s: ListChannels = %v, want ErrSecretsUnreadable", name, err)
		}
		if err := other.CheckSecrets(ctx); !errors.Is(err, store.ErrSecretsUnreadable) {
			t.Errorf("%s: CheckSecrets = %v, want ErrSecretsUnreadable", name, err)
		}
		other.Close()
	}
	if err := st.CheckSecrets(ctx); err != nil {
		t.Fatalf("CheckSecrets with the key = %v", err)
	}

	// Rotation moves it to the new key.
	st.UseSecrets(keys(t, newKey, oldKey))
	if n, err := st.ResealSecrets(ctx, 100); err != nil || n != 1 {
		t.Fatalf("reseal = %d, %v; want 1", n, err)
	}
	if n, err := st.ResealSecrets(ctx, 100); err != nil || n != 0 {
		t.Fatalf("second reseal = %d, %v; want 0", n, err)
	}
	st.UseSecrets(keys(t, newKey, ""))
	byID, err := st.ChannelsByID(ctx, []int64{c.ID})
	if err != nil || !maps.Equal(byID[c.ID].Secrets, c.Secrets) {
		t.Fatalf("after rotation: %v, %v", byID[c.ID].Secrets, err)
	}

	// The sealed value is bound to its row: copied to another channel it
	// does not open.
	other := newSlackChannel(t, st, "other")
	if _, err := st.Pool().Exec(ctx, `UPDATE channels SET secrets_sealed = (SELECT secrets_sealed FROM channels WHERE id = $1) WHERE id = $2`, c.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetChannel(ctx, other.ID); !errors.Is(err, store.ErrSecretsUnreadable) {
		t.Fatalf("pasted ciphertext: %v, want ErrSecretsUnreadable", err)
	}
}

func TestPlainChannelSecretsGetSealedWhenAKeyArrives(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	c := newSlackChannel(t, st, "plain")
	empty, err := st.CreateChannel(ctx, alert.Channel{Name: "no secrets", Type: "email"})
	if err != nil {
		t.Fatal(err)
	}
	var plain string
	if err := st.Pool().QueryRow(ctx, `SELECT secrets::text FROM channels WHERE id = $1`, c.ID).Scan(&plain); err != nil || plain == "{}" {
		t.Fatalf("without a key, secrets are stored plain: %q %v", plain, err)
	}
	st.UseSecrets(keys(t, secret.GenerateKey(), ""))
	if n, err := st.ResealSecrets(ctx, 100); err != nil || n != 1 {
		t.Fatalf("reseal = %d, %v; want 1 (the channel without secrets needs none)", n, err)
	}
	var sealed []byte
	if err := st.Pool().QueryRow(ctx, `SELECT secrets::text, secrets_sealed FROM channels WHERE id = $1`, c.ID).Scan(&plain, &sealed); err != nil || plain != "{}" || sealed == nil {
		t.Fatalf("after reseal: plain %q, sealed %d bytes, %v", plain, len(sealed), err)
	}
	got, err := st.GetChannel(ctx, c.ID)
	if err != nil || !maps.Equal(got.Secrets, c.Secrets) {
		t.Fatalf("after sealing: %v %v", got.Secrets, err)
	}
	if got, err := st.GetChannel(ctx, empty.ID); err != nil || got.Secrets == nil || len(got.Secrets) != 0 {
		t.Fatalf("channel without secrets: %v %v", got.Secrets, err)
	}
}

func TestDeleteChannelUnlinksMonitors(t *testing.T) {
	st := setup(t)
	ctx := context.Background()
	m := newMonitor(t, st)
	c, kept := newSlackChannel(t, st, "gone"), newSlackChannel(t, st, "kept")
	if _, err := st.Pool().Exec(ctx, `INSERT INTO monitor_channels (monitor_id, channel_id) VALUES ($1, $2), ($1, $3)`, m.ID, c.ID, kept.ID); err != nil {
		t.Fatal(err)
	}
	var before time.Time
	if err := st.Pool().QueryRow(ctx, `SELECT updated_at FROM monitors WHERE id = $1`, m.ID).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteChannel(ctx, c.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	var links []int64
	var after time.Time
	err := st.Pool().QueryRow(ctx, `
		SELECT ARRAY(SELECT channel_id FROM monitor_channels WHERE monitor_id = $1), updated_at
		FROM monitors WHERE id = $1`, m.ID).Scan(&links, &after)
	if err != nil || !slices.Equal(links, []int64{kept.ID}) || !after.After(before) {
		t.Fatalf("after delete: links %v (want [%d]), updated_at %s after %s: %v", links, kept.ID, after, before, err)
	}
}
