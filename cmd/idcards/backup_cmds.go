package main

import (
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
	a.printf("  integrity  %s\n  audit      %d rows, chain verified, head %s\n", r.Integrity, r.AuditRows, r.AuditHead)
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
		Use:   "restore FILE [--to PATH] [--force]",
		Short: "Check a backup and install it as a registry",
		Long: `Check a backup and install it. Before anything is replaced: the checksum
file FILE.sha256 (when present) must match, an encrypted backup is decrypted
(--identity-file or --passphrase-file), and the copy must pass
integrity_check and the audit chain check. After installing, the registry is
opened, its audit chain verified again, and the restore is audited in it.

--to defaults to the registry path (--db). An existing file is never
overwritten without --force; with --force, stop every desk first (restore
refuses while another process has the registry open): the old registry is
kept beside it as PATH.before-restore-<time>. To test a backup,
restore it into a scratch path.

--to postgres://... restores into an empty PostgreSQL database (the same
checks, then every table copied, counts and the audit head compared). A
database that holds a registry is never replaced (--force is refused there):
restore into a new one and point the desks at it.`,
		Example: `  idcards restore /media/usb/registry-2026-03-01.db --to /tmp/check.db
  idcards restore registry.db.age --identity-file backup-key.txt --force`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opt.To == "" {
				opt.To = a.registryPath()
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
			opt.Actor, opt.Open = a.osActor(), a.dbOpts()
			r, err := registry.Restore(cmd.Context(), args[0], opt)
			if err != nil {
				return err
			}
			if asJSON {
				return a.writeJSON(r)
			}
			a.printReport("restored", r)
			return nil
		},
	}
	cmd.Flags().StringVar(&opt.To, "to", "", "registry path to create (default: --db / $IDCARDS_DB)")
	cmd.Flags().BoolVar(&opt.Force, "force", false, "replace an existing registry (kept as PATH.before-restore-<time>)")
	cmd.Flags().StringVar(&identityFile, "identity-file", "", "age identity (private key) file for an encrypted backup")
	cmd.Flags().StringVar(&passFile, "passphrase-file", "", "passphrase for an encrypted backup, first line of this file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
