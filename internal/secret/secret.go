package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrUndecryptable is returned by Open when a ciphertext cannot be read: it is
// malformed, it was sealed with a key that is neither current nor previous,
// its associated data differs from Seal's, or it was altered. Open wraps it
// with the reason; test for it with errors.Is.
var ErrUndecryptable = errors.New("secret cannot be decrypted")

// Names of the environment variables whose values ParseKeys reads; errors
// name them so an operator knows which one to fix.
const (
	envKey         = "PINGUIN_SECRET_KEY"
	envKeyPrevious = "PINGUIN_SECRET_KEY_PREVIOUS"
)

// Sizes of a key and of the parts of a ciphertext (see the package doc).
const (
	keySize    = 32
	version    = 1
	idSize     = 8
	headerSize = 1 + idSize
	nonceSize  = 12
	tagSize    = 16
	overhead   = headerSize + nonceSize + tagSize // bytes Seal adds to a plaintext
)

// keyHint is what every key error asks for; it names the command that makes
// a good key.
const keyHint = "must be 32 bytes of base64 (openssl rand -base64 32)"

type keyID [idSize]byte

// Keys holds the current key and older keys still accepted for decryption.
// Build it with ParseKeys; the zero value is not usable. It is immutable and
// safe for concurrent use.
type Keys struct {
	currentID keyID
	current   cipher.AEAD
	// previous never holds currentID, so Open always prefers current.
	previous map[keyID]cipher.AEAD
}

// ParseKeys reads the current key (PINGUIN_SECRET_KEY's value) and an
// optional comma-separated list of previous keys
// (PINGUIN_SECRET_KEY_PREVIOUS). Each key is 32 random bytes written in base64
// (standard or URL alphabet, padded or not); spaces around a key are ignored,
// as are empty entries in the list. A previous key equal to the current one
// is harmless. Errors say which key is wrong and why, without echoing the
// key, e.g. `PINGUIN_SECRET_KEY: must be 32 bytes of base64 (openssl rand
// -base64 32), got 12 bytes`.
func ParseKeys(current, previous string) (*Keys, error) {
	if strings.TrimSpace(current) == "" {
		return nil, fmt.Errorf("%s: must be set to 32 bytes of base64 (openssl rand -base64 32)", envKey)
	}
	id, aead, err := parseKey(current)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envKey, err)
	}
	k := &Keys{currentID: id, current: aead, previous: map[keyID]cipher.AEAD{}}
	for i, s := range strings.Split(previous, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		id, aead, err := parseKey(s)
		if err != nil {
			return nil, fmt.Errorf("%s: key %d: %w", envKeyPrevious, i+1, err)
		}
		if id != k.currentID {
			k.previous[id] = aead
		}
	}
	return k, nil
}

// parseKey decodes one base64 key and builds its cipher. Its errors never
// contain the text they were given.
func parseKey(s string) (keyID, cipher.AEAD, error) {
	s = strings.TrimSpace(s)
	raw, ok := decodeBase64(s)
	switch {
	case len(s) == 2*keySize && isHex(s):
		// Hex is valid base64 too, but decodes to 48 bytes; name the mistake.
		return keyID{}, nil, fmt.Errorf("%s, got %d hex digits", keyHint, len(s))
	case !ok:
		return keyID{}, nil, fmt.Errorf("%s, got text that is not base64", keyHint)
	case len(raw) != keySize:
		return keyID{}, nil, fmt.Errorf("%s, got %d bytes", keyHint, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return keyID{}, nil, fmt.Errorf("create AES cipher: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return keyID{}, nil, fmt.Errorf("create GCM: %w", err)
	}
	sum := sha256.Sum256(raw)
	return keyID(sum[:idSize]), aead, nil
}

// decodeBase64 accepts the standard and URL alphabets, padded or not.
func decodeBase64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if raw, err := enc.DecodeString(s); err == nil {
			return raw, true
		}
	}
	return nil, false
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// GenerateKey returns a new random key in the form ParseKeys reads: 32 bytes
// from crypto/rand in padded standard base64, as openssl rand -base64 32
// prints.
func GenerateKey() string {
	raw := make([]byte, keySize)
	rand.Read(raw) // never fails; crashes the program if the OS has no randomness
	return base64.StdEncoding.EncodeToString(raw)
}

// Seal encrypts plaintext with the current key using AES-256-GCM and a random
// 12-byte nonce, binding it to associatedData (for example
// "monitor:42:headers"), which is not stored: Open needs the same bytes. Two
// seals of the same plaintext differ. The result is in the format described
// in the package doc and is 37 bytes longer than plaintext.
func (k *Keys) Seal(plaintext, associatedData []byte) []byte {
	out := make([]byte, headerSize, len(plaintext)+overhead)
	out[0] = version
	copy(out[1:], k.currentID[:])
	return k.current.Seal(out, nil, plaintext, additionalData(out[:headerSize], associatedData))
}

// Open decrypts a ciphertext made by Seal with the current key or a previous
// one, given the associated data it was sealed with. Every failure is
// ErrUndecryptable, wrapped with the reason.
func (k *Keys) Open(ciphertext, associatedData []byte) ([]byte, error) {
	if len(ciphertext) < overhead {
		return nil, fmt.Errorf("%w: %d bytes is shorter than any ciphertext", ErrUndecryptable, len(ciphertext))
	}
	if ciphertext[0] != version {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrUndecryptable, ciphertext[0])
	}
	id := keyID(ciphertext[1:headerSize])
	aead := k.current
	if id != k.currentID {
		aead = k.previous[id]
	}
	if aead == nil {
		return nil, fmt.Errorf("%w: sealed with key %x, which is in neither %s nor %s",
			ErrUndecryptable, id[:], envKey, envKeyPrevious)
	}
	plaintext, err := aead.Open(nil, nil, ciphertext[headerSize:], additionalData(ciphertext[:headerSize], associatedData))
	if err != nil {
		// crypto/cipher's error says only "message authentication failed".
		return nil, fmt.Errorf("%w: altered, or sealed with other associated data", ErrUndecryptable)
	}
	return plaintext, nil
}

// NeedsRotation reports whether ciphertext was sealed with a key other than
// the current one, so callers can re-seal it: Open it, then Seal the plaintext
// again with the same associated data. It reads only the header and does not
// authenticate; anything that is not a current-format ciphertext under the
// current key reports true, and Open then says whether it can be read.
func (k *Keys) NeedsRotation(ciphertext []byte) bool {
	if len(ciphertext) < overhead || ciphertext[0] != version {
		return true
	}
	return keyID(ciphertext[1:headerSize]) != k.currentID
}

// String names the current key by its id and counts the previous keys, so a
// Keys can be logged at start-up; it never prints key material.
func (k *Keys) String() string {
	return fmt.Sprintf("secret.Keys{current: %x, previous: %d}", k.currentID[:], len(k.previous))
}

// additionalData is what GCM authenticates besides the plaintext: the
// fixed-size header, then the caller's associated data. The header's fixed
// size keeps the concatenation unambiguous.
func additionalData(header, associatedData []byte) []byte {
	ad := make([]byte, 0, len(header)+len(associatedData))
	return append(append(ad, header...), associatedData...)
}
