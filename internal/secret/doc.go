// Package secret encrypts secrets at rest: monitor auth headers now,
// notification channel credentials later. It owns the ciphertext format and
// the set of keys that can read it; it does no I/O and reads no environment.
// The config package reads PINGUIN_SECRET_KEY and PINGUIN_SECRET_KEY_PREVIOUS
// and passes their values to ParseKeys; store persists the ciphertexts.
//
// # Model
//
// A Keys holds one current key, which seals every new ciphertext, and any
// number of previous keys, which are only ever used to open. Each key is 32
// random bytes (AES-256), configured as base64 (openssl rand -base64 32, or
// GenerateKey). A Keys is immutable and safe for concurrent use.
//
// Seal and Open take associated data: bytes that are authenticated but not
// stored, such as "monitor:42:headers". Open succeeds only with the same
// associated data that Seal was given, so a ciphertext copied into another
// row, or another column of the same row, does not decrypt.
//
// # Ciphertext format
//
// A ciphertext is binary (store it as bytea; base64 it where text is needed):
//
//	offset  size  field
//	0       1     version, always 1
//	1       8     key id: the first 8 bytes of SHA-256 of the 32-byte key
//	9       12    nonce, random for every Seal
//	21      n+16  AES-256-GCM sealed plaintext (n bytes) and its tag
//
// The GCM additional data is the 9-byte header (version and key id) followed
// by the caller's associated data, so the header is authenticated too. The key
// id lets Open pick its key without trial decryption and lets NeedsRotation
// tell which key sealed a ciphertext; it is a one-way hash and reveals nothing
// of the key. Overhead is 37 bytes per ciphertext. With random 96-bit nonces a
// key must not seal more than 2^32 secrets, far beyond what Pinguin stores;
// rotation starts the count again.
//
// # Rotation
//
//  1. Generate a new key. Move the old value of PINGUIN_SECRET_KEY into
//     PINGUIN_SECRET_KEY_PREVIOUS (comma-separated, newest first by
//     convention) and set PINGUIN_SECRET_KEY to the new key. Restart every
//     process: new secrets are sealed with the new key, old ones still open.
//  2. Re-seal stored secrets: for each ciphertext where NeedsRotation is true,
//     Open it and Seal the plaintext again with the same associated data.
//     Callers may do this lazily when they read a row, or in a sweep.
//  3. Once nothing sealed with the old key remains, remove it from
//     PINGUIN_SECRET_KEY_PREVIOUS. A ciphertext still sealed with a removed
//     key fails to open with ErrUndecryptable.
package secret
