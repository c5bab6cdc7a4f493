package secret_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pinguin-dev/pinguin/internal/secret"
)

// FuzzOpen feeds arbitrary ciphertexts and associated data to Open and
// NeedsRotation: they never panic, Open fails only with ErrUndecryptable, and
// whatever opens re-seals under the current key.
func FuzzOpen(f *testing.F) {
	old := mustParse(f, keyOld, "")
	k := mustParse(f, keyNew, keyOld)
	ad := []byte("monitor:42:headers")
	for _, seed := range []struct{ ct, ad []byte }{
		{k.Seal([]byte("Authorization: Bearer hunter2"), ad), ad},
		{k.Seal(nil, nil), nil},
		{old.Seal([]byte("token"), ad), ad},
		{old.Seal([]byte("token"), ad), []byte("monitor:43:headers")},
		{nil, nil},
		{[]byte{1}, nil},
		{append([]byte{2}, k.Seal([]byte("x"), nil)[1:]...), nil},
		{bytes.Repeat([]byte{1}, 37), nil},
	} {
		f.Add(seed.ct, seed.ad)
	}
	f.Fuzz(func(t *testing.T, ciphertext, associatedData []byte) {
		rotate := k.NeedsRotation(ciphertext)
		plaintext, err := k.Open(ciphertext, associatedData)
		if err != nil {
			if !errors.Is(err, secret.ErrUndecryptable) {
				t.Fatalf("Open error %v is not ErrUndecryptable", err)
			}
			return
		}
		if len(plaintext) != len(ciphertext)-37 {
			t.Errorf("Open returned %d bytes from a %d-byte ciphertext", len(plaintext), len(ciphertext))
		}
		if !rotate {
			return
		}
		resealed := k.Seal(plaintext, associatedData)
		if k.NeedsRotation(resealed) {
			t.Error("NeedsRotation = true after re-sealing")
		}
		if got, err := k.Open(resealed, associatedData); err != nil || !bytes.Equal(got, plaintext) {
			t.Errorf("Open(resealed) = %q, %v; want %q", got, err, plaintext)
		}
	})
}

// FuzzParseKeys feeds arbitrary settings to ParseKeys: it never panics, and
// Keys it accepts seal and open.
func FuzzParseKeys(f *testing.F) {
	for _, seed := range []struct{ current, previous string }{
		{keyNew, ""},
		{keyNew, keyOld},
		{keyNew, " " + keyOld + ", ," + keyNew},
		{"", ""},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "-_-_"},
		{"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", ""},
		{"dHdlbHZlIGJ5dGVz", ",,,"},
		{"\xff\x00", "\n"},
	} {
		f.Add(seed.current, seed.previous)
	}
	f.Fuzz(func(t *testing.T, current, previous string) {
		k, err := secret.ParseKeys(current, previous)
		if err != nil {
			return
		}
		ct := k.Seal([]byte("x"), []byte("ad"))
		if got, err := k.Open(ct, []byte("ad")); err != nil || string(got) != "x" {
			t.Errorf("Open(Seal(x)) = %q, %v", got, err)
		}
	})
}
