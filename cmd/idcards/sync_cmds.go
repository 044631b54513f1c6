package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/openmrs"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// The registry is what the Syncer drains.
var _ openmrs.Store = (*registry.Store)(nil)

// envOpenMRSPassword names the environment variable that may hold the
// OpenMRS password (the alternative to the configured password file).
const envOpenMRSPassword = "IDCARDS_OPENMRS_PASSWORD"

func (a *app) syncCmd() *cobra.Command {
	var once, noPull, pullOnly, fullPull bool
	cmd := &cobra.Command{
		Use:   "sync [--once] [--no-pull | --pull-only] [--full-pull]",
		Short: "Keep the registry and OpenMRS in agreement (push registrations, pull identifiers)",
		Long: `sync sends every registration, new MRN and voided MRN made at the desk to OpenMRS
exactly once, and reads the identifiers OpenMRS already holds so that idcards
never issues one of them. Set it up once with ` + "`idcards sync configure`" + `.

Without --once it runs until interrupted: it pushes every sync interval
(default 1m) and pulls every pull interval (default 15m). A pull reads only
the patients changed since the last one when OpenMRS has the FHIR2 module
(Patient?_lastUpdated=gt…), and every identifier of our prefixes once a day
(--full-pull-interval) or when FHIR2 is missing. A failed pull does not stop
the push. With an idgen pool (configure --id-source idgen:UUID) each round
also refills the pool when it is below its low-water mark.

With --once it does one round and exits with:
  0  everything due was pushed (and pulled)
  1  not everything: changes that failed one by one and stay queued — in this
     round, or in an earlier one and still waiting out their back-off (the
     message says how many and when the next attempt is) — open conflicts
     waiting for a supervisor, or another error (the message says what; a
     pull that failed while the push went through also exits 1)
  2  invalid flags or settings (e.g. sync is not configured)
  3  another idcards process holds the sync lease: it is syncing already
  4  OpenMRS refused the credentials or a privilege
  5  OpenMRS cannot be reached (every change stays queued and is sent later)
The outbox keeps every change; nothing is lost while OpenMRS is down. The TUI
and ` + "`idcards serve --sync`" + ` run the same sync in the background; only one
process syncs a registry at a time (pulls too).

What sync guarantees that OpenMRS does not (OpenMRS has no unique index on
identifiers, and idgen never looks at existing patients):
  - before pushing, it asks OpenMRS who holds each MRN; after pushing, it asks
    again. A number held by a different patient becomes a conflict for a
    supervisor (` + "`idcards sync conflicts`" + `), never a silent overwrite.
  - the patient's UUID is chosen by the desk, so when an answer is lost (a
    timeout after OpenMRS saved the patient), the next attempt finds the
    patient instead of creating a second one.
  - failed pushes are retried with growing, jittered delays; a server that
    keeps failing is left alone for a while (circuit breaker).

The OpenMRS password is read from $` + envOpenMRSPassword + ` or from the
password file given to configure; it never appears on the command line or in
logs.`,
		Example: `  idcards sync configure --url https://emr.example.org/openmrs --openmrs-user idcards-desk \
      --password-file /etc/idcards/openmrs.pw \
      --identifier-type 05a29f94-c0ed-11e2-94be-8c13b969e334 --location 8d6c993e-c2cc-11de-8d13-0010c6dffd0f
  idcards sync --once
  idcards sync status
  idcards sync conflicts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if noPull && pullOnly {
				return idcards.Errorf(idcards.Invalid, "--no-pull and --pull-only exclude each other")
			}
			return a.runSync(cmd.Context(), once, openmrs.Round{Pull: !noPull, Push: !pullOnly, FullPull: fullPull})
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "pull and push once, then exit")
	cmd.Flags().BoolVar(&noPull, "no-pull", false, "only push the outbox")
	cmd.Flags().BoolVar(&pullOnly, "pull-only", false, "only read OpenMRS's identifiers")
	cmd.Flags().BoolVar(&fullPull, "full-pull", false, "with --once: read every identifier of our prefixes, not only what changed")
	cmd.AddCommand(a.syncConfigureCmd(), a.syncStatusCmd(), a.syncConflictsCmd(), a.syncResolveCmd(),
		a.syncOutboxCmd(), a.syncTypesCmd(), a.syncLocationsCmd(), a.syncSourcesCmd(), a.syncPoolCmd(), a.syncOffCmd())
	return cmd
}

// openmrsClient builds a client from saved settings.
func (a *app) openmrsClient(cfg registry.SyncConfig, logf func(string, ...any)) (*openmrs.Client, error) {
	if _, err := checkOpenMRSURL(cfg.URL); err != nil {
		return nil, err
	}
	pw, err := a.openmrsPassword(cfg.PasswordFile)
	if err != nil {
		return nil, err
	}
	return openmrs.New(openmrs.Config{BaseURL: cfg.URL, Username: cfg.Username, Password: pw, Logf: logf, UserAgent: "idcards-sync"})
}

// checkOpenMRSURL refuses an OpenMRS URL that carries a user name or
// password (a URL is printed, logged and saved in the registry's settings,
// so its password would be too), and warns about plain http to another
// machine: the password and patients' details would cross the network in
// clear.
func checkOpenMRSURL(raw string) (warning string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", idcards.Errorf(idcards.Invalid, "OpenMRS URL: %v", err)
	}
	if u.User != nil {
		u.User = nil
		return "", idcards.Errorf(idcards.Invalid, "the OpenMRS URL carries a user name or password: give %s with --openmrs-user and the password in --password-file (a URL is printed, logged and saved, and its password with it)", u.Redacted())
	}
	host := u.Hostname()
	if u.Scheme == "http" && host != "localhost" && !(net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback()) {
		return fmt.Sprintf("%s is plain http to another machine: the OpenMRS password and patients' names and birth dates would cross the network unencrypted; use https (OpenMRS behind a TLS proxy)", raw), nil
	}
	return "", nil
}

func (a *app) openmrsPassword(file string) (string, error) {
	if pw := a.getenv(envOpenMRSPassword); pw != "" {
		return pw, nil
	}
	if file == "" {
		return "", idcards.Errorf(idcards.Invalid, "no OpenMRS password: set $%s or give configure --password-file", envOpenMRSPassword)
	}
	a.warnKeyFile(file)
	b, err := os.ReadFile(file)
	if err != nil {
		return "", idcards.Errorf(idcards.Invalid, "OpenMRS password file: %v", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if line = strings.TrimSuffix(line, "\r"); line == "" {
		return "", idcards.Errorf(idcards.Invalid, "OpenMRS password file %s is empty", file)
	}
	return line, nil
}

// newSyncer builds the Syncer for a registry from its saved settings.
func (a *app) newSyncer(ctx context.Context, s *registry.Store, owner string, logf func(string, ...any)) (*openmrs.Syncer, registry.SyncConfig, error) {
	cfg, ok, err := s.SyncConfig(ctx)
	if err != nil {
		return nil, cfg, err
	}
	if !ok {
		return nil, cfg, idcards.Errorf(idcards.Invalid, "OpenMRS sync is not configured: run `idcards sync configure` (see idcards sync --help)")
	}
	c, err := a.openmrsClient(cfg, logf)
	if err != nil {
		return nil, cfg, err
	}
	return newSyncerFor(ctx, s, c, cfg, owner, logf)
}

func newSyncerFor(ctx context.Context, s *registry.Store, c *openmrs.Client, cfg registry.SyncConfig, owner string, logf func(string, ...any)) (*openmrs.Syncer, registry.SyncConfig, error) {
	series, err := s.SeriesList(ctx)
	if err != nil {
		return nil, cfg, err
	}
	sc := openmrs.SyncerConfig{IdentifierType: cfg.IdentifierType, Location: cfg.Location, Owner: owner, Logf: logf, FullPullInterval: cfg.FullPullInterval,
		Lookalikes: cfg.Lookalikes}
	for _, se := range series {
		sc.Prefixes = append(sc.Prefixes, se.Format.Prefix)
		if sch, err := barcode.Lookup(se.Format.Scheme); err == nil {
			sc.Alphabet = sch.Alphabet()
		}
	}
	sy, err := openmrs.NewSyncer(c, s, sc)
	return sy, cfg, err
}

func (a *app) syncOwner(what string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s %d@%s", what, os.Getpid(), host)
}

func (a *app) runSync(ctx context.Context, once bool, round openmrs.Round) error {
	s, ctx, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	logf := func(format string, args ...any) { fmt.Fprintf(a.stderr, format+"\n", args...) }
	sy, cfg, err := a.newSyncer(ctx, s, a.syncOwner("sync"), nil)
	if err != nil {
		return err
	}
	progress := a.syncProgress()
	if once {
		rep, err := sy.Run(ctx, round, progress)
		a.printSyncReport(rep, round)
		var open int64
		if st, serr := s.SyncStatus(ctx); serr == nil && st.Conflicts > 0 {
			open = st.Conflicts
			a.printf("%d open conflict(s) wait for a supervisor: see idcards sync conflicts\n", st.Conflicts)
		}
		if err != nil {
			if errors.Is(err, openmrs.ErrBusy) {
				// Exit 3, so a cron job or service can tell "already
				// running" from a failure.
				fmt.Fprintln(a.stderr, "idcards:", syncError(err, cfg))
				return exitError{code: 3}
			}
			return syncError(err, cfg)
		}
		// Not everything went: a cron job or monitor must see it, also
		// when the changes failed in an earlier round and only wait out
		// their back-off now (nothing of theirs got through).
		if n := rep.Push.Retrying(); n > 0 {
			fmt.Fprintf(a.stderr, "idcards: %d change(s) failed and stay queued (%d in this round, %d waiting out the back-off of an earlier failure)%s: idcards sync outbox shows why\n",
				n, rep.Push.Deferred, rep.Push.Backoff, nextAttempt(rep.Push.NextRetry))
			return exitError{1}
		}
		if open > 0 {
			return exitError{1} // the registry and OpenMRS disagree until a supervisor resolves them
		}
		return nil
	}
	logf("syncing with %s every %s (pull every %s, a full pull every %s); Ctrl-C stops", cfg.URL, cfg.Interval, cfg.PullInterval, cfg.FullPullInterval)
	sy.Loop(ctx, openmrs.LoopConfig{Interval: cfg.Interval, PullInterval: cfg.PullInterval}, nil, func(rep openmrs.Report, err error) {
		stamp := time.Now().Format("15:04:05")
		if err != nil {
			logf("%s sync: %v", stamp, syncError(err, cfg))
			if rep.PullErr == nil {
				return
			}
		}
		logf("%s sync: %s", stamp, roundSummary(rep))
	})
	return nil
}

// nextAttempt says when the first of the failed changes is tried again.
func nextAttempt(at time.Time) string {
	if at.IsZero() {
		return ""
	}
	in := time.Until(at).Round(time.Second)
	if in <= 0 {
		return "; the next attempt is due now (run idcards sync --once again)"
	}
	return fmt.Sprintf("; the next attempt is at %s (in %s)", stamp(at), in)
}

// roundSummary is one log line about a round.
func roundSummary(rep openmrs.Report) string {
	out := fmt.Sprintf("pulled %d identifiers (%s, %d new, %d requests), pushed %d, already there %d, retry later %d, waiting %d, conflicts %d",
		rep.Pull.Identifiers, orDash(rep.Pull.Mode), rep.Pull.Added, rep.Pull.Requests, rep.Push.Pushed, rep.Push.Already, rep.Push.Retrying(), rep.Push.Waiting,
		rep.Push.Conflicts+rep.Pull.Conflicts)
	if rep.Refill.Asked > 0 {
		out += fmt.Sprintf(", pool refilled with %d", rep.Refill.Added)
	}
	if w := rep.Pull.Withdrawn + rep.Refill.Withdrawn; w > 0 {
		out += fmt.Sprintf(", %d pool number(s) withdrawn (held in OpenMRS; see idcards sync pool)", w)
	}
	return out
}

// syncProgress writes a one-line progress display on a terminal.
func (a *app) syncProgress() func(openmrs.Report) {
	f, ok := a.stderr.(*os.File)
	if !ok || !isTerminalFile(f) {
		return func(openmrs.Report) {}
	}
	last := time.Time{}
	return func(r openmrs.Report) {
		if time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(a.stderr, "\rpull: %d identifiers (%d pages)  push: %d done, %d to retry, %d conflicts\033[K",
			r.Pull.Identifiers, r.Pull.Requests, r.Push.Pushed+r.Push.Already, r.Push.Deferred, r.Push.Conflicts)
	}
}

func (a *app) printSyncReport(r openmrs.Report, round openmrs.Round) {
	if f, ok := a.stderr.(*os.File); ok && isTerminalFile(f) {
		fmt.Fprint(a.stderr, "\r\033[K")
	}
	if r.Refill.Asked > 0 {
		a.printf("pool: %d new number(s) from idgen (%d withdrawn: already held)\n", r.Refill.Added, r.Refill.Withdrawn)
	}
	if round.Pull {
		switch {
		case r.PullErr != nil:
			a.printf("pull failed (%v); pushing anyway\n", r.PullErr)
		case r.Pull.Mode != "":
			a.printf("pulled %d identifiers of our prefixes from OpenMRS (%s pull, %d new, %d pages)\n", r.Pull.Identifiers, r.Pull.Mode, r.Pull.Added, r.Pull.Requests)
		}
		if r.Pull.Withdrawn > 0 {
			a.printf("%d number(s) withdrawn from the pool: OpenMRS holds them for someone else (idcards sync pool)\n", r.Pull.Withdrawn)
		}
	}
	if round.Push {
		a.printf("pushed %d, already in OpenMRS %d, to retry later %d, waiting %d, conflicts %d\n",
			r.Push.Pushed, r.Push.Already, r.Push.Retrying(), r.Push.Waiting, r.Push.Conflicts)
	}
}

// syncError adds what to do to the errors a person can fix.
func syncError(err error, cfg registry.SyncConfig) error {
	switch {
	case errors.Is(err, openmrs.ErrBusy):
		return idcards.Errorf(idcards.Conflict, "another idcards process (the desk screen, serve --sync or another sync) is syncing this registry; it will push the outbox")
	case errors.Is(err, openmrs.ErrNotREST):
		return idcards.Errorf(idcards.Invalid, "%s does not look like OpenMRS's REST API (it answered with a web page, not JSON): give the OpenMRS web app root, e.g. https://emr.example.org/openmrs: %v", cfg.URL, err)
	case errors.Is(err, openmrs.ErrNoPrefixSearch):
		return idcards.Errorf(idcards.Invalid, "OpenMRS at %s cannot be pulled from: %v", cfg.URL, err)
	}
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ce x509.CertificateInvalidError
	if errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ce) {
		// Not a server that is down: waiting will not help.
		return idcards.Errorf(idcards.Unavailable, "OpenMRS at %s answered, but its TLS certificate could not be verified (a self-signed or private CA, a name not on the certificate, or an expired one). Trust the site's CA with SSL_CERT_FILE=/path/ca.pem (or the system's CA store) rather than turning checks off; every change stays queued: %v", cfg.URL, err)
	}
	switch openmrs.Classify(err) {
	case openmrs.ReasonUnauthorized:
		return idcards.Errorf(idcards.Forbidden, "OpenMRS at %s did not accept user %q: wrong username or password (check $%s or the password file %s): %v",
			cfg.URL, cfg.Username, envOpenMRSPassword, cfg.PasswordFile, err)
	case openmrs.ReasonForbidden:
		return idcards.Errorf(idcards.Forbidden, "OpenMRS user %q lacks a privilege sync needs (Get/Add/Edit Patients, Get Identifier Types, Get Locations; for an idgen pool also View Identifier Sources and Generate Batch of Identifiers): %v", cfg.Username, err)
	case openmrs.ReasonNotFound:
		return idcards.Errorf(idcards.NotFound, "OpenMRS at %s answered 404: wrong base URL (it should end in /openmrs) or the REST module is missing: %v", cfg.URL, err)
	case openmrs.ReasonUnavailable, openmrs.ReasonTimeout:
		return idcards.Errorf(idcards.Unavailable, "OpenMRS at %s cannot be reached; every change stays queued and is sent when it is back: %v", cfg.URL, err)
	}
	return err
}

func (a *app) syncConfigureCmd() *cobra.Command {
	var cfg registry.SyncConfig
	var force bool
	var idSource string
	var poolSize, lowWater int
	cmd := &cobra.Command{
		Use:   "configure --url URL --openmrs-user NAME --identifier-type UUID [--location UUID] [--password-file F]",
		Short: "Connect the registry to OpenMRS, after checking the server accepts our MRNs (admin)",
		Long: `configure logs in to OpenMRS and checks, before saving anything, that:
  - the credentials work (OpenMRS answers wrong ones with "not authenticated",
    not an error, so this is asked explicitly);
  - the identifier type exists and its validator computes the same check
    character as every series of this registry (for example idgen's
    LuhnMod30IdentifierValidator and scheme luhn-mod-30). A mismatch is refused:
    OpenMRS would reject every MRN with "Invalid check digit";
  - our MRNs match the type's format, if it has one;
  - the location exists (OpenMRS requires one on identifiers unless the type's
    location behaviour is NOT_USED);
  - an idgen source, if given, belongs to the same type (a warning is shown if
    it issues numbers in our namespace).
The password comes from --password-file (one line; keep the file mode 0600)
or $` + envOpenMRSPassword + `; only the file's absolute path is saved (so the desk
screen and services started elsewhere find it).

Where new MRNs come from (--id-source; without it configure keeps the current
source, and --pool/--low-water alone resize a pool; see docs/sync.md for when to
choose which):
  series      this registry's own series (default): give it a prefix no other
              OpenMRS entry point uses, and it works offline for ever;
  idgen:UUID  numbers exported from that OpenMRS idgen identifier source
              (list them with ` + "`idcards sync sources`" + `): the registry keeps a pool of
              --pool numbers, refilled in the background when fewer than
              --low-water are left; offline it serves until the pool is empty.
              Configure fills the pool at once. idgen counts exported numbers
              as used, so none is ever given back.
The check scheme of the identifier type is recorded: ` + "`idcards series add`" + ` then
refuses a series OpenMRS would reject.
Find the UUIDs with ` + "`idcards sync types`" + ` and ` + "`idcards sync locations`" + ` (they take the same
--url/--openmrs-user/--password-file flags).`,
		Example: `  idcards sync configure --url https://emr.example.org/openmrs --openmrs-user idcards-desk \
      --password-file /etc/idcards/openmrs.pw \
      --identifier-type 05a29f94-c0ed-11e2-94be-8c13b969e334 \
      --location 8d6c993e-c2cc-11de-8d13-0010c6dffd0f --interval 1m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if _, err := idcards.Require(ctx, idcards.PermSettings); err != nil {
				return err
			}
			// Without --id-source the registry keeps where its MRNs come
			// from: re-running configure (a new password file, another
			// interval) must not turn an idgen pool back into the series.
			old, err := s.IDSource(ctx)
			if err != nil {
				return err
			}
			src := old
			if cmd.Flags().Changed("id-source") {
				if src, err = registry.ParseIDSource(idSource); err != nil {
					return err
				}
				if src.Idgen != "" && src.Idgen == old.Idgen {
					src.Size, src.LowWater = old.Size, old.LowWater
				}
			}
			if old.Idgen != "" && src.Idgen != old.Idgen {
				if pool, err := s.Pool(ctx); err == nil && pool.Free > 0 {
					fmt.Fprintf(a.stderr, "warning: %d number(s) left in the pool from idgen source %s will not be issued (idgen counts them as used)\n", pool.Free, old.Idgen)
				}
			}
			if src.Idgen != "" {
				if cmd.Flags().Changed("pool") {
					src.Size = poolSize
				}
				if cmd.Flags().Changed("low-water") {
					src.LowWater = lowWater
				}
				if err := src.Validate(); err != nil {
					return err
				}
				if cfg.IdgenSource != "" && cfg.IdgenSource != src.Idgen {
					return idcards.Errorf(idcards.Invalid, "--idgen-source %s and --id-source idgen:%s name different sources; give one", cfg.IdgenSource, src.Idgen)
				}
				cfg.IdgenSource = src.Idgen
			} else if cmd.Flags().Changed("pool") || cmd.Flags().Changed("low-water") {
				return idcards.Errorf(idcards.Invalid, "--pool and --low-water go with --id-source idgen:UUID (this registry issues from its own series)")
			}
			if cfg.PasswordFile != "" {
				// Saved for runs from other directories (the desk screen, a service).
				if cfg.PasswordFile, err = filepath.Abs(cfg.PasswordFile); err != nil {
					return idcards.Errorf(idcards.Invalid, "--password-file: %v", err)
				}
			}
			c, err := a.openmrsClient(cfg, nil)
			if err != nil {
				return err
			}
			series, err := s.SeriesList(ctx)
			if err != nil {
				return err
			}
			setup := openmrs.Setup{IdentifierType: cfg.IdentifierType, Location: cfg.Location, IdgenSource: cfg.IdgenSource, Pool: src.Idgen != ""}
			for _, se := range series {
				setup.Formats = append(setup.Formats, se.Format)
			}
			rep, err := openmrs.CheckSetup(ctx, c, setup)
			if err != nil {
				return syncError(err, cfg)
			}
			if w, _ := checkOpenMRSURL(cfg.URL); w != "" {
				rep.Warnings = append(rep.Warnings, w)
			}
			for _, w := range rep.Warnings {
				fmt.Fprintln(a.stderr, "warning: "+w)
			}
			if len(rep.Warnings) > 0 && !force {
				return idcards.Errorf(idcards.Invalid, "not saved because of the warning(s) above; read them, then add --force to save anyway")
			}
			cfg.TypeScheme = "*"
			if sch, ok := openmrs.SchemeForValidator(rep.IdentifierType.Validator); ok {
				cfg.TypeScheme = sch
			}
			if err := s.SaveSyncConfig(ctx, cfg); err != nil {
				return err
			}
			if err := s.SetIDSource(ctx, src); err != nil {
				return err
			}
			a.printf("OpenMRS sync configured: %s as %s (%s), identifier type %q (%s), location %q\n",
				cfg.URL, rep.Session.User.Display, cfg.Username, rep.IdentifierType.Name, shortValidator(rep.IdentifierType.Validator), rep.Location.Name)
			if src.Idgen != "" {
				name := src.Idgen
				if rep.Source != nil {
					name = fmt.Sprintf("%q (%s)", rep.Source.Name, src.Idgen)
				}
				a.printf("new MRNs come from idgen source %s: a pool of %d, refilled below %d\n", name, src.Size, src.LowWater)
				sctx := idcards.WithActor(ctx, idcards.Actor{Name: "system:sync", Role: idcards.RoleSystem})
				sy, _, err := newSyncerFor(sctx, s, c, cfg, a.syncOwner("configure"), nil)
				if err != nil {
					return err
				}
				rr, err := sy.Refill(sctx)
				if err != nil {
					return syncError(fmt.Errorf("settings saved, but the first fill of the pool failed (sync retries it every round): %w", err), cfg)
				}
				pool, _ := s.Pool(ctx)
				a.printf("pool filled: %d number(s) from idgen (%d withdrawn: already held); %d free\n", rr.Added, rr.Withdrawn, pool.Free)
			} else {
				a.printf("new MRNs come from this registry's own series\n")
			}
			// The first full pull now, before a desk issues anything: a
			// number of our prefixes OpenMRS already holds (another entry
			// point using the same prefix) is then skipped, not issued.
			sctx := idcards.WithActor(ctx, idcards.Actor{Name: "system:sync", Role: idcards.RoleSystem})
			sy, _, err := newSyncerFor(sctx, s, c, cfg, a.syncOwner("configure"), nil)
			if err != nil {
				return err
			}
			pr, err := sy.Pull(sctx, true, nil)
			if err != nil {
				fmt.Fprintf(a.stderr, "warning: settings saved, but the first pull of OpenMRS's identifiers failed (%v): run idcards sync --once before the desks issue numbers\n", err)
				return exitError{5}
			}
			a.printf("first pull: %d identifier(s) of this registry's prefixes read from OpenMRS, %d new to this registry\n", pr.Identifiers, pr.Added)
			switch {
			case pr.Added > 0 && src.Idgen != "":
				// idgen hands out each number once, to OpenMRS's own
				// desks as to our pool: their numbers are no collision.
				a.printf("%d of them were issued by OpenMRS itself (idgen gives each number once, to its own desks and to this pool alike): recorded, never handed out here\n", pr.Added)
			case pr.Added > 0:
				fmt.Fprintf(a.stderr, "warning: OpenMRS already holds %d number(s) of this registry's prefixes that it did not issue: another system issues numbers of the same prefix. They are skipped from now on, but the two will keep colliding: give this registry a prefix of its own (idcards series add)\n", pr.Added)
			}
			if pr.Conflicts > 0 {
				fmt.Fprintf(a.stderr, "warning: %d number(s) this registry issued are held in OpenMRS by another patient: see idcards sync conflicts\n", pr.Conflicts)
			}
			a.printf("next: idcards sync --once   (or leave the desk screen open: it syncs in the background)\n")
			return nil
		},
	}
	a.openmrsFlags(cmd, &cfg)
	cmd.Flags().StringVar(&cfg.IdentifierType, "identifier-type", "", "UUID of the OpenMRS patient identifier type for our MRNs (required)")
	cmd.Flags().StringVar(&cfg.Location, "location", "", "UUID of the OpenMRS location put on identifiers")
	cmd.Flags().StringVar(&cfg.IdgenSource, "idgen-source", "", "UUID of the idgen identifier source of the same type (optional; checked for namespace overlap)")
	cmd.Flags().DurationVar(&cfg.Interval, "interval", registry.DefaultSyncInterval, "how often pending changes are pushed")
	cmd.Flags().DurationVar(&cfg.PullInterval, "pull-interval", registry.DefaultPullInterval, "how often OpenMRS's identifiers are read (only what changed, where OpenMRS has FHIR2)")
	cmd.Flags().DurationVar(&cfg.FullPullInterval, "full-pull-interval", registry.DefaultFullPullInterval, "how often a pull reads every identifier of our prefixes (the safety net of incremental pulls)")
	cmd.Flags().StringVar(&cfg.Lookalikes, "lookalikes", registry.LookalikesPossible, "before creating a patient in OpenMRS, search it by name and hold the registration for a supervisor when someone there may be the same person: possible, probable (only when almost surely the same) or off")
	cmd.Flags().StringVar(&idSource, "id-source", "", "where new MRNs come from: series (this registry's own) or idgen:UUID (a pool of numbers from an OpenMRS idgen source); default: keep the current one (series on a new registry)")
	cmd.Flags().IntVar(&poolSize, "pool", registry.DefaultPoolSize, "with --id-source idgen:UUID: numbers the pool holds after a refill")
	cmd.Flags().IntVar(&lowWater, "low-water", registry.DefaultPoolLowWater, "with --id-source idgen:UUID: refill when fewer numbers than this are left")
	cmd.Flags().BoolVar(&force, "force", false, "save even when the check gave warnings")
	_ = cmd.MarkFlagRequired("identifier-type")
	return cmd
}

func (a *app) openmrsFlags(cmd *cobra.Command, cfg *registry.SyncConfig) {
	cmd.Flags().StringVar(&cfg.URL, "url", "", "OpenMRS base URL, e.g. https://emr.example.org/openmrs")
	// Not --user: that is idcards' own sign-in (a global flag), which a
	// local --user hid, so a clerk's --user NAME ran configure as the OS
	// user, who may do anything.
	cmd.Flags().StringVar(&cfg.Username, "openmrs-user", "", "OpenMRS username for idcards (a personal service account)")
	cmd.Flags().StringVar(&cfg.PasswordFile, "password-file", "", "file holding the OpenMRS password (else $"+envOpenMRSPassword+")")
	_ = cmd.MarkFlagRequired("url")
	_ = cmd.MarkFlagRequired("openmrs-user")
}

// lookupFlags are the connection flags of types and locations; without
// them the saved settings are used.
func lookupFlags(cmd *cobra.Command, flags *registry.SyncConfig) {
	cmd.Flags().StringVar(&flags.URL, "url", "", "OpenMRS base URL (default: the configured one)")
	cmd.Flags().StringVar(&flags.Username, "openmrs-user", "", "OpenMRS username (--user is idcards' own sign-in)")
	cmd.Flags().StringVar(&flags.PasswordFile, "password-file", "", "file holding the OpenMRS password (else $"+envOpenMRSPassword+")")
}

// lookupClient is the client for types/locations: flags, else saved settings.
func (a *app) lookupClient(ctx context.Context, flags registry.SyncConfig) (*openmrs.Client, registry.SyncConfig, error) {
	cfg := flags
	if cfg.URL == "" {
		s, sctx, err := a.open(ctx)
		if err != nil {
			return nil, cfg, err
		}
		saved, ok, err := s.SyncConfig(sctx)
		s.Close()
		if err != nil {
			return nil, cfg, err
		}
		if !ok {
			return nil, cfg, idcards.Errorf(idcards.Invalid, "give --url and --openmrs-user (sync is not configured yet)")
		}
		cfg = saved
	}
	c, err := a.openmrsClient(cfg, nil)
	return c, cfg, err
}

func (a *app) syncTypesCmd() *cobra.Command {
	var flags registry.SyncConfig
	cmd := &cobra.Command{
		Use:   "types [--url URL --openmrs-user NAME]",
		Short: "List OpenMRS's patient identifier types and the idcards scheme matching each validator",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg, err := a.lookupClient(cmd.Context(), flags)
			if err != nil {
				return err
			}
			types, err := c.IdentifierTypes(cmd.Context())
			if err != nil {
				return syncError(err, cfg)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "UUID\tNAME\tVALIDATOR\tSCHEME\tLOCATION\tFORMAT")
			for _, t := range types {
				if t.Retired {
					continue
				}
				scheme, ok := openmrs.SchemeForValidator(t.Validator)
				switch {
				case t.Validator == "":
					scheme = "(none: any)"
				case !ok:
					scheme = "(unknown)"
				}
				loc := "required"
				if !t.LocationRequired() {
					loc = "not used"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", printable(t.UUID), printable(t.Name), printable(shortValidator(t.Validator)), scheme, printable(loc), printable(t.Format))
			}
			return tw.Flush()
		},
	}
	lookupFlags(cmd, &flags)
	return cmd
}

func (a *app) syncLocationsCmd() *cobra.Command {
	var flags registry.SyncConfig
	var q string
	cmd := &cobra.Command{
		Use:   "locations [--q NAME] [--url URL --openmrs-user NAME]",
		Short: "List OpenMRS locations (for configure --location)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg, err := a.lookupClient(cmd.Context(), flags)
			if err != nil {
				return err
			}
			locs, err := c.Locations(cmd.Context(), q)
			if err != nil {
				return syncError(err, cfg)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "UUID\tNAME\tTAGS")
			for _, l := range locs {
				if !l.Retired {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", printable(l.UUID), printable(l.Name), printable(strings.Join(l.Tags, ", ")))
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&q, "q", "", "part of the location's name")
	lookupFlags(cmd, &flags)
	return cmd
}

func (a *app) syncStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "Show the last successful push and pull, pending changes, open conflicts and the last error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			st, err := s.SyncStatus(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(st)
			}
			a.printSyncStatus(st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) printSyncStatus(st idcards.SyncStatus) {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	if !st.Configured {
		fmt.Fprintln(tw, "OpenMRS sync:\tnot configured (idcards sync configure)")
	} else {
		fmt.Fprintf(tw, "OpenMRS:\t%s\n", st.URL)
	}
	fmt.Fprintf(tw, "last push:\t%s\n", stamp(st.LastPushAt))
	pull := stamp(st.LastPullAt)
	if st.PullMode != "" {
		pull += " (" + st.PullMode + ")"
	}
	fmt.Fprintf(tw, "last pull:\t%s\n", pull)
	fmt.Fprintf(tw, "last full pull:\t%s\n", stamp(st.LastFullPullAt))
	pending := strconv.FormatInt(st.Pending, 10)
	if st.Pending > 0 {
		pending += fmt.Sprintf(" for %d patient(s), oldest queued %s", st.PendingPatients, stamp(st.OldestQueued))
	}
	fmt.Fprintf(tw, "pending changes:\t%s\n", pending)
	fmt.Fprintf(tw, "open conflicts:\t%d\n", st.Conflicts)
	fmt.Fprintf(tw, "identifiers held by OpenMRS:\t%d\n", st.External)
	if strings.HasPrefix(st.IDSource, "idgen:") {
		fmt.Fprintf(tw, "new MRNs from:\t%s (pool: %d left, %d withdrawn: idcards sync pool)\n", st.IDSource, st.PoolFree, st.PoolWithdrawn)
	} else {
		fmt.Fprintf(tw, "new MRNs from:\tthis registry's series\n")
	}
	for _, sp := range st.Supply {
		if sp.Current || sp.Pool {
			fmt.Fprintf(tw, "%s:\t%s\n", sp.Name, supplyDays(sp))
		}
	}
	if st.LastError != "" {
		fmt.Fprintf(tw, "last error:\t%s: %s\n", stamp(st.LastErrorAt), escapeText(st.LastError, 0))
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func (a *app) syncConflictsCmd() *cobra.Command {
	var all, asJSON bool
	cmd := &cobra.Command{
		Use:   "conflicts [--all] [--json]",
		Short: "List disagreements with OpenMRS that a supervisor must resolve",
		Long: `A conflict is recorded when OpenMRS holds one of our MRNs for a different patient,
when OpenMRS refuses a registration for a reason only a person can fix, when
a number on an unassigned (pre-printed) card turns up in OpenMRS, or (kind
"lookalike") when OpenMRS already has a patient who may be the person being
registered, under another record. The change stays held until a supervisor
resolves it with ` + "`idcards sync resolve`" + ` (see its --help).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			cs, err := s.SyncConflicts(ctx, all)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(cs)
			}
			if len(cs) == 0 {
				a.printf("no open conflicts\n")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tMRN\tPATIENT\tOPENMRS PATIENT\tDETECTED\tDETAIL\tRESOLUTION")
			for _, c := range cs {
				res := "-"
				if !c.ResolvedAt.IsZero() {
					res = c.ResolvedBy + ": " + c.Resolution
				}
				fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", c.ID, printable(c.Identifier), c.LocalPatientID, printable(c.RemotePatientUUID), stamp(c.DetectedAt), escapeText(c.Detail, 0), escapeText(res, 0))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "include resolved conflicts")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) syncResolveCmd() *cobra.Command {
	var note string
	var retry, same, different bool
	cmd := &cobra.Command{
		Use:   "resolve ID --note TEXT [--retry | --same | --different]",
		Short: "Close a conflict with a note of what was done (supervisor)",
		Long: `Closes a conflict listed by idcards sync conflicts, with a note kept in the audit trail.

A number in dispute (kind "identifier": OpenMRS holds our MRN for another
patient): fix it first, then resolve with --retry to queue the held change
again, or without it to leave the change held (say why in the note). Either
  - give our patient a new number: idcards patients void MRN --reason ...,
    idcards patients issue MRN, then resolve --retry: the registration goes
    with the new number, never the voided one (a held change that would add
    the voided MRN is closed, --retry or not); or
  - correct OpenMRS (void or change the other patient's identifier there, or
    merge the two records there when they are one person), then --retry.
--retry asks OpenMRS first and is refused while it still holds the number
for someone else and the MRN is still our patient's: the same conflict
would come straight back (OpenMRS unreachable: exit 5, the conflict stays
open).

A possible second record (kind "lookalike": before creating a patient in
OpenMRS, sync found a patient there who may be the same person): compare the
two (the detail lists OpenMRS's record; ask the patient), then
  --same       they are one person: the registry patient becomes that OpenMRS
               patient (takes its uuid and OpenMRS's details: names, sex,
               birth date, village), no second record is created, and the
               patient's MRNs are added to the OpenMRS record; OpenMRS must
               be reachable, to read that record as it is now;
  --different  they are two people: the registration is queued again and
               that OpenMRS patient is never raised for it again; the
               patient is created unless another possible match is found
               (raised as a new conflict).
The desk's patient screen shows such a hold seconds after the registration,
while the patient is there to ask, and settles it the same way with o (at a
clerk's desk the supervisor approves with their password).`,
		Example: `  idcards sync resolve 3 --note "OpenMRS patient was a duplicate; merged there" --retry
  idcards patients void KLA000123Y --reason "held in OpenMRS by another patient" && idcards patients issue KLA000123Y &&
    idcards sync resolve 7 --note "voided here, new MRN issued" --retry
  idcards sync resolve 4 --note "our record voided; patient kept the OpenMRS number"
  idcards sync resolve 5 --same --note "same mother and village; patient confirmed the 2019 visit"
  idcards sync resolve 6 --different --note "namesake: different father, born in Gulu"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return idcards.Errorf(idcards.Invalid, "conflict id %q: a number from idcards sync conflicts", args[0])
			}
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			// The permission and the note first: --same and --retry ask
			// OpenMRS with the stored account, which someone who may not
			// resolve must not get to do.
			if _, err := idcards.Require(ctx, idcards.PermResolve); err != nil {
				return err
			}
			if strings.TrimSpace(note) == "" {
				return idcards.Errorf(idcards.Invalid, "resolving conflict %d needs a note saying what was done (--note)", id)
			}
			switch {
			case same || different:
				if err := a.judgeLookalike(ctx, s, id, same, note); err != nil {
					return err
				}
				if same {
					a.printf("conflict %d resolved: one person; the patient's MRNs go onto the OpenMRS record at the next sync\n", id)
				} else {
					a.printf("conflict %d resolved: two people; the registration is queued again (created at the next sync unless OpenMRS has another possible match)\n", id)
				}
				return nil
			}
			if retry {
				// A number OpenMRS still holds for someone else comes
				// straight back as the same conflict: refuse, with the ways
				// out, while the cause stands.
				if err := a.identifierConflictStands(ctx, s, id); err != nil {
					return err
				}
			}
			held, err := s.ResolveConflictHeld(ctx, id, note, retry)
			if err != nil {
				return err
			}
			switch held {
			case registry.HeldQueued:
				a.printf("conflict %d resolved; the held change is queued again and goes at the next sync\n", id)
			case registry.HeldSettled:
				a.printf("conflict %d resolved; the held change was closed: its MRN was voided here, so it is never sent\n", id)
			case registry.HeldKept:
				a.printf("conflict %d resolved; the held change stays held, as your note says (--retry would have queued it again)\n", id)
			default:
				a.printf("conflict %d resolved\n", id)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "what was done (required; kept in the audit trail)")
	cmd.Flags().BoolVar(&retry, "retry", false, "queue the held change again")
	cmd.Flags().BoolVar(&same, "same", false, "a possible second record: the two are one person (link them)")
	cmd.Flags().BoolVar(&different, "different", false, "a possible second record: the two are different people (create the patient)")
	cmd.MarkFlagsMutuallyExclusive("retry", "same", "different")
	return cmd
}

// identifierConflictStands refuses `sync resolve ID --retry` for a number
// in dispute (kind identifier: OpenMRS holds our MRN for another patient)
// while OpenMRS still holds it for someone else and the MRN is still our
// patient's: re-queued, the held change would meet the same holder and
// raise the same conflict. It asks OpenMRS, because the way out may have
// been taken there (the identifier voided or corrected, or the two records
// merged); an MRN voided here since needs no asking (the registration goes
// with the patient's active MRNs only, and a row adding the voided one is
// settled). Other conflicts pass.
func (a *app) identifierConflictStands(ctx context.Context, s *registry.Store, id int64) error {
	cs, err := s.SyncConflicts(ctx, false)
	if err != nil {
		return err
	}
	var c *idcards.SyncConflict
	for i := range cs {
		if cs[i].ID == id {
			c = &cs[i]
		}
	}
	if c == nil || c.Kind == idcards.ConflictLookalike || c.RemotePatientUUID == "" || c.LocalPatientID == 0 || c.OutboxID == 0 {
		return nil // ResolveConflict answers these
	}
	mine, err := s.Identifier(ctx, c.Identifier)
	if err != nil && idcards.ErrorKind(err) != idcards.NotFound {
		return err
	}
	if err != nil || mine.State != idcards.IDActive || mine.PatientID != c.LocalPatientID {
		return nil // voided (or moved) here since: the cause is gone
	}
	p, err := s.Patient(ctx, c.LocalPatientID)
	if err != nil && idcards.ErrorKind(err) != idcards.NotFound {
		return err
	}
	if err != nil || p.UUID == c.RemotePatientUUID {
		return nil // OpenMRS has our own patient without the MRN: another matter
	}
	cfg, ok, err := s.SyncConfig(ctx)
	if err != nil || !ok {
		return err
	}
	cl, err := a.openmrsClient(cfg, nil)
	if err != nil {
		return err
	}
	holders, err := cl.Holders(ctx, cfg.IdentifierType, c.Identifier)
	if err != nil {
		if r := openmrs.Classify(err); r == openmrs.ReasonUnavailable || r == openmrs.ReasonTimeout {
			return idcards.Errorf(idcards.Unavailable, "--retry needs to ask OpenMRS who holds %s now, and OpenMRS at %s cannot be reached; the conflict stays open: try again when it is back (%v)", c.Identifier, cfg.URL, err)
		}
		return fmt.Errorf("--retry needs to ask OpenMRS who holds %s now: %w", c.Identifier, syncError(err, cfg))
	}
	for _, h := range holders {
		if h.UUID == p.UUID {
			continue
		}
		if kept, merged, err := s.MergedInto(ctx, h.UUID); err == nil && merged && kept == p.ID {
			return idcards.Errorf(idcards.Conflict, "conflict %d stays open: OpenMRS still keeps %s on patient %s, this registry's record merged into patient %d (%s) here, so --retry would raise the same conflict. Merge the two in OpenMRS too (Find Patients → Merge Patient Records, keeping %s), then run this again",
				id, c.Identifier, h.UUID, p.ID, p.UUID, p.UUID)
		}
		return idcards.Errorf(idcards.Conflict, `conflict %d stays open: OpenMRS still holds %s for %s (patient %s), so --retry would raise the same conflict. Either
  - our patient keeps a new number: idcards patients void %s --reason "held in OpenMRS by another patient", then idcards patients issue %s, then idcards sync resolve %d --note "voided here, new MRN issued" --retry (the registration goes with the new number, never %s); or
  - OpenMRS is wrong: correct it there (void or change that patient's identifier; if the two are one person, merge them there), then run this again`,
			id, c.Identifier, printable(h.Display), h.UUID, c.Identifier, c.Identifier, id, c.Identifier)
	}
	return nil
}

// lookalikeNow reads a look-alike conflict's OpenMRS patient as OpenMRS
// has it now, for linking: it must still be there (not merged away or
// voided since), and its details become the registry's.
// judgeLookalike settles look-alike conflict id, for sync resolve
// --same/--different and the desk's o key: the permission and the note
// first (same asks OpenMRS with the stored account, which someone who may
// not resolve must not get to do), then, for same, OpenMRS's record as it
// is now.
func (a *app) judgeLookalike(ctx context.Context, s *registry.Store, id int64, same bool, note string) error {
	if _, err := idcards.Require(ctx, idcards.PermResolve); err != nil {
		return err
	}
	if strings.TrimSpace(note) == "" {
		return idcards.Errorf(idcards.Invalid, "resolving conflict %d needs a note saying how you know", id)
	}
	var remote *idcards.Patient
	if same {
		var err error
		if remote, err = a.lookalikeNow(ctx, s, id); err != nil {
			return err
		}
	}
	return s.JudgeLookalike(ctx, id, same, note, remote)
}

// deskJudge is the desk's LookalikeJudge: judgeLookalike on the registry
// the desk has open.
type deskJudge struct {
	a    *app
	open func() *registry.Store
}

func (j deskJudge) JudgeLookalike(ctx context.Context, id int64, same bool, note string) error {
	s := j.open()
	if s == nil {
		return idcards.Errorf(idcards.Unavailable, "no registry is open")
	}
	return j.a.judgeLookalike(ctx, s, id, same, note)
}

func (a *app) lookalikeNow(ctx context.Context, s *registry.Store, id int64) (*idcards.Patient, error) {
	cs, err := s.SyncConflicts(ctx, false)
	if err != nil {
		return nil, err
	}
	var c *idcards.SyncConflict
	for i := range cs {
		if cs[i].ID == id {
			c = &cs[i]
		}
	}
	if c == nil {
		return nil, idcards.Errorf(idcards.NotFound, "no open conflict %d (see idcards sync conflicts)", id)
	}
	if c.Kind != idcards.ConflictLookalike || c.RemotePatientUUID == "" {
		return nil, idcards.Errorf(idcards.Invalid, "conflict %d is not a possible second record of one person: resolve it with --note [--retry]", id)
	}
	cfg, ok, err := s.SyncConfig(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, idcards.Errorf(idcards.Invalid, "OpenMRS sync is not configured: run `idcards sync configure`")
	}
	cl, err := a.openmrsClient(cfg, nil)
	if err != nil {
		return nil, err
	}
	r, found, err := cl.GetPatient(ctx, c.RemotePatientUUID)
	if err != nil {
		if r := openmrs.Classify(err); r == openmrs.ReasonUnavailable || r == openmrs.ReasonTimeout {
			// Exit 5, as for every command that cannot reach OpenMRS.
			return nil, idcards.Errorf(idcards.Unavailable, "linking needs OpenMRS's record of patient %s as it is now, and OpenMRS at %s cannot be reached; the conflict stays open: try again when it is back (%v)", c.RemotePatientUUID, cfg.URL, err)
		}
		return nil, fmt.Errorf("linking needs OpenMRS's record of patient %s as it is now: %w", c.RemotePatientUUID, err)
	}
	if !found || r.Voided {
		return nil, idcards.Errorf(idcards.Conflict, "OpenMRS no longer has patient %s (merged into another or deleted there since): find the record OpenMRS kept, or resolve with --different to create the patient", c.RemotePatientUUID)
	}
	p := openmrs.AsPatient(r)
	return &p, nil
}

func (a *app) syncOutboxCmd() *cobra.Command {
	var state string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "outbox [--state pending|done|conflict] [--limit N] [--json]",
		Short: "List queued changes, newest first, with attempts and the last error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch state {
			case "", "pending", "done", "conflict":
			default:
				return idcards.Errorf(idcards.Invalid, "--state %q: pending, done or conflict", state)
			}
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			items, err := s.Outbox(ctx, state, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(items)
			}
			return writeOutbox(a.stdout, items)
		},
	}
	cmd.Flags().StringVar(&state, "state", "pending", "pending, done or conflict (\"\" for all)")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many rows")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func writeOutbox(w io.Writer, items []idcards.OutboxItem) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tPATIENT\tMRN\tQUEUED\tATTEMPTS\tSTATE\tNEXT TRY\tLAST ERROR")
	for _, it := range items {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%d\t%s\t%s\t%s\n", it.ID, it.Kind, it.PatientID, orDash(it.MRN), stamp(it.CreatedAt), it.Attempts, it.State,
			stamp(it.NextAttemptAt), orDash(it.LastError))
	}
	return tw.Flush()
}

func (a *app) syncOffCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "off",
		Short: "Forget the OpenMRS settings (admin); queued changes stay queued",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.ClearSyncConfig(ctx); err != nil {
				return err
			}
			a.printf("OpenMRS sync turned off; %s\n", "run idcards sync configure to turn it on again")
			return nil
		},
	}
}

func shortValidator(c string) string {
	if c == "" {
		return "-"
	}
	if i := strings.LastIndex(c, "."); i >= 0 {
		return c[i+1:]
	}
	return c
}

func isTerminalFile(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// startBackgroundSync runs OpenMRS sync beside the desk screen or the
// scanner endpoint when the registry has sync configured. It acts as the
// system actor, logs to log (never to the screen), and records its outcome
// in the registry, where the TUI's status line reads it. kick asks for a
// round now; stop ends it and waits.
func (a *app) startBackgroundSync(ctx context.Context, s *registry.Store, what string, log *slog.Logger, onRound func()) (kick func(), stop func()) {
	noop := func() {}
	sctx := idcards.WithActor(context.WithoutCancel(ctx), idcards.Actor{Name: "system:sync", Role: idcards.RoleSystem})
	cfg, ok, err := s.SyncConfig(sctx)
	if err != nil || !ok {
		return noop, noop
	}
	logf := func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) }
	sy, _, err := a.newSyncer(sctx, s, a.syncOwner(what), logf)
	if err != nil {
		log.Error("sync not started", "err", err)
		_ = s.SetSyncState(sctx, map[string]string{registry.SyncLastError: err.Error(), registry.SyncLastErrorAt: time.Now().UTC().Format(registry.TimeFormat)})
		return noop, noop
	}
	lctx, cancel := context.WithCancel(sctx)
	kicks := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sy.Loop(lctx, openmrs.LoopConfig{Interval: cfg.Interval, PullInterval: cfg.PullInterval}, kicks, func(rep openmrs.Report, err error) {
			if errors.Is(err, openmrs.ErrBusy) {
				log.Info("sync: another process is syncing this registry")
				return
			}
			if onRound != nil {
				defer onRound() // after the log line: the desk re-reads what the round changed
			}
			if err != nil {
				log.Warn("sync failed", "err", syncError(err, cfg))
				if rep.PullErr == nil {
					return
				}
			}
			log.Info("sync", "pulled", rep.Pull.Identifiers, "mode", rep.Pull.Mode, "requests", rep.Pull.Requests, "new", rep.Pull.Added,
				"pushed", rep.Push.Pushed, "already", rep.Push.Already, "retry", rep.Push.Retrying(), "waiting", rep.Push.Waiting,
				"conflicts", rep.Push.Conflicts+rep.Pull.Conflicts, "pool_added", rep.Refill.Added, "pool_withdrawn", rep.Pull.Withdrawn+rep.Refill.Withdrawn)
		})
	}()
	log.Info("background sync started", "url", cfg.URL, "interval", cfg.Interval)
	return func() {
			select {
			case kicks <- struct{}{}:
			default:
			}
		}, func() {
			cancel()
			<-done
		}
}

func (a *app) syncSourcesCmd() *cobra.Command {
	var flags registry.SyncConfig
	cmd := &cobra.Command{
		Use:   "sources [--url URL --openmrs-user NAME]",
		Short: "List OpenMRS's idgen identifier sources (for configure --id-source idgen:UUID)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, cfg, err := a.lookupClient(cmd.Context(), flags)
			if err != nil {
				return err
			}
			srcs, err := c.IdentifierSources(cmd.Context())
			if err != nil {
				return syncError(err, cfg)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "UUID\tNAME\tKIND\tIDENTIFIER TYPE\tPREFIX\tFIRST")
			for _, src := range srcs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", src.UUID, src.Name, orDash(src.Type), orDash(src.IdentifierTypeUUID), orDash(src.Prefix), orDash(src.FirstIdentifierBase))
			}
			return tw.Flush()
		},
	}
	lookupFlags(cmd, &flags)
	return cmd
}

func (a *app) syncPoolCmd() *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "pool [--json] [--limit N]",
		Short: "Show the idgen ID pool: numbers left, days they last, and the numbers withdrawn because OpenMRS holds them",
		Long: `With configure --id-source idgen:UUID, new MRNs come from a local pool of numbers
exported from that idgen source. This shows how many are left, how long they
last at the recent issue rate without a refill (i.e. offline), and every number
withdrawn from the pool because a pull found OpenMRS holding it for someone
else (idgen never looks at existing patients), with the patient holding it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			pool, err := s.Pool(ctx)
			if err != nil {
				return err
			}
			withdrawn, err := s.PoolWithdrawn(ctx, limit)
			if err != nil {
				return err
			}
			supply, err := s.Supply(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(struct {
					registry.PoolStatus
					Supply         []idcards.IDSupply   `json:"supply"`
					WithdrawnItems []registry.PoolEntry `json:"withdrawn_items"`
				}{pool, supply, withdrawn})
			}
			if pool.Source == "" {
				a.printf("this registry issues MRNs from its own series (no idgen pool; see idcards sync configure --id-source)\n")
				if pool.Free+pool.Other == 0 {
					return nil
				}
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			if pool.Source != "" {
				fmt.Fprintf(tw, "idgen source:\t%s\n", pool.Source)
				fmt.Fprintf(tw, "left:\t%d (refilled to %d when below %d)\n", pool.Free, pool.Size, pool.LowWater)
				for _, sp := range supply {
					if sp.Pool {
						fmt.Fprintf(tw, "lasts:\t%s\n", supplyDays(sp))
					}
				}
			}
			fmt.Fprintf(tw, "issued from the pool:\t%d\n", pool.Issued)
			fmt.Fprintf(tw, "withdrawn:\t%d\n", pool.Withdrawn)
			if pool.Other > 0 {
				fmt.Fprintf(tw, "unused from an earlier source:\t%d\n", pool.Other)
			}
			tw.Flush()
			if len(withdrawn) > 0 {
				tw = tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "\nWITHDRAWN\tFETCHED\tWITHDRAWN AT\tWHY")
				for _, e := range withdrawn {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Identifier, stamp(parseStamp(e.FetchedAt)), stamp(parseStamp(e.ChangedAt)), e.Note)
				}
				tw.Flush()
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&limit, "limit", 50, "list at most this many withdrawn numbers")
	return cmd
}

func parseStamp(v string) time.Time {
	t, err := time.Parse(registry.TimeFormat, v)
	if err != nil {
		return time.Time{}
	}
	return t
}

// supplyDays says how long a supply of MRNs lasts, for people.
func supplyDays(sp idcards.IDSupply) string {
	switch {
	case sp.Left == 0:
		return "none left"
	case sp.DaysLeft < 0:
		return fmt.Sprintf("%d left; nothing issued in the last %d days, so no forecast", sp.Left, registry.ForecastWindow)
	}
	out := fmt.Sprintf("%s days at %.1f a day (weighted %d-day rate)", formatDays(sp.DaysLeft), sp.PerDay, registry.ForecastWindow)
	if sp.Low() {
		out += " - LOW"
	}
	return out
}

// supplyDaysShort is supplyDays for a table column: "-" without a
// forecast, else the days, marked LOW under the warning threshold.
func supplyDaysShort(sp idcards.IDSupply) string {
	switch {
	case sp.Left == 0:
		return "0 (none left)"
	case sp.DaysLeft < 0:
		return "-"
	}
	out := formatDays(sp.DaysLeft)
	if sp.Low() {
		out += " LOW"
	}
	return out
}

func formatDays(d float64) string {
	switch {
	case d >= 36500:
		return ">36500"
	case d >= 10:
		return strconv.FormatFloat(math.Round(d), 'f', 0, 64)
	}
	return strconv.FormatFloat(d, 'f', 1, 64)
}

// recordTypeScheme makes sure a registry whose sync was configured before
// the identifier type's check scheme was recorded has it, asking OpenMRS
// once, so that series add can refuse a scheme OpenMRS would reject.
func (a *app) recordTypeScheme(ctx context.Context, s *registry.Store) error {
	cfg, ok, err := s.SyncConfig(ctx)
	if err != nil || !ok || cfg.TypeScheme != "" {
		return err
	}
	c, err := a.openmrsClient(cfg, nil)
	if err == nil {
		var t openmrs.IdentifierType
		if t, err = c.IdentifierType(ctx, cfg.IdentifierType); err == nil {
			cfg.TypeScheme = "*"
			if sch, ok := openmrs.SchemeForValidator(t.Validator); ok {
				cfg.TypeScheme = sch
			}
			return s.SaveSyncConfig(ctx, cfg)
		}
	}
	return idcards.Errorf(idcards.Unavailable, "cannot check the new series against OpenMRS: this registry has not recorded the check scheme of identifier type %s, and asking OpenMRS failed (%v); try again when OpenMRS is reachable, run idcards sync configure again, or add --no-openmrs-check",
		cfg.IdentifierType, err)
}
