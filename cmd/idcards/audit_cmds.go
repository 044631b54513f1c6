package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
)

func (a *app) auditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read, export and verify the tamper-evident audit trail",
		Long: `Every change to the registry (IDs, patients, cards, accounts, settings,
sign-ins, backups) writes an audit row in the same transaction as the change.
Each row carries a SHA-256 hash of its content and of the previous row's hash,
so editing, deleting or inserting a row by hand breaks the chain from that row
on: ` + "`idcards audit verify`" + ` names the first broken row. Reading the trail needs
the supervisor or admin role.

Scanner requests answered by ` + "`idcards serve`" + ` go to the scan log instead
(` + "`idcards audit scans`" + `), one scan.batch audit row per batch holding a digest of
the batch's rows, so verify covers them too.`,
	}
	cmd.AddCommand(a.auditListCmd(), a.auditExportCmd(), a.auditVerifyCmd(), a.auditScansCmd())
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
			if asJSON {
				events := []idcards.AuditEvent{}
				if err := s.EachAudit(ctx, flt, func(e idcards.AuditEvent) error { events = append(events, e); return nil }); err != nil {
					return err
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(events)
			}
			return s.EachAudit(ctx, flt, func(e idcards.AuditEvent) error {
				_, err := fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.Format(time.RFC3339), e.Actor, e.Action, printable(e.Subject), printable(e.Detail))
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
	cmd := &cobra.Command{
		Use:   "export --format csv|jsonl [--out FILE]",
		Short: "Export audit rows with their hashes, streaming (for archiving or a spreadsheet)",
		Long: `Export the audit trail (or the rows the filters select) as CSV with a header
or as JSON Lines, streaming, so years of rows need little memory. Each row
keeps prev_hash and hash, so an exported full trail can be re-verified
elsewhere.

The scan log (scanner requests) is not part of this export: its batches
appear as scan.batch rows; export the rows themselves with
` + "`idcards audit scans --limit 0 --json`" + `.`,
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
			dst := a.stdout
			if out != "" {
				fh, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return idcards.Errorf(idcards.Conflict, "--out: %v", err)
				}
				defer fh.Close()
				dst = fh
			}
			w := bufio.NewWriter(dst)
			var each func(idcards.AuditEvent) error
			var cw *csv.Writer
			if format == "csv" {
				cw = csv.NewWriter(w)
				cw.Write([]string{"seq", "at", "actor", "action", "subject", "detail", "prev_hash", "hash"})
				each = func(e idcards.AuditEvent) error {
					return cw.Write([]string{strconv.FormatInt(e.Seq, 10), e.At.Format(registry.TimeFormat), e.Actor, e.Action, e.Subject, e.Detail, e.PrevHash, e.Hash})
				}
			} else {
				enc := json.NewEncoder(w)
				each = func(e idcards.AuditEvent) error { return enc.Encode(e) }
			}
			if err := s.EachAudit(ctx, flt, each); err != nil {
				return err
			}
			if cw != nil {
				if cw.Flush(); cw.Error() != nil {
					return cw.Error()
				}
			}
			return w.Flush()
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&format, "format", "jsonl", "csv or jsonl")
	cmd.Flags().StringVar(&out, "out", "", "write to this new file instead of standard output")
	return cmd
}

func (a *app) auditVerifyCmd() *cobra.Command {
	var head string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Walk the hash chain; exit 1 and name the first broken row",
		Long: `Recompute every audit row's hash from its content and the previous row's
hash, and each scan.batch row's digest from the scan log rows it covers
(a scan row changed, deleted or inserted is named with its batch). Exit 0
prints how many rows verified and the hash of the last row: write
that down (or keep it with a backup) — deleting rows at the very end of the
trail is only detectable against a head you kept. Exit 1 names the first row
that was edited, deleted or inserted; every row after it is suspect too.

--head checks against a head you kept (from an earlier verify or a backup
report): that row must still be in the trail, so rows deleted or rewritten
at the end since then are detected too.`,
		Example: `  idcards audit verify && echo trail intact
  idcards audit verify --head 09eb76512e44...   # the head printed last week`,
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
			if errors.As(err, &ce) {
				a.printf("BROKEN at row %d after %d good rows: %s\n", ce.Seq, n, ce.Reason)
				if ce.ScanFirst > 0 {
					a.printf("inspect the scan rows: idcards audit scans --limit 0 --json | jq '.[] | select(.id >= %d and .id <= %d)'\n", ce.ScanFirst, ce.ScanLast)
				}
				a.printf("inspect it: idcards audit list --json | jq '.[] | select(.seq >= %d)' | head -40\n", max(ce.Seq-1, 1))
				return exitError{1}
			}
			if err != nil {
				return err
			}
			if head = strings.ToLower(strings.TrimSpace(head)); head != "" {
				var seq int64
				err := s.DB().QueryRowContext(ctx, `SELECT seq FROM audit WHERE hash = ?`, head).Scan(&seq)
				if err != nil {
					a.printf("BROKEN: the head you kept (%s) is no longer in the trail: rows at the end were deleted or rewritten since\n", head)
					return exitError{1}
				}
				a.printf("kept head found at row %d\n", seq)
			}
			var last string
			s.DB().QueryRowContext(ctx, `SELECT hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&last)
			a.printf("ok: %d audit rows verified; head %s\n", n, last)
			if v.ScanBatches > 0 {
				a.printf("ok: %d scan log rows verified against %d scan.batch digests\n", v.ScanRows, v.ScanBatches)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&head, "head", "", "a head hash kept from an earlier verify or backup: it must still be in the trail")
	return cmd
}
