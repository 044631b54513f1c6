package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// roleSignedOut is the CLI's role when cli_sign_in is on and no --user was
// given: it has no permission, so reading commands that need none (verify)
// still work and every change is refused with this hint in the message.
const roleSignedOut idcards.Role = "none: cli_sign_in is on, pass --user NAME"

// signIn decides who the CLI acts as. Without --user and with cli_sign_in
// off it is the operating-system user ("os:NAME", operator role): whoever
// can open the registry file (mode 0600) can change it anyway. With --user
// the password is checked (from $IDCARDS_PASSWORD_FILE, a terminal prompt,
// or one line of standard input) and the account's role applies.
func (a *app) signIn(ctx context.Context, s *registry.Store) (context.Context, error) {
	osa := a.osActor()
	if a.signInUser == "" {
		on, err := s.Setting(ctx, "cli_sign_in", "off")
		if err != nil {
			return ctx, err
		}
		if on == "on" {
			osa.Role = roleSignedOut
		}
		return idcards.WithActor(ctx, osa), nil
	}
	pw, err := a.secret("password for "+a.signInUser+": ", a.getenv("IDCARDS_PASSWORD_FILE"))
	if errors.Is(err, errNoSecret) {
		return ctx, idcards.Errorf(idcards.Invalid, "no password given for --user %s: type it on a terminal, set $IDCARDS_PASSWORD_FILE to a file holding it, or give it as one line on standard input", a.signInUser)
	}
	if err != nil {
		return ctx, err
	}
	// The OS user is recorded too ("via=os:NAME"): who sat at which account.
	act, err := s.Authenticate(idcards.WithActor(ctx, osa), a.signInUser, pw)
	if errors.Is(err, registry.ErrMustChangePassword) {
		return ctx, fmt.Errorf("%w: run `idcards users change-password %s` first", err, a.signInUser)
	}
	if err != nil {
		return ctx, err
	}
	return idcards.WithActor(ctx, act), nil
}

// secret reads a password without putting it in the process arguments or
// on the screen: from file (first line) when given, else from a terminal
// with echo off, else one line of standard input (scripts).
func (a *app) secret(prompt, file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", idcards.Errorf(idcards.Invalid, "password file: %v", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimSuffix(line, "\r"), nil
	}
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	return a.readLine()
}

// newSecret reads a new password; on a terminal it asks twice.
// stdinIsTerminal reports whether a person can be prompted on stdin.
func (a *app) stdinIsTerminal() bool {
	f, ok := a.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *app) newSecret(prompt, file string) (string, error) {
	pw, err := a.secret(prompt, file)
	if err != nil || file != "" {
		return pw, err
	}
	if a.stdinIsTerminal() {
		again, err := a.secret("again: ", "")
		if err != nil {
			return "", err
		}
		if again != pw {
			return "", idcards.Errorf(idcards.Invalid, "the two passwords differ")
		}
	}
	return pw, nil
}

// errNoSecret: standard input ended before a password. Each command says
// where else its password can come from (its own flag, or for --user
// $IDCARDS_PASSWORD_FILE).
var errNoSecret = idcards.Errorf(idcards.Invalid, "no password given: type it on a terminal, name a file holding it with the command's password-file flag (see its --help), or give it as one line on standard input")

// readLine reads one line from stdin a byte at a time, so that several
// secrets can be read in turn without a buffer swallowing the next one.
func (a *app) readLine() (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) < 4096 {
		n, err := a.stdin.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				break
			}
			b = append(b, one[0])
			continue
		}
		if err == io.EOF {
			if len(b) == 0 {
				return "", errNoSecret
			}
			break
		}
		if err != nil {
			return "", err
		}
	}
	return strings.TrimSuffix(string(b), "\r"), nil
}

func (a *app) writeJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) usersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Personal accounts: add, list, disable, reset passwords, review",
		Long: `Personal accounts for the desk (TUI), the CLI with --user and the scanner
endpoint's sign-in. Roles, least privilege first:

  clerk       register patients, issue IDs, print single cards, scan
  printer     batch printing and reserving IDs for pre-printed runs
  supervisor  clerk's rights plus void, replace, merge, resolve sync
              conflicts, approve flood-cap requests, read the audit trail
  admin       users, settings, backups, audit (not patient data)

There is no default or shared account. The first admin is created by the
operating-system user who owns the registry file:
  idcards users add amina --role admin --must-change=false
Passwords: at least 10 characters, not a well-known common password, not
containing the user name, and hard enough to guess: a zxcvbn strength of at
least 3 of 4 (about 10^8 guesses; "aaaaaaaaaa" scores 0). A refused password
is told why; a few unrelated words make a strong one. Five failed sign-ins in
a row with one user name lock that name for a minute, doubling up to an hour,
whether or not an account has it ("too many attempts, try again in N
minutes"); an admin's password reset or users enable unlocks it.
Accounts are disabled, never deleted: the audit trail keeps their name.`,
	}
	cmd.AddCommand(a.usersAddCmd(), a.usersListCmd(), a.usersDisableCmd(true), a.usersDisableCmd(false),
		a.usersPasswdCmd(), a.usersChangePasswordCmd(), a.usersRoleCmd(), a.usersReviewCmd())
	return cmd
}

func (a *app) usersAddCmd() *cobra.Command {
	var u registry.NewUser
	var role, pwFile string
	cmd := &cobra.Command{
		Use:   "add NAME --role ROLE",
		Short: "Create a personal account",
		Long: `Create a personal account. The initial password comes from --password-file,
a terminal prompt (asked twice) or one line of standard input; never from an
argument, where other users could see it in the process list.

By default the user must choose a new password at the first sign-in, because
whoever typed this one knows it. Use --must-change=false when the person
types their own password (the first admin, for example).`,
		Example: `  idcards users add amina --role admin --full-name "Amina Kato" --must-change=false
  idcards users add john --role clerk --password-file /run/secrets/john`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			u.Username, u.Role = args[0], idcards.Role(role)
			// Refused before anyone types a password for nothing.
			if _, err := idcards.Require(ctx, idcards.PermUsers); err != nil {
				return err
			}
			if u.Password, err = a.newSecret("initial password for "+args[0]+": ", pwFile); err != nil {
				return err
			}
			if err := s.AddUser(ctx, u); err != nil {
				return err
			}
			a.printf("added %s (%s)%s\n", strings.ToLower(args[0]), role, map[bool]string{true: "; a new password is required at the first sign-in"}[u.MustChange])
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "clerk, printer, supervisor or admin (required)")
	cmd.Flags().StringVar(&u.FullName, "full-name", "", "the person's name, for reviews")
	cmd.Flags().StringVar(&pwFile, "password-file", "", "read the initial password from the first line of this file")
	cmd.Flags().BoolVar(&u.MustChange, "must-change", true, "require a new password at the first sign-in")
	cmd.MarkFlagRequired("role")
	return cmd
}

func (a *app) usersListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "list [--json]",
		Short:   "List accounts with role, state and last sign-in",
		Example: `  idcards users list --json | jq -r '.[] | select(.disabled) | .username'`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			users, err := s.ListUsers(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				if users == nil {
					users = []registry.User{}
				}
				return a.writeJSON(users)
			}
			return a.userTable(users, s.Now())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

func (a *app) userTable(users []registry.User, now time.Time) error {
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "USER\tROLE\tSTATE\tLAST SIGN-IN\tNAME")
	for _, u := range users {
		state := "enabled"
		switch {
		case u.Disabled:
			state = "disabled"
		case u.LockedUntil.After(now):
			state = "locked until " + u.LockedUntil.Local().Format("15:04")
		case u.MustChangePassword:
			state = "must change password"
		}
		last := "never"
		if !u.LastLoginAt.IsZero() {
			last = u.LastLoginAt.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", printable(u.Username), u.Role, state, last, printable(u.FullName))
	}
	return w.Flush()
}

func (a *app) usersDisableCmd(disable bool) *cobra.Command {
	use, short, verb := "enable NAME", "Let a disabled account sign in again (also clears a lock-out)", "enabled"
	if disable {
		use, short, verb = "disable NAME", "Stop an account from signing in (someone left); it is kept for the audit trail", "disabled"
	}
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Example: "  idcards users " + strings.Fields(use)[0] + " john",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if disable {
				err = s.DisableUser(ctx, args[0])
			} else {
				err = s.EnableUser(ctx, args[0])
			}
			if err != nil {
				return err
			}
			a.printf("%s %s\n", verb, strings.ToLower(args[0]))
			return nil
		},
	}
}

func (a *app) usersPasswdCmd() *cobra.Command {
	var pwFile string
	var mustChange bool
	cmd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Reset an account's password (admin); unlocks it",
		Long: `Set a new password for someone who forgot theirs or is locked out. The user
must choose their own at the next sign-in unless --must-change=false. To
change your own password, use ` + "`idcards users change-password`" + `.`,
		Example: `  idcards users passwd john            # prompts twice
  idcards users passwd john --new-password-file tmp.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			// Refused before anyone types a password for nothing: the
			// caller may reset passwords (an admin), and the account is
			// there (an admin may list accounts, so this tells nothing).
			users, err := s.ListUsers(ctx)
			if err != nil {
				return err
			}
			name := strings.ToLower(strings.TrimSpace(args[0]))
			if !slices.ContainsFunc(users, func(u registry.User) bool { return u.Username == name }) {
				return idcards.Errorf(idcards.NotFound, "no user %s (see idcards users list)", printable(name))
			}
			pw, err := a.newSecret("new password for "+name+": ", pwFile)
			if err != nil {
				return err
			}
			if err := s.ResetPassword(ctx, args[0], pw, mustChange); err != nil {
				return err
			}
			a.printf("password of %s reset\n", strings.ToLower(args[0]))
			return nil
		},
	}
	// --new-password-file as in change-password (and docs/security.md);
	// --password-file, the older name, still works.
	cmd.Flags().StringVar(&pwFile, "new-password-file", "", "read the new password from the first line of this file")
	cmd.Flags().StringVar(&pwFile, "password-file", "", "the same as --new-password-file")
	cmd.Flags().BoolVar(&mustChange, "must-change", true, "require a new password at the next sign-in")
	return cmd
}

func (a *app) usersChangePasswordCmd() *cobra.Command {
	var oldFile, newFile string
	cmd := &cobra.Command{
		Use:   "change-password NAME",
		Short: "Change your own password (needs the current one)",
		Long: `Change your own password. This is also how a user whose password was set by
an admin chooses their own before the first sign-in. The current password
comes from $IDCARDS_PASSWORD_FILE or a prompt, the new one from
--new-password-file or a prompt (or, without a terminal, two lines of
standard input: current, then new).`,
		Example: `  idcards users change-password john`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := registry.OpenWith(cmd.Context(), a.registryPath(), a.storeOptions())
			if err != nil {
				return err
			}
			defer s.Close()
			if oldFile == "" {
				oldFile = a.getenv("IDCARDS_PASSWORD_FILE")
			}
			old, err := a.secret("current password: ", oldFile)
			if err != nil {
				return err
			}
			pw, err := a.newSecret("new password: ", newFile)
			if err != nil {
				return err
			}
			ctx := idcards.WithActor(cmd.Context(), a.osActor())
			if _, err := s.ChangePassword(ctx, args[0], old, pw); err != nil {
				return err
			}
			a.printf("password of %s changed\n", strings.ToLower(args[0]))
			return nil
		},
	}
	cmd.Flags().StringVar(&oldFile, "password-file", "", "read the current password from this file (default $IDCARDS_PASSWORD_FILE)")
	cmd.Flags().StringVar(&newFile, "new-password-file", "", "read the new password from this file")
	return cmd
}

func (a *app) usersRoleCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "role NAME ROLE",
		Short:   "Change an account's role (the last enabled admin cannot be demoted)",
		Example: "  idcards users role john supervisor",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.SetRole(ctx, args[0], idcards.Role(strings.ToLower(args[1]))); err != nil {
				return err
			}
			a.printf("%s is now %s\n", strings.ToLower(args[0]), strings.ToLower(args[1]))
			return nil
		},
	}
}

func (a *app) usersReviewCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "review [--json]",
		Short: "Periodic access review: admins, unused, never used, disabled and locked accounts",
		Long: `Print what a periodic access review looks at (the DHIS2 security guidance's
list): how many admins there are (a warning above 4), enabled accounts not
used for 90 days, accounts never used, locked and disabled accounts. Disable
the accounts of people who left: ` + "`idcards users disable NAME`" + `.`,
		Example: `  idcards users review
  idcards users review --json | jq '.unused_90_days[].username'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			r, err := s.ReviewUsers(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				return a.writeJSON(r)
			}
			a.printf("admins (%d): %s\n", len(r.Admins), strings.Join(r.Admins, ", "))
			if r.TooManyAdmins {
				a.printf("WARNING: more than %d admins; keep the admin role to the few who manage accounts\n", r.MaxAdmins)
			}
			for _, sec := range []struct {
				title string
				us    []registry.User
			}{{"not used for 90 days", r.Unused}, {"never used", r.NeverUsed}, {"locked", r.Locked}, {"disabled", r.Disabled}} {
				a.printf("\n%s (%d)\n", sec.title, len(sec.us))
				if len(sec.us) > 0 {
					if err := a.userTable(sec.us, s.Now()); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) approvalsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "approvals",
		Short: "Flood cap: requests to go past flood_cap_per_hour, and approving them (supervisor)",
		Long: `With the setting flood_cap_per_hour > 0, one account may register patients and
issue IDs only that many times in any hour; beyond it the action is refused
and a request is recorded here. A supervisor (not the requester) approves it
for N more within the next hour. Every request and approval is audited.`,
	}
	var all, asJSON bool
	list := &cobra.Command{
		Use:     "list [--all] [--json]",
		Short:   "Show open requests (or all)",
		Example: "  idcards approvals list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			xs, err := s.Approvals(ctx, all)
			if err != nil {
				return err
			}
			if asJSON {
				if xs == nil {
					xs = []registry.Approval{}
				}
				return a.writeJSON(xs)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tUSER\tREQUESTED\tDETAIL\tAPPROVED BY\tUSED")
			for _, x := range xs {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d/%d\n", x.ID, printable(x.Actor), x.RequestedAt.Local().Format("2006-01-02 15:04"), printable(x.Detail), printable(x.ApprovedBy), x.Used, x.Granted)
			}
			return w.Flush()
		},
	}
	list.Flags().BoolVar(&all, "all", false, "include approved requests")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	var n int
	approve := &cobra.Command{
		Use:     "approve ID [--count N]",
		Short:   "Let the requester make N more registrations/IDs within the next hour",
		Example: "  idcards approvals approve 3 --count 20",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return idcards.Errorf(idcards.Invalid, "request id %q is not a number", args[0])
			}
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.Approve(ctx, id, n); err != nil {
				return err
			}
			a.printf("approved request %d for %d more within the hour\n", id, n)
			return nil
		},
	}
	approve.Flags().IntVarP(&n, "count", "n", 10, "how many more (1 to 10,000)")
	cmd.AddCommand(list, approve)
	return cmd
}

func (a *app) settingsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "settings",
		Short: "Show and change registry settings (admin)",
		Long: `Registry settings live in the registry file, so every desk sees the same.
Known settings:
` + knownSettingsHelp(),
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "Show every known setting with its value",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "KEY\tVALUE\tHELP")
			for _, k := range registry.KnownSettings() {
				v, err := s.Setting(ctx, k.Key, k.Default)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%s\t%s\t%s\n", k.Key, printable(v), k.Help)
			}
			return w.Flush()
		},
	}
	set := &cobra.Command{
		Use:     "set KEY VALUE",
		Short:   "Change a setting (audited with old and new value)",
		Example: "  idcards settings set cli_sign_in on\n  idcards settings set flood_cap_per_hour 60",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.SetKnownSetting(ctx, args[0], args[1]); err != nil {
				return err
			}
			a.printf("%s = %s\n", args[0], strings.TrimSpace(args[1]))
			return nil
		},
	}
	cmd.AddCommand(list, set)
	return cmd
}

func knownSettingsHelp() string {
	var b strings.Builder
	for _, k := range registry.KnownSettings() {
		fmt.Fprintf(&b, "  %-20s (default %q) %s\n", k.Key, k.Default, k.Help)
	}
	return b.String()
}

// createFirstAdmin is for `idcards init --admin USER [--admin-password-file F]`
// (issue 7): it creates the first personal admin right after the registry,
// the password from the file, a terminal prompt (twice) or standard input.
// initCmd (registry_cmds.go) is not this file's to change; wiring it there
// is two flags and one call.
func (a *app) createFirstAdmin(ctx context.Context, s *registry.Store, user, pwFile string) error {
	pw, err := a.newSecret("password for the first admin "+user+": ", pwFile)
	if err != nil {
		return err
	}
	return s.CreateFirstAdmin(idcards.WithActor(ctx, a.osActor()), user, "", pw)
}
