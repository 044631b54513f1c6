package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/idcards/idcards"
)

// KeyStatus says where this machine looks for a registry's chain key and
// what it finds there.
type KeyStatus struct {
	Path     string `json:"path"`
	Present  bool   `json:"present"`
	KeyID    string `json:"key_id,omitempty"`
	Registry string `json:"registry,omitempty"` // the key's registry identity
}

// ChainKeyStatus reports the chain key at opt's key path for the registry
// at loc (DefaultKeyPath(loc) unless opt names one), without opening it.
func ChainKeyStatus(loc string, opt Options) (KeyStatus, error) {
	st := KeyStatus{Path: opt.keyPath(loc)}
	k, err := ReadChainKey(st.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return st, nil
	case err != nil:
		return st, err
	}
	st.Present, st.KeyID, st.Registry = true, k.ID(), k.Registry
	return st, nil
}

// InstallChainKey puts the key file at from where this machine's desks look
// for the chain key of the registry at loc (opt's key path), mode 0600 — the
// step every desk of a PostgreSQL registry needs once (docs/deploy.md). The
// key is checked first: it must be of that registry, and the whole trail
// must verify under it. A different key already there is refused; the same
// one is left as it is.
//
// Installing needs PermRestore (an admin, or the OS user): the key is what
// lets the trail be continued. signIn, when not nil, decides who acts: it
// is called with the registry opened under the checked key (a sign-in
// writes keyed audit rows, so never under a key not yet checked) and
// returns the context carrying the actor; nil keeps ctx's actor.
func InstallChainKey(ctx context.Context, loc, from string, opt Options, signIn func(context.Context, *Store) (context.Context, error)) (KeyStatus, int64, error) {
	key, err := ReadChainKey(from)
	if err != nil {
		return KeyStatus{}, 0, err
	}
	check := opt
	check.KeyPath = from
	s, err := OpenWith(ctx, loc, check)
	if err != nil {
		return KeyStatus{}, 0, err
	}
	defer s.Close()
	if s.key == nil {
		return KeyStatus{}, 0, idcards.Errorf(idcards.Invalid, "%s is not the chain key of the registry at %s", from, s.Path())
	}
	n, err := s.VerifyAudit(ctx)
	if err != nil {
		return KeyStatus{}, 0, fmt.Errorf("registry: the audit trail does not verify under the key %s, so it was not installed: %w", from, err)
	}
	if signIn != nil {
		if ctx, err = signIn(ctx, s); err != nil {
			return KeyStatus{}, n, err
		}
	}
	if _, err := idcards.Require(ctx, idcards.PermRestore); err != nil {
		return KeyStatus{}, n, err
	}
	dest := opt.keyPath(loc)
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		return KeyStatus{}, n, fmt.Errorf("registry: chain key: %w", err)
	}
	if err := installKey(key, dest, false, time.Now()); err != nil {
		return KeyStatus{}, n, err
	}
	return KeyStatus{Path: dest, Present: true, KeyID: key.ID(), Registry: key.Registry}, n, nil
}
