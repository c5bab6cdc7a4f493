package secret_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/pinguin-dev/pinguin/internal/secret"
)

// rawKey returns 32 bytes starting at first, so tests have fixed, distinct keys.
func rawKey(first byte) []byte {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = first + byte(i)
	}
	return raw
}

var (
	keyOld = base64.StdEncoding.EncodeToString(rawKey(0))   // AAECAwQF...Hh8=
	keyNew = base64.StdEncoding.EncodeToString(rawKey(100)) // a different key
)

// mustParse returns the Keys for current and previous or fails the test.
func mustParse(t testing.TB, current, previous string) *secret.Keys {
	t.Helper()
	k, err := secret.ParseKeys(current, previous)
	if err != nil {
		t.Fatalf("ParseKeys: %v", err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	k := mustParse(t, keyNew, "")
	cases := []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{"header with associated data", []byte("Authorization: Bearer hunter2"), []byte("monitor:42:headers")},
		{"no associated data", []byte("token"), nil},
		{"empty plaintext", nil, []byte("monitor:1:headers")},
		{"binary and large", bytes.Repeat([]byte{0, 0xff, '\n'}, 100_000), []byte{0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ct := k.Seal(tc.plaintext, tc.ad)
			if got, want := len(ct), len(tc.plaintext)+37; got != want {
				t.Errorf("len(ciphertext) = %d, want %d", got, want)
			}
			if bytes.Contains(ct, []byte("hunter2")) {
				t.Error("ciphertext contains the plaintext")
			}
			got, err := k.Open(ct, tc.ad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Errorf("Open = %q, want %q", got, tc.plaintext)
			}
			if k.NeedsRotation(ct) {
				t.Error("NeedsRotation = true for a ciphertext sealed with the current key")
			}
		})
	}
}

// TestFormat pins the stored format: a ciphertext written by this version
// (checked independently with another AES-GCM implementation) must keep
// opening, or secrets at rest are lost.
func TestFormat(t *testing.T) {
	t.Parallel()
	const golden = "01" + "630dcd2966c43366" + "70e2b97035f65dff41a4b575" +
		"095ca41d95f36c9f2c32d7febe03d3ab0a04fc8ebb6dd90846e153ef41e85e43dab1ef836cd6558991452fb9c5"
	k := mustParse(t, keyOld, "")
	ct, _ := hex.DecodeString(golden)
	got, err := k.Open(ct, []byte("monitor:42:headers"))
	if err != nil {
		t.Fatalf("Open(golden): %v", err)
	}
	if want := "Authorization: Bearer hunter2"; string(got) != want {
		t.Errorf("Open(golden) = %q, want %q", got, want)
	}

	sum := sha256.Sum256(rawKey(0))
	fresh := k.Seal([]byte("x"), nil)
	if fresh[0] != 1 {
		t.Errorf("version byte = %d, want 1", fresh[0])
	}
	if !bytes.Equal(fresh[1:9], sum[:8]) {
		t.Errorf("key id = %x, want first 8 bytes of SHA-256 of the key %x", fresh[1:9], sum[:8])
	}
}

func TestSealIsRandomized(t *testing.T) {
	t.Parallel()
	k := mustParse(t, keyNew, "")
	a := k.Seal([]byte("same"), []byte("monitor:1:headers"))
	b := k.Seal([]byte("same"), []byte("monitor:1:headers"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are equal")
	}
	if bytes.Equal(a[9:21], b[9:21]) {
		t.Error("two seals share a nonce")
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	k := mustParse(t, keyNew, "")
	ad := []byte("monitor:42:headers")
	ct := k.Seal([]byte("Authorization: Bearer hunter2"), ad)
	cases := []struct {
		name       string
		ciphertext []byte
		ad         []byte
		msg        string
	}{
		{"other row", ct, []byte("monitor:43:headers"), "secret cannot be decrypted: altered, or sealed with other associated data"},
		{"no associated data", ct, nil, "secret cannot be decrypted: altered, or sealed with other associated data"},
		{"empty", nil, ad, "secret cannot be decrypted: 0 bytes is shorter than any ciphertext"},
		{"truncated to the header", ct[:36], ad, "secret cannot be decrypted: 36 bytes is shorter than any ciphertext"},
		{"last byte cut", ct[:len(ct)-1], ad, "secret cannot be decrypted: altered, or sealed with other associated data"},
		{"byte appended", append(bytes.Clone(ct), 0), ad, "secret cannot be decrypted: altered, or sealed with other associated data"},
		{"version 2", append([]byte{2}, ct[1:]...), ad, "secret cannot be decrypted: unknown format version 2"},
		{
			"unknown key", mustParse(t, keyOld, "").Seal([]byte("x"), ad), ad,
			"secret cannot be decrypted: sealed with key 630dcd2966c43366, which is in neither PINGUIN_SECRET_KEY nor PINGUIN_SECRET_KEY_PREVIOUS",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := k.Open(tc.ciphertext, tc.ad)
			if !errors.Is(err, secret.ErrUndecryptable) {
				t.Fatalf("Open = %q, %v; want ErrUndecryptable", got, err)
			}
			if err.Error() != tc.msg {
				t.Errorf("error = %q, want %q", err, tc.msg)
			}
		})
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	t.Parallel()
	k := mustParse(t, keyNew, keyOld)
	ad := []byte("monitor:42:headers")
	ct := k.Seal([]byte("Authorization: Bearer hunter2"), ad)
	cases := []struct {
		name       string
		start, end int
	}{
		{"version", 0, 1},
		{"key id", 1, 9},
		{"nonce", 9, 21},
		{"encrypted plaintext", 21, len(ct) - 16},
		{"tag", len(ct) - 16, len(ct)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for i := tc.start; i < tc.end; i++ {
				for _, flip := range []byte{0x01, 0x80, 0xff} {
					bad := bytes.Clone(ct)
					bad[i] ^= flip
					if got, err := k.Open(bad, ad); !errors.Is(err, secret.ErrUndecryptable) {
						t.Errorf("byte %d ^ %#x: Open = %q, %v; want ErrUndecryptable", i, flip, got, err)
					}
				}
			}
		})
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	ad := []byte("monitor:42:headers")
	plaintext := []byte("Authorization: Bearer hunter2")
	sealedOld := mustParse(t, keyOld, "").Seal(plaintext, ad)

	t.Run("old key in previous opens and re-seals", func(t *testing.T) {
		t.Parallel()
		// Spaces, an empty entry and an unrelated key: how operators write lists.
		k := mustParse(t, keyNew, " "+freshKey(t)+", ,"+keyOld+" ")
		if !k.NeedsRotation(sealedOld) {
			t.Error("NeedsRotation = false for a ciphertext sealed with a previous key")
		}
		got, err := k.Open(sealedOld, ad)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, plaintext) {
			t.Errorf("Open = %q, want %q", got, plaintext)
		}
		resealed := k.Seal(got, ad)
		if k.NeedsRotation(resealed) {
			t.Error("NeedsRotation = true after re-sealing with the current key")
		}
		// Once the old key is dropped, the re-sealed value still opens.
		if _, err := mustParse(t, keyNew, "").Open(resealed, ad); err != nil {
			t.Errorf("Open(resealed) without the old key: %v", err)
		}
	})
	t.Run("old key dropped", func(t *testing.T) {
		t.Parallel()
		k := mustParse(t, keyNew, "")
		if got, err := k.Open(sealedOld, ad); !errors.Is(err, secret.ErrUndecryptable) {
			t.Errorf("Open = %q, %v; want ErrUndecryptable", got, err)
		}
		if !k.NeedsRotation(sealedOld) {
			t.Error("NeedsRotation = false for a ciphertext sealed with an unknown key")
		}
	})
	t.Run("current key also listed as previous", func(t *testing.T) {
		t.Parallel()
		k := mustParse(t, keyOld, keyOld)
		if k.NeedsRotation(sealedOld) {
			t.Error("NeedsRotation = true for a ciphertext sealed with the current key")
		}
		if _, err := k.Open(sealedOld, ad); err != nil {
			t.Errorf("Open: %v", err)
		}
	})
	t.Run("malformed ciphertext", func(t *testing.T) {
		t.Parallel()
		k := mustParse(t, keyOld, "")
		for _, ct := range [][]byte{nil, sealedOld[:20], append([]byte{2}, sealedOld[1:]...)} {
			if !k.NeedsRotation(ct) {
				t.Errorf("NeedsRotation(%x) = false, want true", ct)
			}
		}
	})
}

// freshKey returns a new key from GenerateKey that parses, or fails the test.
func freshKey(t *testing.T) string {
	t.Helper()
	key := secret.GenerateKey()
	mustParse(t, key, "")
	return key
}

func TestParseKeysAcceptsEncodings(t *testing.T) {
	t.Parallel()
	raw := rawKey(250) // high bytes make '+' and '/' appear, so the alphabets differ
	if !strings.ContainsAny(base64.StdEncoding.EncodeToString(raw), "+/") {
		t.Fatal("test key does not exercise the alphabets' differences")
	}
	sealed := mustParse(t, base64.StdEncoding.EncodeToString(raw), "").Seal([]byte("x"), nil)
	cases := []struct {
		name string
		key  string
	}{
		{"standard padded", base64.StdEncoding.EncodeToString(raw)},
		{"standard unpadded", base64.RawStdEncoding.EncodeToString(raw)},
		{"URL padded", base64.URLEncoding.EncodeToString(raw)},
		{"URL unpadded", base64.RawURLEncoding.EncodeToString(raw)},
		{"surrounding whitespace", " \t" + base64.StdEncoding.EncodeToString(raw) + "\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := mustParse(t, tc.key, "").Open(sealed, nil); err != nil {
				t.Errorf("Open with key parsed from %q: %v", tc.key, err)
			}
			if _, err := mustParse(t, keyNew, tc.key).Open(sealed, nil); err != nil {
				t.Errorf("Open with previous key parsed from %q: %v", tc.key, err)
			}
		})
	}
}

func TestParseKeysErrors(t *testing.T) {
	t.Parallel()
	const hint = "must be 32 bytes of base64 (openssl rand -base64 32)"
	short := base64.StdEncoding.EncodeToString([]byte("twelve bytes"))
	long := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("k"), 64))
	hexKey := hex.EncodeToString(rawKey(7))
	cases := []struct {
		name              string
		current, previous string
		msg               string
	}{
		{"empty current", "", "", "PINGUIN_SECRET_KEY: must be set to 32 bytes of base64 (openssl rand -base64 32)"},
		{"blank current", " \n", keyOld, "PINGUIN_SECRET_KEY: must be set to 32 bytes of base64 (openssl rand -base64 32)"},
		{"not base64", "correct horse battery staple!", "", "PINGUIN_SECRET_KEY: " + hint + ", got text that is not base64"},
		{"too short", short, "", "PINGUIN_SECRET_KEY: " + hint + ", got 12 bytes"},
		{"too long", long, "", "PINGUIN_SECRET_KEY: " + hint + ", got 64 bytes"},
		{"hex", hexKey, "", "PINGUIN_SECRET_KEY: " + hint + ", got 64 hex digits"},
		{"bad previous", keyNew, "sup3r-s3cret-passw0r", "PINGUIN_SECRET_KEY_PREVIOUS: key 1: " + hint + ", got 15 bytes"},
		{"second previous bad", keyNew, keyOld + "," + short, "PINGUIN_SECRET_KEY_PREVIOUS: key 2: " + hint + ", got 12 bytes"},
		{"previous not base64", keyNew, keyOld + ", ,hunter2!hunter2!", "PINGUIN_SECRET_KEY_PREVIOUS: key 3: " + hint + ", got text that is not base64"},
		{"previous separated by semicolons", keyNew, keyOld + ";" + keyOld, "PINGUIN_SECRET_KEY_PREVIOUS: key 1: " + hint + ", got text that is not base64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, err := secret.ParseKeys(tc.current, tc.previous)
			if err == nil {
				t.Fatalf("ParseKeys = %v, want error %q", k, tc.msg)
			}
			if err.Error() != tc.msg {
				t.Errorf("error = %q, want %q", err, tc.msg)
			}
			// No key, whole or in part, may reach logs through the error.
			for _, in := range append(strings.Split(tc.previous, ","), tc.current) {
				for _, part := range strings.FieldsFunc(in, func(r rune) bool { return r == ' ' || r == ';' }) {
					if len(part) >= 6 && strings.Contains(err.Error(), part[:6]) {
						t.Errorf("error %q contains key material %q", err, part[:6])
					}
				}
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	a, b := secret.GenerateKey(), secret.GenerateKey()
	if a == b {
		t.Fatal("GenerateKey returned the same key twice")
	}
	raw, err := base64.StdEncoding.DecodeString(a)
	if err != nil || len(raw) != 32 {
		t.Fatalf("GenerateKey = %q: decodes to %d bytes, %v; want 32 bytes of standard base64", a, len(raw), err)
	}
	k := mustParse(t, a, b)
	if _, err := k.Open(mustParse(t, b, "").Seal([]byte("x"), nil), nil); err != nil {
		t.Errorf("Open with generated previous key: %v", err)
	}
}

func TestStringHidesKeys(t *testing.T) {
	t.Parallel()
	k := mustParse(t, keyOld, keyNew)
	if got, want := k.String(), "secret.Keys{current: 630dcd2966c43366, previous: 1}"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

// TestConcurrentUse runs under -race: one Keys is shared by every goroutine
// of a process.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	k := mustParse(t, keyNew, keyOld)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ad := []byte{byte(i)}
			for range 100 {
				if _, err := k.Open(k.Seal([]byte("x"), ad), ad); err != nil {
					t.Errorf("Open: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}
