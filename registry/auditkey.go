package registry

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/idcards/idcards"
)

// The audit chain is keyed: from the registry's creation row on (or, for a
// registry made before keys existed, from its audit.key_created row on),
// every row's hash is HMAC-SHA256 under a secret that lives in a file of its
// own beside (or away from) the registry, never inside it. Whoever holds
// only the registry file (a stolen or edited backup, a script with sqlite3)
// cannot recompute the chain after an edit. The key file is created with
// mode 0600 and O_EXCL and must be backed up apart from the registry.

// ChainKey is one registry's audit chain key.
type ChainKey struct {
	Registry string // the registry's identity (settings registry_id)
	Secret   []byte // 32 random bytes
	Path     string // where it was read from
}

// ID is a short public name of the key (the first 8 bytes of
// HMAC(secret, "key id"), hex). Anchor rows record it, so a verifier can
// tell which key a stretch of the chain was made with without holding it.
func (k *ChainKey) ID() string {
	if k == nil {
		return ""
	}
	m := hmac.New(sha256.New, k.Secret)
	m.Write([]byte("idcards audit key id"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// DefaultKeyPath is where the chain key of the registry at path is kept
// unless told otherwise: path + ".auditkey".
// A PostgreSQL registry has no directory of its own: its key is kept in the
// user's config directory, named after the server and database
// (LocalFile, dialect_postgres.go).
func DefaultKeyPath(path string) string { return LocalFile(path, ".auditkey") }

const keyFileHeader = "# idcards audit chain key. Keep it secret (mode 0600) and back it up APART\n# from the registry: without it the audit trail cannot be verified or continued.\n"

// newChainKey makes a key for registry id and writes it to path with mode
// 0600 and O_EXCL (an existing file is never overwritten), fsynced.
func newChainKey(path, registryID string) (*ChainKey, error) {
	k := &ChainKey{Registry: registryID, Secret: make([]byte, 32), Path: path}
	if _, err := rand.Read(k.Secret); err != nil {
		return nil, fmt.Errorf("registry: chain key: %w", err)
	}
	var b bytes.Buffer
	b.WriteString(keyFileHeader)
	fmt.Fprintf(&b, "registry %s\nkey %s\n", registryID, base64.StdEncoding.EncodeToString(k.Secret))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("registry: chain key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, idcards.Errorf(idcards.Conflict, "an audit chain key already exists at %s (from another registry?): move it away first", path)
		}
		return nil, fmt.Errorf("registry: chain key: %w", err)
	}
	_, err = f.Write(b.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("registry: chain key: %w", err)
	}
	return k, nil
}

// ReadChainKey reads a key file. A missing file is reported with
// fs.ErrNotExist in the chain.
func ReadChainKey(path string) (*ChainKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k := &ChainKey{Path: path}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, val, _ := strings.Cut(line, " ")
		switch name {
		case "registry":
			k.Registry = strings.TrimSpace(val)
		case "key":
			if k.Secret, err = base64.StdEncoding.DecodeString(strings.TrimSpace(val)); err != nil {
				return nil, idcards.Errorf(idcards.Invalid, "audit chain key %s: bad key line: %v", path, err)
			}
		}
	}
	if len(k.Secret) != 32 || k.Registry == "" {
		return nil, idcards.Errorf(idcards.Invalid, "audit chain key %s is not an idcards key file (want lines \"registry ID\" and \"key BASE64\")", path)
	}
	return k, nil
}

// newRegistryID is a registry's identity: 16 random bytes, hex.
func newRegistryID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
