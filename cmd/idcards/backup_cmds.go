package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"filippo.io/age"
	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
)

func (a *app) backupCmd() *cobra.Command {
	var opt registry.BackupOptions
	var recipients []string
	var recipientsFile, passFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "backup --out FILE [--recipient KEY | --recipients-file F | --passphrase-file F]",
		Short: "Take a consistent, checked copy of the registry while desks keep working",
		Long: `Copy the registry with SQLite's VACUUM INTO: one read transaction, so the copy
is the registry as of one commit and desks keep issuing IDs meanwhile. Before
the copy is kept it is checked: PRAGMA integrity_check, the whole audit hash
chain, and the row counts, which are printed. A checksum file FILE.sha256
(sha256sum format) is written next to it and the backup is audited.

Encrypt the backup with age (https://age-encryption.org) when it leaves the
machine: to a public key (--recipient age1..., or a file of keys), or with a
passphrase read from a file. Keep the private key or passphrase somewhere
other than the backup. Needs the admin role (or the OS user without
cli_sign_in). Test restores regularly: ` + "`idcards restore FILE --to /tmp/check.db`" + `.

On PostgreSQL (--db postgres://...) the backup is the same kind of file: the
registry exported from one REPEATABLE READ snapshot into a registry file, and
checked the same way; it restores onto either engine (docs/deploy.md).`,
		Example: `  idcards backup --out /media/usb/registry-$(date +%F).db
  idcards backup --out registry.db.age --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
  idcards backup --out registry.db.age --passphrase-file /root/backup-passphrase`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opt.Recipients, err = a.recipients(recipients, recipientsFile, passFile); err != nil {
				return err
			}
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			r, err := s.Backup(ctx, opt)
			if err != nil {
				return err
			}
			if asJSON {
				return a.writeJSON(r)
			}
			a.printReport("backup", r)
			return nil
		},
	}
	cmd.Flags().StringVarP(&opt.Out, "out", "o", "", "backup file to create (must not exist)")
	cmd.Flags().StringArrayVar(&recipients, "recipient", nil, "encrypt to this age public key (repeatable)")
	cmd.Flags().StringVar(&recipientsFile, "recipients-file", "", "encrypt to the age public keys in this file")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "encrypt with the passphrase on the first line of this file")
	cmd.Flags().BoolVar(&opt.KeepUnexplained, "keep-unexplained", false, "keep the backup even when audit verify names rows changed behind the program's back (evidence); other failed checks still refuse")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.MarkFlagRequired("out")
	return cmd
}

func (a *app) recipients(keys []string, file, passFile string) ([]age.Recipient, error) {
	var out []age.Recipient
	for _, k := range keys {
		r, err := age.ParseX25519Recipient(strings.TrimSpace(k))
		if err != nil {
			return nil, idcards.Errorf(idcards.Invalid, "--recipient %q: %v", k, err)
		}
		out = append(out, r)
	}
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, idcards.Errorf(idcards.Invalid, "--recipients-file: %v", err)
		}
		defer f.Close()
		rs, err := age.ParseRecipients(f)
		if err != nil {
			return nil, idcards.Errorf(idcards.Invalid, "--recipients-file %s: %v", file, err)
		}
		out = append(out, rs...)
	}
	if passFile != "" {
		if len(out) > 0 {
			return nil, idcards.Errorf(idcards.Invalid, "use either public keys or a passphrase, not both (age allows one passphrase and nothing else)")
		}
		pass, err := a.secret("", passFile)
		if err != nil {
			return nil, err
		}
		if len(pass) < 12 {
			return nil, idcards.Errorf(idcards.Invalid, "backup passphrase: at least 12 characters")
		}
		r, err := age.NewScryptRecipient(pass)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (a *app) printReport(what string, r registry.BackupReport) {
	a.printf("%s %s: ok\n", what, r.Path)
	if r.SHA256 != "" {
		a.printf("  sha256     %s (%d bytes, encrypted: %t)\n", r.SHA256, r.Bytes, r.Encrypted)
	}
	linksOnly := r.Restore != nil && r.Restore.NewKey
	if linksOnly {
		// The old key is lost: a forger could have recomputed every
		// unkeyed hash and digest, so nothing here proves the rows unedited.
		a.printf("  integrity  %s\n  audit      %d rows, links checked only (no key to verify them with: --new-key), head %s\n", r.Integrity, r.AuditRows, r.AuditHead)
	} else {
		a.printf("  integrity  %s\n  audit      %d rows, chain verified, head %s\n", r.Integrity, r.AuditRows, r.AuditHead)
	}
	switch {
	case r.Unexplained > 0:
		a.printf("  WARNING    %d rows were changed behind the program's back (see `idcards audit verify`); kept as they are\n", r.Unexplained)
	case r.StateRows > 0 && linksOnly:
		a.printf("  state      %d protected rows match the digests their audit rows hold (not proof without the old key)\n", r.StateRows)
	case r.StateRows > 0:
		a.printf("  state      %d protected rows match their audit rows\n", r.StateRows)
	}
	keys := make([]string, 0, len(r.Counts))
	for k := range r.Counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Counts[k]))
	}
	a.printf("  rows       %s\n", strings.Join(parts, ", "))
}

func (a *app) restoreCmd() *cobra.Command {
	var opt registry.RestoreOptions
	var identityFile, passFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "restore FILE [--to PATH] [--force] [--skip-ahead N]",
		Short: "Check a backup and install it as a registry, never handing out a number twice",
		Long: `Check a backup and install it. Before anything is replaced: the checksum
file FILE.sha256 (when present) must match, an encrypted backup is decrypted
(--identity-file or --passphrase-file), and the copy must pass
integrity_check, the keyed audit chain check and the state check of every
protected row (the same checks as ` + "`idcards audit verify`" + `). A backup of another
registry (another identity) is refused without --other-registry.

Never twice: a backup is older than the registry it replaces, so numbers
issued since (maybe printed on cards) are not in it.
  - When the registry at PATH is readable, each series' high-water mark is
    read from it and the restored series start above it. The backup is
    copied INTO the registry inside one SQLite write transaction: desks,
    the TUI and ` + "`idcards serve`" + ` may keep running (their writes wait for the lock;
    serve's in-memory mirror rebuilds). The replaced registry is kept as
    PATH.before-restore-<time>.
  - When PATH is missing or unreadable (the disk was lost), every series
    jumps --skip-ahead numbers (default 10000: months of a busy desk; give
    more if more may have been issued since the backup), and when OpenMRS
    sync is configured no ID is issued until ` + "`idcards sync --once`" + ` has pulled
    OpenMRS's identifiers. --skip-ahead -1 jumps nothing: only for a scratch
    copy you look at and throw away.
What was done is printed and recorded in the restored registry's audit trail.

Accounts and scanner tokens: a backup is older than the registry it
replaces. When that registry is readable, what an admin took away since the
backup stays taken away: tokens revoked there stay revoked, accounts
disabled there stay disabled, a password changed there is the one kept, a
lowered role stays lowered, a running lock-out stays (each printed as
"carried" and audited restore.carry). What was granted since is not
restored but listed ("NOT RESTORED": accounts and tokens created after the
backup, an account enabled or a role raised since) for IT to redo; only when
the restored registry would have no enabled admin are the admins created
since carried over. When it is not readable (or another registry's), the
accounts, passwords and tokens are the backup's: a WARNING says so, and
whatever was revoked, disabled or changed since must be done again.

The audit chain key (PATH.auditkey or $IDCARDS_AUDIT_KEY) is needed to check
and continue the trail: after a lost disk, put it back from where it was
backed up (apart from the registry) or name it with --audit-key; it is
copied next to PATH. If it is lost for good, --new-key starts a new one (the
backup's older rows can then be checked for their links only).

Replacing a registry that opens needs an admin: with --user the account must
be an admin whatever cli_sign_in says, and when sign-in is on (cli_sign_in)
for the registry being replaced, --user ADMIN is needed. The OS user without
--user may restore while sign-in is off (whoever can write the file can
replace it anyway).

On PostgreSQL (--to postgres://... or --db) the backup gets the same checks
in a private scratch file first, then:
  - over the registry in that database (--force; run as the database owner,
    the role that ran init): copied into it inside one transaction holding
    the registry's writer lock, so desks on every machine may keep running
    (their writes wait; serve's mirrors rebuild). Under the lock the
    high-water marks of every series and the idgen pool are read, and the
    replaced registry is exported to a local registry file (--keep, default
    ~/.local/share/idcards/HOST_PORT_DB.db.before-restore-<time>: patient
    data in the clear, mode 0600 — move it somewhere safe or delete it);
  - into an empty database (the server was lost): the series jump
    --skip-ahead numbers, as for a lost file.
The chain key of a PostgreSQL registry is in the user's config directory
(~/.config/idcards/HOST_PORT_DB.auditkey); every desk needs a copy of it.`,
		Example: `  idcards restore /media/usb/registry-2026-03-01.db --to /tmp/check.db --skip-ahead -1
  idcards --user amina restore registry.db.age --identity-file backup-key.txt --force
  idcards restore /media/usb/registry.db --audit-key /media/keys/registry.db.auditkey   # new disk`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opt.To == "" {
				opt.To = a.registryPath()
			}
			if opt.KeyPath != "" {
				opt.InstallKey = true // put back from its backup: it goes next to the registry
			} else if opt.KeyPath = a.getenv("IDCARDS_AUDIT_KEY"); opt.KeyPath == "" && opt.To != a.registryPath() {
				// A restore to another path (a scratch copy to look at,
				// a new disk) uses the key of the registry this desk
				// uses, when the target has none of its own.
				if _, err := os.Stat(registry.DefaultKeyPath(opt.To)); err != nil {
					if _, err := os.Stat(registry.DefaultKeyPath(a.registryPath())); err == nil {
						opt.KeyPath, opt.InstallKey = registry.DefaultKeyPath(a.registryPath()), true
					}
				}
			}
			if identityFile != "" {
				f, err := os.Open(identityFile)
				if err != nil {
					return idcards.Errorf(idcards.Invalid, "--identity-file: %v", err)
				}
				ids, err := age.ParseIdentities(f)
				f.Close()
				if err != nil {
					return idcards.Errorf(idcards.Invalid, "--identity-file %s: %v", identityFile, err)
				}
				opt.Identities = append(opt.Identities, ids...)
			}
			if passFile != "" {
				pass, err := a.secret("", passFile)
				if err != nil {
					return err
				}
				id, err := age.NewScryptIdentity(pass)
				if err != nil {
					return err
				}
				opt.Identities = append(opt.Identities, id)
			}
			act, err := a.restoreActor(cmd.Context(), opt.To, opt.KeyPath)
			if err != nil {
				return err
			}
			// The account's role applies whatever cli_sign_in says: a clerk
			// signed in with --user may not replace the registry because
			// sign-in is off (registry.Restore itself checks only the
			// cli_sign_in case, for the OS user).
			if !idcards.Allowed(act.Role, idcards.PermRestore) {
				return idcards.Errorf(idcards.Forbidden, "%s (role %s) may not restore: replacing the registry needs an admin (--user ADMIN)", act.Name, act.Role)
			}
			opt.Actor, opt.DB = act, a.storeOptions() // DB: a PostgreSQL target's password file
			r, err := registry.Restore(cmd.Context(), args[0], opt)
			if err != nil {
				return err
			}
			if asJSON {
				return a.writeJSON(r)
			}
			a.printReport("restored", r)
			if rp := r.Restore; rp != nil {
				if rp.Live {
					a.printf("  copied     into the running registry under its write lock; the replaced one is kept as %s\n", rp.Kept)
					if registry.IsPostgresURL(opt.To) {
						a.printf("  NOTE       that copy holds patient data in the clear: move it somewhere safe (or delete it) once the restore is checked\n")
					}
				} else if rp.Kept != "" {
					a.printf("  kept       the replaced (unreadable) file as %s\n", rp.Kept)
				}
				for _, m := range rp.Marks {
					switch {
					case m.From == 0:
						a.printf("  series %s  added (it was created after the backup): next number %d\n", m.Prefix, m.To)
					case m.To > m.From:
						a.printf("  series %s  next number %d -> %d (never backwards)\n", m.Prefix, m.From, m.To)
					default:
						a.printf("  series %s  next number %d\n", m.Prefix, m.To)
					}
				}
				switch {
				case rp.SkipAhead > 0 && rp.OtherRegistry:
					a.printf("  skip-ahead %d (the registry replaced was another registry: its marks say nothing of what the backup's registry issued after the backup)\n", rp.SkipAhead)
				case rp.SkipAhead > 0:
					a.printf("  skip-ahead %d (no readable registry to take the high-water marks from)\n", rp.SkipAhead)
				}
				if rp.PoolKept > 0 {
					a.printf("  pool       %d idgen numbers issued, withdrawn or fetched after the backup carried over (none is handed out again)\n", rp.PoolKept)
				}
				if rp.PoolWithdrawn > 0 {
					a.printf("  pool       %d free idgen numbers withdrawn (any may have been issued after the backup); the next sync fetches new ones\n", rp.PoolWithdrawn)
				}
				if rp.LostIDs > 0 {
					a.printf("  lost       %d IDs issued after the backup are not in it; their numbers will not be issued again\n", rp.LostIDs)
				}
				if rp.OtherRegistryIDs > 0 {
					a.printf("  other      %d IDs of the replaced registry (another registry than the backup's) are not in the restored one: they were that registry's, so a card with one scans here as never issued by this registry; their patients are in the kept copy (%s): register them again here. Their numbers are never issued here\n", rp.OtherRegistryIDs, rp.Kept)
				}
				for _, c := range rp.Carried {
					a.printf("  carried    %s\n", c)
				}
				for _, n := range rp.NotRestored {
					a.printf("  NOT RESTORED %s\n", n)
				}
				if rp.AccountsAsOfBackup {
					a.printf("  WARNING    accounts, passwords and scanner tokens are as they were in the backup: the registry replaced could not be read to carry over what changed since. Revoke again every token revoked since the backup (idcards tokens revoke), disable again every account disabled since (idcards users disable), reset every password changed since (idcards users passwd), lower again every role lowered since\n")
				}
				if rp.PullRequired {
					a.printf("  NOTE       OpenMRS sync is configured: no ID is issued until 'idcards sync --once' has pulled OpenMRS's identifiers\n")
				}
				if rp.NewKey {
					a.printf("  NOTE       a new audit chain key was made: back it up now (see docs/security.md)\n")
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opt.To, "to", "", "registry path to restore into (default: --db / $IDCARDS_DB)")
	cmd.Flags().BoolVar(&opt.Force, "force", false, "replace an existing registry (a file is kept as PATH.before-restore-<time>; PostgreSQL: see --keep)")
	cmd.Flags().StringVar(&opt.Keep, "keep", "", "PostgreSQL: the file to export the replaced registry to (default in ~/.local/share/idcards)")
	cmd.Flags().StringVar(&identityFile, "identity-file", "", "age identity (private key) file for an encrypted backup")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "passphrase for an encrypted backup, first line of this file")
	cmd.Flags().Int64Var(&opt.SkipAhead, "skip-ahead", 0, "when the registry being replaced is missing, unreadable or another registry (--other-registry), move every series on by N (0 = the default 10000; -1 = none, scratch copies only)")
	cmd.Flags().StringVar(&opt.KeyPath, "audit-key", "", "the registry's audit chain key file (default PATH.auditkey or $IDCARDS_AUDIT_KEY)")
	cmd.Flags().BoolVar(&opt.NewKey, "new-key", false, "the chain key is lost for good: start a new one")
	cmd.Flags().BoolVar(&opt.OtherRegistry, "other-registry", false, "accept a backup of a different registry than the one at PATH")
	cmd.Flags().BoolVar(&opt.AcceptUnexplained, "accept-unexplained", false, "restore a backup taken with --keep-unexplained (its unexplained rows stay named by audit verify)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// restoreActor is who restores (or installs the chain key, keyPath being the
// key to install): when the registry at path opens, the user signed in to
// it (--user, under its cli_sign_in rule); when it does not (missing,
// unreadable, its key lost), the OS user, whom the file permissions already
// let replace it. The caller checks the actor's permission.
func (a *app) restoreActor(ctx context.Context, path, keyPath string) (idcards.Actor, error) {
	if registry.IsPostgresURL(path) {
		if keyPath == "" {
			keyPath = registry.DefaultKeyPath(path)
		}
	} else if _, err := os.Stat(path); err != nil {
		return a.osActor(), nil
	}
	opt := a.storeOptions()
	opt.KeyPath = keyPath
	s, err := registry.OpenWith(ctx, path, opt)
	if err != nil {
		if a.signInUser != "" && (errors.Is(err, registry.ErrDamaged) || errors.Is(err, registry.ErrNotRegistry)) {
			// No account can be checked in a file that does not open; the
			// OS user who owns it may replace it (as for a lost disk).
			what := "is not an idcards registry"
			if errors.Is(err, registry.ErrDamaged) {
				what = "is damaged"
			}
			return idcards.Actor{}, idcards.Errorf(idcards.Forbidden, "--user %s: cannot sign in to the registry being replaced: the file at %s %s, so no account in it can be checked; run the restore without --user, as the operating-system user who owns the file", a.signInUser, path, what)
		}
		if a.signInUser != "" {
			return idcards.Actor{}, fmt.Errorf("--user %s: cannot sign in to the registry being replaced: %w", a.signInUser, err)
		}
		return a.osActor(), nil
	}
	defer s.Close()
	actx, err := a.signIn(ctx, s)
	if err != nil {
		return idcards.Actor{}, err
	}
	act, _ := idcards.ActorFrom(actx)
	return act, nil
}
