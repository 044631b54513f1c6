package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
)

// scanStatuses are the answers the endpoint gives, for --status.
var scanStatuses = []idcards.Status{idcards.StatusActive, idcards.StatusUnassigned, idcards.StatusVoided,
	idcards.StatusReplaced, idcards.StatusUnknown, idcards.StatusInvalidCheck, idcards.StatusMalformed}

func (a *app) auditScansCmd() *cobra.Command {
	var since, code, token, status string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "scans [--since T] [--code C] [--token NAME] [--status S] [--limit N] [--json]",
		Short: "Show the scan log (every scanner request `idcards serve` answered), newest first",
		Long: `List the scan log: one row per question ` + "`idcards serve`" + ` answered, with the
time, the scanner token's name, the code (normalised), the status given and
the client's address. Rows are newest first; --limit defaults to 100
(--limit 0 lists everything).

The scan log is kept apart from the audit trail so that auditing every scan
costs little, but it is covered by the trail: each batch the server writes
adds one scan.batch audit row holding the batch's row count and a SHA-256
digest of its rows, so ` + "`idcards audit verify`" + ` detects a scan row that was changed,
deleted or inserted, and names its batch.

The log has no index besides its row id (appends stay cheap), so filters
read the table from the newest row backwards: fine for an occasional query,
slower the more rows must be skipped. Needs the supervisor or admin role,
like ` + "`audit list`" + `.`,
		Example: `  idcards audit scans                              # the last 100 scans
  idcards audit scans --code KLA000001D --since 7d  # who checked this card this week
  idcards audit scans --token ward3 --status invalid_check --limit 20
  idcards audit scans --since 2026-03-01 --limit 0 --json > scans-march.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return idcards.Errorf(idcards.Invalid, "--limit %d: use 0 (all) or more", limit)
			}
			f := registry.ScanFilter{Code: strings.ToUpper(strings.TrimSpace(code)), Token: strings.TrimSpace(token), Limit: limit}
			if status = strings.TrimSpace(status); status != "" {
				for _, st := range scanStatuses {
					if string(st) == status {
						f.Status = st
					}
				}
				if f.Status == "" {
					names := make([]string, len(scanStatuses))
					for i, st := range scanStatuses {
						names[i] = string(st)
					}
					return idcards.Errorf(idcards.Invalid, "--status %q: use one of %s", status, strings.Join(names, ", "))
				}
			}
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if f.Since, err = parseSince(since, s.Now()); err != nil {
				return err
			}
			w := bufio.NewWriter(a.stdout)
			defer w.Flush()
			if asJSON {
				recs := []registry.ScanRecord{}
				if err := s.EachScan(ctx, f, func(r registry.ScanRecord) error { recs = append(recs, r); return nil }); err != nil {
					return err
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(recs)
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tAT\tTOKEN\tCODE\tSTATUS\tADDR")
			n := 0
			if err := s.EachScan(ctx, f, func(r registry.ScanRecord) error {
				n++
				_, err := fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.At.Format(time.RFC3339), printable(r.Token), printable(r.Code), r.Status, printable(r.Addr))
				return err
			}); err != nil {
				return err
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if n == limit && limit > 0 {
				fmt.Fprintf(w, "(newest %d shown; --limit 0 for all)\n", n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "rows at or after: 2026-03-01, 2026-03-01T08:00:00Z, or a duration ago (24h, 7d)")
	cmd.Flags().StringVar(&code, "code", "", "rows about this code (as normalised: KLA000001D)")
	cmd.Flags().StringVar(&token, "token", "", "rows from this scanner token (its name, as in `idcards tokens list`)")
	cmd.Flags().StringVar(&status, "status", "", "rows with this answer: active, unassigned, voided, replaced, unknown, invalid_check, malformed")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many rows, newest first (0 = all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}
