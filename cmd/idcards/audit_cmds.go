package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/patientfile"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
)

func (a *app) auditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read, export and verify the tamper-evident audit trail",
		Long: `Every change to the registry (IDs, patients, cards, accounts, settings,
sign-ins, backups) writes an audit row in the same transaction as the change.
Each row carries a hash of its content and of the previous row's hash, keyed
with the registry's audit chain key (a file kept outside the registry), and a
digest of the state it left behind for every row it changed. Editing,
deleting or inserting an audit row by hand breaks the chain; editing a
patient, ID, card, account, token or setting by hand leaves a row whose state
no audit row explains: ` + "`idcards audit verify`" + ` names both. Reading the trail
needs the supervisor or admin role.

Scanner requests answered by ` + "`idcards serve`" + ` go to the scan log instead
(` + "`idcards audit scans`" + `), one scan.batch audit row per batch holding a digest of
the batch's rows, so verify covers them too.`,
	}
	cmd.AddCommand(a.auditListCmd(), a.auditExportCmd(), a.auditVerifyCmd(), a.auditHeadCmd(), a.auditScansCmd(), a.auditKeyCmd())
	return cmd
}

// auditFlags are the filters list and export share.
type auditFlags struct {
	since, user, action, subject string
	limit                        int
}

func (f *auditFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.since, "since", "", "rows at or after: 2026-03-01, 2026-03-01T08:00:00Z, or a duration ago (24h, 7d)")
	// Not --user: that is the global sign-in flag.
	cmd.Flags().StringVar(&f.user, "actor", "", "rows by this actor (alice, os:alice, token:ward3)")
	cmd.Flags().StringVar(&f.action, "action", "", "an action (user.sign_in_failed) or a family ending in '.' (user.)")
	cmd.Flags().StringVar(&f.subject, "subject", "", "rows about this subject (a user name, MRN, card serial)")
	cmd.Flags().IntVar(&f.limit, "limit", 0, "at most this many rows (0 = all)")
}

func (f *auditFlags) filter(now time.Time) (registry.AuditFilter, error) {
	since, err := parseSince(f.since, now)
	if err != nil {
		return registry.AuditFilter{}, err
	}
	if f.limit < 0 {
		return registry.AuditFilter{}, idcards.Errorf(idcards.Invalid, "--limit %d: use 0 or more", f.limit)
	}
	return registry.AuditFilter{Since: since, Actor: f.user, Action: f.action, Subject: f.subject, Limit: f.limit}, nil
}

// parseSince accepts a date, an RFC 3339 time, or a duration ago ("36h",
// "7d"); "" is the beginning.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 && n <= 36500 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, idcards.Errorf(idcards.Invalid, "--since %q: use a date (2026-03-01), a time (2026-03-01T08:00:00Z) or a duration ago (24h, 7d)", s)
}

func (a *app) auditListCmd() *cobra.Command {
	var f auditFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--since T] [--actor U] [--action A] [--subject S] [--json]",
		Short: "Show audit rows, oldest first",
		Example: `  idcards audit list --since 7d --action user.sign_in_failed
  idcards audit list --subject KLA000001X --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			flt, err := f.filter(s.Now())
			if err != nil {
				return err
			}
			w := bufio.NewWriter(a.stdout)
			defer w.Flush()
			// An admin reads the trail but sees no patient's details (it
			// holds a patient edit's old and new name and phone): those
			// rows' details are for a supervisor. audit export keeps every
			// row whole, for verifying the chain elsewhere.
			_, noPatients := idcards.Require(ctx, idcards.PermReadPatient)
			redact := func(e idcards.AuditEvent) idcards.AuditEvent {
				if noPatients != nil && strings.HasPrefix(e.Action, "patient") && e.Detail != "" {
					e.Detail = "(patient details: for a supervisor)"
				}
				return e
			}
			if asJSON {
				events := []idcards.AuditEvent{}
				if err := s.EachAudit(ctx, flt, func(e idcards.AuditEvent) error { events = append(events, redact(e)); return nil }); err != nil {
					return err
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(events)
			}
			return s.EachAudit(ctx, flt, func(e idcards.AuditEvent) error {
				e = redact(e)
				_, err := fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.Format(time.RFC3339), printable(e.Actor), printable(e.Action), printable(e.Subject), printable(e.Detail))
				return err
			})
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array (with the hashes)")
	return cmd
}

func (a *app) auditExportCmd() *cobra.Command {
	var f auditFlags
	var format, out string
	var force bool
	cmd := &cobra.Command{
		Use:   "export --format csv|jsonl [--out FILE [--force]]",
		Short: "Export audit rows with their hashes, streaming (for archiving or a spreadsheet)",
		Long: `Export the audit trail (or the rows the filters select) as CSV with a header
or as JSON Lines, streaming, so years of rows need little memory. Each row
keeps prev_hash and hash, so an exported full trail can be re-verified
elsewhere.

The scan log (scanner requests) is not part of this export: its batches
appear as scan.batch rows; export the rows themselves with
` + "`idcards audit scans --limit 0 --json`" + `.

Each export is recorded in the trail (audit.export: who, the filters, the
rows written), like patients export: the rows hold patient details.`,
		Example: `  idcards audit export --format csv --out audit-2026.csv --since 2026-01-01
  idcards audit export --format jsonl | gzip > audit.jsonl.gz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "csv" && format != "jsonl" {
				return idcards.Errorf(idcards.Invalid, "--format %q: use csv or jsonl", format)
			}
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			flt, err := f.filter(s.Now())
			if err != nil {
				return err
			}
			if out == "" {
				return a.writeAuditExport(ctx, s, flt, format, a.stdout)
			}
			// The rows hold patient details: written to a private (0600)
			// temporary file beside --out and put in place only when
			// every row is out and the export is audited, so a failure
			// half-way leaves no file that looks like a whole export.
			return writeNewFileAtomic(out, force, func(w io.Writer) error {
				return a.writeAuditExport(ctx, s, flt, format, w)
			})
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&format, "format", "jsonl", "csv or jsonl")
	cmd.Flags().StringVar(&out, "out", "", "write to this new file (mode 0600, put in place only when complete) instead of standard output")
	cmd.Flags().BoolVar(&force, "force", false, "with --out: replace an existing file (only once the export is complete)")
	return cmd
}

// writeAuditExport writes the rows flt selects to dst in format (csv,
// jsonl), audited (audit.export).
func (a *app) writeAuditExport(ctx context.Context, s *registry.Store, flt registry.AuditFilter, format string, dst io.Writer) error {
	w := bufio.NewWriter(dst)
	var each func(idcards.AuditEvent) error
	var cw *csv.Writer
	if format == "csv" {
		cw = csv.NewWriter(w)
		cw.Write([]string{"seq", "at", "actor", "action", "subject", "detail", "prev_hash", "hash"})
		each = func(e idcards.AuditEvent) error {
			// patientfile.EscapeCell: a subject or detail can hold
			// what someone typed (a name =cmd|...): no cell may
			// start a spreadsheet formula.
			return cw.Write(patientfile.EscapeRecord([]string{strconv.FormatInt(e.Seq, 10), e.At.Format(registry.TimeFormat), e.Actor, e.Action, e.Subject, e.Detail, e.PrevHash, e.Hash}))
		}
	} else {
		enc := json.NewEncoder(w)
		each = func(e idcards.AuditEvent) error { return enc.Encode(e) }
	}
	// The export is audited (audit.export, rows written) once the
	// rows are out, whether the writes below succeed or not.
	_, err := s.ExportAudit(ctx, flt, func(e idcards.AuditEvent) error {
		if err := each(e); err != nil {
			return err
		}
		if cw != nil {
			return cw.Error()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if cw != nil {
		if cw.Flush(); cw.Error() != nil {
			return cw.Error()
		}
	}
	return w.Flush()
}

func (a *app) auditVerifyCmd() *cobra.Command {
	var head string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify [--head SEQ-HASH]",
		Short: "Check the keyed hash chain and every protected row; exit 1 and name what was changed",
		Long: `Check the whole audit trail and the tables it accounts for:

  - every row's hash is recomputed from its content and the previous row's
    hash, keyed with the registry's audit chain key (REGISTRY.auditkey, or
    $IDCARDS_AUDIT_KEY), so whoever edits the registry file without the key
    cannot make an edit verify, even by recomputing every hash;
  - the first row must be the registry's creation (registry.init): an empty
    or truncated-from-the-start trail fails;
  - each scan.batch row's digest is recomputed from the scan log rows it covers;
  - every protected row (patients, identifiers, cards, users, tokens, settings,
    series, approvals) is compared with the digest of its state that the last
    audit row touching it recorded. A row changed, inserted or deleted behind
    the program's back (sqlite3, a script) is named, with the audit row that
    last recorded it.

Exit 0 prints how many rows verified and the short head (as ` + "`idcards audit head`" + `).
Exit 1 names the first broken row of the chain, or every row whose state no
audit row explains. Rows deleted at the very end of the trail are detected
only through the state they recorded (a patient registered or edited, an ID
issued): rows that recorded no state kept in the file (an export, a backup, a
restore, a sign-in) can be cut from the end of the trail without a trace here.
Only a head kept outside the registry shows that: write it down (or send it
elsewhere, daily), and --head checks that the row you kept is still in the
trail, unchanged.

Registries from before chain keys were keyed at their first open by this
version: an audit.key_created row anchors the earlier, plain SHA-256 rows.`,
		Example: `  idcards audit verify && echo trail intact
  idcards audit verify --head 1042-5f0c2a9e81d3b7c4   # the head written down last week`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := idcards.Require(ctx, idcards.PermReadAudit); err != nil {
				return err
			}
			v, err := s.VerifyAuditDetail(ctx)
			n := v.Rows
			var ce *registry.ChainError
			var se *registry.StateError
			switch {
			case errors.As(err, &ce):
				a.printf("BROKEN at row %d after %d good rows: %s\n", ce.Seq, n, ce.Reason)
				if ce.ScanFirst > 0 {
					a.printf("inspect the scan rows: idcards audit scans --limit 0 --json | jq '.[] | select(.id >= %d and .id <= %d)'\n", ce.ScanFirst, ce.ScanLast)
				}
				a.printf("inspect it: idcards audit list --json | jq '.[] | select(.seq >= %d)' | head -40\n", max(ce.Seq-1, 1))
				return exitError{1}
			case errors.As(err, &se):
				if asJSON {
					a.writeJSON(se)
					return exitError{1}
				}
				a.printf("chain ok: %d audit rows verified\n", n)
				for _, t := range se.Triggers {
					a.printf("BROKEN: trigger %s is missing or was altered (it comes back at the next open; the rows below were changed meanwhile)\n", t)
				}
				a.printf("BROKEN: %d rows changed behind the program's back (no audit row explains their state):\n", len(se.Findings))
				for _, f := range se.Findings {
					a.printf("  %s %s: %s\n", f.Table, printable(f.Key), f.Reason)
				}
				a.printf("inspect one: idcards audit list --json | jq '.[] | select(.seq == SEQ)'; see docs/security.md \"When verify fails\"\n")
				return exitError{1}
			case err != nil:
				return err
			}
			if head = strings.TrimSpace(head); head != "" {
				seq, ok, err := s.AuditHeadMatches(ctx, head)
				if err != nil {
					return err
				}
				if !ok {
					a.printf("BROKEN: the head you kept (%s) is no longer in the trail: rows at the end were deleted or rewritten since\n", head)
					return exitError{1}
				}
				a.printf("kept head found at row %d\n", seq)
			}
			a.printf("ok: %d audit rows verified (%d keyed with key %s", n, v.Keyed, v.KeyID)
			if v.Unkeyed > 0 {
				a.printf(", %d older unkeyed rows anchored by it", v.Unkeyed)
			}
			if v.NotChecked > 0 {
				a.printf(", %d rows keyed with a key that is no longer available: links checked only", v.NotChecked)
			}
			a.printf("); head %s\n", registry.ShortHead(v.HeadSeq, v.Head))
			a.printf("ok: %d protected rows match the state their audit rows recorded\n", v.StateRows)
			if v.ScanBatches > 0 {
				a.printf("ok: %d scan log rows verified against %d scan.batch digests\n", v.ScanRows, v.ScanBatches)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&head, "head", "", "a head kept from audit head, an earlier verify or a backup report (SEQ-HASHPREFIX or a full hash): it must still be in the trail")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the unexplained rows as JSON")
	return cmd
}

func (a *app) auditHeadCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "head",
		Short: "Print a short value naming the trail's last row, to write down or send elsewhere",
		Long: `Print the audit trail's head as SEQ-HASH16: the last row's number and the first
16 hex digits of its keyed hash, e.g. 1042-5f0c2a9e81d3b7c4. Write it in the
desk's log book, or send it to someone off site (a daily message, a ticket).
Later, ` + "`idcards audit verify --head VALUE`" + ` checks that this row is still in
the trail, unchanged: whoever holds the registry file and its chain key could
rewrite history, but not a head that already left the machine.`,
		Example: `  idcards audit head
  idcards audit head | mail -s "registry head $(date +%F)" supervisor@example.org`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := idcards.Require(ctx, idcards.PermReadAudit); err != nil {
				return err
			}
			h, err := s.AuditHead(ctx)
			if err != nil {
				return err
			}
			a.printf("%s\n", h)
			return nil
		},
	}
}

func (a *app) auditKeyCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Where this machine keeps the registry's audit chain key; install a copy on a new desk",
		Long: `The audit trail is keyed with the registry's chain key, a file kept apart from
the registry (mode 0600). Every desk that writes needs it: a desk without it
says "the audit chain key is not available" and changes nothing.

  idcards audit key            where this machine looks for the key (--db's
                               default place, or $IDCARDS_AUDIT_KEY) and which
                               key is there (its public id, never the secret)
  idcards audit key install F  check the key file F against the registry (its
                               identity, and the whole trail must verify under
                               it), then copy it to that place, mode 0600;
                               an admin's task (--user ADMIN, or the OS user
                               while cli_sign_in is off)

For a PostgreSQL registry the place is ~/.config/idcards/HOST_PORT_DB.auditkey
on each desk: copy the key from the desk that ran init (a USB stick, scp), run
install once on each desk, then delete the stray copy (docs/deploy.md).`,
		Example: `  idcards --db 'postgres://idcards_desk@db.clinic.lan/idcards?sslmode=verify-full' audit key install /media/usb/db.clinic.lan_5432_idcards.auditkey
  idcards audit key --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := registry.ChainKeyStatus(a.registryPath(), a.storeOptions())
			if err != nil {
				return err
			}
			if asJSON {
				return a.writeJSON(st)
			}
			if !st.Present {
				a.printf("no chain key at %s: install the registry's key there (idcards audit key install FILE)\n", st.Path)
				return nil
			}
			a.printf("chain key %s of registry %s at %s\n", st.KeyID, st.Registry, st.Path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	install := &cobra.Command{
		Use:   "install FILE",
		Short: "Check a copy of the chain key against the registry and put it where this desk looks for it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Who installs is decided as for any command (--user, cli_sign_in),
			// once the key is known to be the registry's: signing in writes
			// keyed audit rows.
			st, rows, err := registry.InstallChainKey(cmd.Context(), a.registryPath(), args[0], a.storeOptions(), a.signIn)
			if err != nil {
				return err
			}
			a.printf("installed chain key %s of registry %s at %s (mode 0600); the trail's %d rows verify under it\n", st.KeyID, st.Registry, st.Path, rows)
			return nil
		},
	}
	cmd.AddCommand(install)
	return cmd
}
