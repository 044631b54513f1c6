// Package tui is the clerk's terminal UI: a thin root model that routes
// between screens (one file each), a status line and a help bar, and the
// scanner detector that turns a fast burst of keys ending in Enter into a
// scan on every screen.
//
// All I/O runs in tea.Cmds that capture values (never the model), and
// every reply carries the request id it answers, so a stale reply (the
// clerk moved on) is dropped.
package tui

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

// Config is what the caller wires.
type Config struct {
	// Registry is the open registry; nil starts the first-run setup, which
	// calls Create.
	Registry Registry
	Create   func(ctx context.Context, f idcards.Format) (Registry, error)
	Schemes  []string // check-digit schemes offered by the setup screen
	Printer  Printer  // nil: printing is unavailable and says so
	// Actor acts when Auth is nil (the OS operator until accounts exist).
	Actor idcards.Actor
	Auth  Authenticator
	// SignIn makes the registry itself the Authenticator (it must satisfy
	// Accounts), including one created by the first-run setup: desk users
	// sign in, and with NoUsers the first person creates the admin account.
	SignIn  bool
	NoUsers bool
	Site    string
	Log     *slog.Logger
	// Now is the clock for scanner-burst timing; nil means time.Now.
	Now func() time.Time
	// BurstGap is the longest pause between a scanner's keys (default 30 ms).
	BurstGap time.Duration
	// IdleLock returns to the sign-in screen after this long without a key
	// (only with Auth; default 5 minutes).
	IdleLock  time.Duration
	IdleCheck time.Duration // how often idleness is checked (default 15 s)
	// SyncKick, if set, asks the background OpenMRS sync to run now (after
	// a registration or an issued or voided ID).
	SyncKick func()
	// StatusEvery is how often the status line re-reads the outbox and
	// sync state (default 5 s; negative: never, tests send statusTickMsg).
	StatusEvery time.Duration
}

// screen is one page of the UI.
type screen interface {
	update(e *env, msg tea.Msg) tea.Cmd
	view(e *env, w, h int) string
	keys(e *env) []key.Binding
	title() string
}

// scanTaker is a screen that wants a scan for itself (e.g. binding a
// pre-printed card) instead of the scan panel; it returns false to decline.
type scanTaker interface {
	takeScan(e *env, code string) (tea.Cmd, bool)
}

// focuser is a screen with a focused text field (nil when none).
type focuser interface{ focused() *field }

// inputScreen is a screen with a focused text field; a scanner burst typed
// into it is taken back out.
type inputScreen interface{ trimInput(n int) }

// env is what screens share. Commands never capture it: they copy the
// values they need (ctx, registry, arguments) first.
type env struct {
	ctx      context.Context
	reg      Registry
	printer  Printer
	actor    idcards.Actor
	log      *slog.Logger
	st       styles
	now      func() time.Time
	createFn func(ctx context.Context, f idcards.Format) (Registry, error)
	nextReq  int
}

func (e *env) req() int { e.nextReq++; return e.nextReq }

func (e *env) allowed(p idcards.Permission) bool { return idcards.Allowed(e.actor.Role, p) }

// Navigation messages.
type (
	pushMsg    struct{ s screen }
	popMsg     struct{}
	replaceMsg struct{ s screen }
	statusMsg  struct {
		text string
		err  bool
	}
	// scanMsg asks for a code to be verified and shown on the scan screen.
	scanMsg struct{ raw string }
)

func push(s screen) tea.Cmd    { return func() tea.Msg { return pushMsg{s} } }
func replace(s screen) tea.Cmd { return func() tea.Msg { return replaceMsg{s} } }
func pop() tea.Msg             { return popMsg{} }
func status(text string, isErr bool) tea.Cmd {
	return func() tea.Msg { return statusMsg{text, isErr} }
}

// starter is a screen that loads something when it is shown.
type starter interface{ start(e *env) tea.Cmd }

func start(e *env, s screen) tea.Cmd {
	if st, ok := s.(starter); ok {
		return st.start(e)
	}
	return nil
}

// friendly turns an error into words for the clerk; the full chain is logged.
func friendly(e *env, op string, err error) string {
	e.log.Error(op, "err", err)
	switch idcards.ErrorKind(err) {
	case idcards.Invalid, idcards.NotFound, idcards.Conflict, idcards.Forbidden:
		return err.Error()
	case idcards.Unavailable:
		// The registry database (PostgreSQL on another machine) is down
		// or out of reach: nothing was saved, the form is kept, and the
		// pool reconnects on the next try.
		return op + ": the registry database cannot be reached. Nothing was saved; your entries are kept — try again in a moment (it reconnects by itself)."
	}
	return op + " failed: internal error (details in the log)"
}

var globalKeys = struct {
	quit, help, back, scan key.Binding
}{
	quit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	help: key.NewBinding(key.WithKeys("f1", "?"), key.WithHelp("f1", "all keys")),
	back: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	scan: key.NewBinding(key.WithKeys("f2"), key.WithHelp("f2", "scan mode")),
}

// Model is the root: it owns the screen stack, the status line, the help
// bar and scanner detection.
type Model struct {
	cfg      Config
	e        *env
	stack    []screen
	w, h     int
	status   string
	statusE  bool
	fullHelp bool
	help     help.Model
	locked   []screen // the screens behind the lock, for lockedBy
	lockedBy string

	// scanner burst: keys that arrived within BurstGap of each other.
	burst  []rune
	lastAt time.Time
	base   context.Context // without an actor: what a lock returns to
	outbox *int64          // pending outbox rows, nil until known
	sync   *idcards.SyncStatus
}

type statusTickMsg struct{}

// syncStatuser is implemented by registries that know the OpenMRS sync
// state (*registry.Store does); sync may run in this process or another.
type syncStatuser interface {
	SyncStatus(ctx context.Context) (idcards.SyncStatus, error)
}

type idleTickMsg struct{}

// counter is implemented by registries that can report the pending outbox
// for the status line (*registry.Store does).
type counter interface {
	Counts(ctx context.Context) (registry.Counts, error)
}

type countsMsg struct {
	outbox int64
	ok     bool
	sync   *idcards.SyncStatus
}

func (m Model) refreshCounts() tea.Cmd {
	c, ok := m.e.reg.(counter)
	if !ok {
		return nil
	}
	ctx := m.e.ctx
	ss, _ := m.e.reg.(syncStatuser)
	return func() tea.Msg {
		n, err := c.Counts(ctx)
		if err != nil {
			return countsMsg{}
		}
		msg := countsMsg{outbox: n.PendingOutbox, ok: true}
		if ss != nil {
			if st, err := ss.SyncStatus(ctx); err == nil {
				msg.sync = &st
			}
		}
		return msg
	}
}

func (m Model) statusTick() tea.Cmd {
	if m.cfg.StatusEvery < 0 {
		return nil
	}
	return tea.Tick(m.cfg.StatusEvery, func(time.Time) tea.Msg { return statusTickMsg{} })
}

// idleTick schedules the next idle check; tests set IdleCheck < 0 and send
// idleTickMsg themselves.
func (m Model) idleTick() tea.Cmd {
	if m.cfg.IdleCheck < 0 {
		return nil
	}
	return tea.Tick(m.cfg.IdleCheck, func(time.Time) tea.Msg { return idleTickMsg{} })
}

// New builds the root model.
func New(ctx context.Context, cfg Config) Model {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BurstGap == 0 {
		cfg.BurstGap = 30 * time.Millisecond
	}
	e := &env{ctx: ctx, reg: cfg.Registry, printer: cfg.Printer, actor: cfg.Actor, log: cfg.Log, st: newStyles(), now: cfg.Now, createFn: cfg.Create}
	if cfg.IdleCheck == 0 {
		cfg.IdleCheck = 15 * time.Second
	}
	if cfg.IdleLock == 0 {
		cfg.IdleLock = 5 * time.Minute
	}
	if cfg.StatusEvery == 0 {
		cfg.StatusEvery = 5 * time.Second
	}
	if cfg.SignIn && cfg.Registry != nil {
		if a, ok := cfg.Registry.(Authenticator); ok {
			cfg.Auth = a
		}
	}
	m := Model{cfg: cfg, e: e, w: 80, h: 24, help: help.New(), base: ctx}
	if cfg.Auth == nil {
		e.ctx = idcards.WithActor(ctx, cfg.Actor)
	}
	switch {
	case cfg.Registry == nil:
		m.stack = []screen{newSetup(cfg.Schemes)}
	case cfg.Auth != nil && cfg.SignIn && cfg.NoUsers:
		m.stack = []screen{newFirstAdmin(cfg.Auth)}
	case cfg.Auth != nil:
		m.stack = []screen{newSignIn(cfg.Auth)}
	default:
		m.stack = []screen{newFind()}
	}
	return m
}

// Init starts nothing: no I/O before the first frame.
func (m Model) Init() tea.Cmd {
	var cmds []tea.Cmd
	if m.cfg.Auth != nil {
		cmds = append(cmds, m.idleTick())
	}
	if m.e.reg != nil {
		cmds = append(cmds, m.refreshCounts())
	}
	cmds = append(cmds, m.statusTick())
	return tea.Batch(cmds...)
}

func (m Model) top() screen { return m.stack[len(m.stack)-1] }

// Update routes messages: global keys and scanner bursts first, then the
// top screen.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		return m, nil
	case pushMsg:
		m.stack = append(m.stack, msg.s)
		return m, start(m.e, msg.s)
	case replaceMsg:
		m.stack[len(m.stack)-1] = msg.s
		return m, start(m.e, msg.s)
	case popMsg:
		if len(m.stack) > 1 {
			m.stack = m.stack[:len(m.stack)-1]
		}
		return m, nil
	case statusMsg:
		m.status, m.statusE = msg.text, msg.err
		return m, nil
	case countsMsg:
		if msg.ok {
			n := msg.outbox
			m.outbox = &n
			m.sync = msg.sync
		}
		return m, nil
	case statusTickMsg:
		if m.e.reg == nil {
			return m, m.statusTick()
		}
		return m, tea.Batch(m.refreshCounts(), m.statusTick())
	case registeredMsg, actionMsg:
		cmd := m.top().update(m.e, msg)
		if m.cfg.SyncKick != nil {
			m.cfg.SyncKick()
		}
		return m, tea.Batch(cmd, m.refreshCounts())
	case setupDoneMsg:
		if msg.err != nil {
			if s, ok := m.top().(*setupScreen); ok {
				s.failed(friendly(m.e, "create registry", msg.err))
			}
			return m, nil
		}
		m.e.reg = msg.reg
		if m.cfg.Site == "" {
			m.cfg.Site = msg.site
		}
		m.stack = []screen{newFind()}
		if a, ok := msg.reg.(Authenticator); ok && m.cfg.SignIn {
			// A new registry has no accounts: its first user creates the
			// admin account before anything else (there is no default one).
			m.cfg.Auth = a
			m.e.ctx = m.base
			m.stack = []screen{newFirstAdmin(a)}
			return m, tea.Batch(status("Registry created at "+msg.reg.Path(), false), m.idleTick())
		}
		if m.cfg.Auth != nil {
			m.stack = []screen{newSignIn(m.cfg.Auth)}
		}
		return m, status("Registry created at "+msg.reg.Path(), false)
	case signedInMsg:
		if _, ok := m.top().(*signInScreen); ok && msg.err == nil {
			m.e.actor = msg.actor
			m.e.ctx = idcards.WithActor(m.base, msg.actor)
			m.lastAt = m.cfg.Now()
			m.stack = []screen{newFind()}
			if msg.actor.Name == m.lockedBy && len(m.locked) > 0 {
				// The same person unlocks: their screens are as they left them.
				m.stack = m.locked
			}
			m.locked, m.lockedBy = nil, ""
			return m, status("Signed in as "+msg.actor.Name, false)
		}
	case tea.PasteMsg:
		if f, ok := m.top().(focuser); ok {
			if fd := f.focused(); fd != nil {
				fd.paste(msg.Content)
			}
		}
		return m, nil
	case scanMsg:
		if _, ok := idcards.ActorFrom(m.e.ctx); !ok || m.e.reg == nil {
			return m, nil // nobody signed in: a scan does not unlock anything
		}
		return m.startScan(msg.raw)
	case idleTickMsg:
		if _, signedIn := idcards.ActorFrom(m.e.ctx); signedIn && !m.lastAt.IsZero() && m.cfg.Now().Sub(m.lastAt) >= m.cfg.IdleLock {
			m.lock()
			return m, tea.Batch(m.idleTick(), status("Locked after inactivity: sign in again.", false))
		}
		return m, m.idleTick()
	case tea.KeyPressMsg:
		if key.Matches(msg, globalKeys.quit) {
			return m, tea.Quit
		}
		if m.cfg.Auth != nil && m.lastAt.IsZero() {
			m.lastAt = m.cfg.Now()
		}
		if m.e.reg != nil && m.e.ctx != nil {
			if _, ok := idcards.ActorFrom(m.e.ctx); ok {
				if code, n, ok := m.detectBurst(msg); ok {
					if in, ok := m.top().(inputScreen); ok {
						in.trimInput(n)
					}
					return m.startScan(code)
				}
				if key.Matches(msg, globalKeys.scan) {
					if _, ok := m.top().(*scanScreen); !ok {
						m.stack = append(m.stack, newScan())
					}
					return m, nil
				}
			}
		}
		if key.Matches(msg, globalKeys.help) && (msg.String() == "f1" || !m.typing()) {
			m.fullHelp = !m.fullHelp
			return m, nil
		}
		m.status = ""
	}
	cmd := m.top().update(m.e, msg)
	return m, cmd
}

// lock forgets the signed-in user and shows the sign-in screen.
func (m *Model) lock() {
	// Keep the screens for the same user; anyone else starts afresh, so a
	// half-typed registration is never shown to the next person.
	m.locked, m.lockedBy = m.stack, m.e.actor.Name
	m.e.actor = idcards.Actor{}
	m.e.ctx = m.base
	m.stack = []screen{newSignIn(m.cfg.Auth)}
	m.burst = nil
}

// typing reports whether the top screen has a text field focused, in which
// case "?" is a character, not the help key.
func (m Model) typing() bool {
	t, ok := m.top().(interface{ typing() bool })
	return ok && t.typing()
}

// detectBurst feeds a key to the scanner detector. It returns the code
// when Enter ends a burst: at least 4 characters, each within BurstGap of
// the previous one, looking like a code (see looksLikeCode).
func (m *Model) detectBurst(k tea.KeyPressMsg) (code string, n int, ok bool) {
	now := m.cfg.Now()
	fast := !m.lastAt.IsZero() && now.Sub(m.lastAt) <= m.cfg.BurstGap
	m.lastAt = now
	if k.Code == tea.KeyEnter || k.Code == tea.KeyKpEnter {
		b := m.burst
		m.burst = nil
		if fast && len(b) >= 4 && looksLikeCode(string(b)) {
			return string(b), len(b), true
		}
		return "", 0, false
	}
	r := []rune(k.Text)
	if len(r) != 1 || k.Mod&^tea.ModShift != 0 {
		m.burst = nil
		return "", 0, false
	}
	if !fast {
		m.burst = m.burst[:0]
	}
	m.burst = append(m.burst, r[0])
	return "", 0, false
}

// looksLikeCode: printable ASCII without spaces (MRNs, AIM prefixes and
// 2D payloads with separators) and at least 3 digits, so that a name or
// word is never mistaken for a scan.
func looksLikeCode(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r > ' ' && r < 127:
		default:
			return false
		}
	}
	return digits >= 3
}

func (m Model) startScan(raw string) (tea.Model, tea.Cmd) {
	if t, ok := m.top().(scanTaker); ok {
		if cmd, ok := t.takeScan(m.e, raw); ok {
			return m, cmd
		}
	}
	s, ok := m.top().(*scanScreen)
	if !ok {
		s = newScan()
		m.stack = append(m.stack, s)
	}
	return m, s.verify(m.e, raw)
}

// View renders the screen with a title bar, status line and help bar.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "idcards"
	// While a print or other slow action runs, terminals that support it
	// show an indeterminate progress bar too (the screen shows "◐ …").
	if b, ok := m.top().(interface{ working() bool }); ok && b.working() {
		v.ProgressBar = tea.NewProgressBar(tea.ProgressBarIndeterminate, 0)
	}
	return v
}

func (m Model) render() string {
	st := m.e.st
	s := m.top()
	title := st.bar.Width(m.w).Render(truncate(" idcards · "+s.title(), m.w))
	var bindings []key.Binding
	bindings = append(bindings, s.keys(m.e)...)
	if len(m.stack) > 1 {
		bindings = append(bindings, globalKeys.back)
	}
	if m.e.reg != nil {
		bindings = append(bindings, globalKeys.scan)
	}
	bindings = append(bindings, globalKeys.help, globalKeys.quit)
	var helpView string
	if m.fullHelp {
		helpView = m.help.FullHelpView(chunk(bindings, 4))
	} else {
		helpView = m.help.ShortHelpView(bindings)
	}
	statusLine := m.statusLine()
	bodyH := m.h - 2 - lipgloss.Height(helpView)
	if bodyH < 1 {
		bodyH = 1
	}
	body := s.view(m.e, m.w, bodyH)
	lines := strings.Split(body, "\n")
	if len(lines) > bodyH {
		lines = lines[:bodyH]
	}
	for len(lines) < bodyH {
		lines = append(lines, "")
	}
	all := strings.Split(strings.Join([]string{title, strings.Join(lines, "\n"), statusLine, helpView}, "\n"), "\n")
	for i, l := range all {
		all[i] = ansi.Truncate(l, m.w, "…")
	}
	return strings.Join(all, "\n")
}

func (m Model) statusLine() string {
	st := m.e.st
	if m.status != "" {
		if m.statusE {
			return truncate(st.err.Render("! "+m.status), m.w)
		}
		return truncate(st.ok.Render(m.status), m.w)
	}
	parts := []string{}
	if m.e.actor.Name != "" {
		parts = append(parts, "user "+m.e.actor.Name)
	}
	if m.cfg.Site != "" {
		parts = append(parts, "site "+m.cfg.Site)
	}
	parts = append(parts, syncLabel(m.sync, m.e.now()))
	if m.outbox != nil && (m.sync == nil || !m.sync.Configured) {
		parts = append(parts, fmt.Sprintf("outbox %d", *m.outbox))
	}
	if m.e.reg != nil {
		parts = append(parts, m.e.reg.Path())
	}
	return st.faint.Render(truncate(strings.Join(parts, " · "), m.w))
}

func chunk(b []key.Binding, n int) [][]key.Binding {
	var out [][]key.Binding
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

func truncate(s string, w int) string {
	if w <= 1 {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

func age(birth string, now time.Time) string {
	t, err := time.Parse("2006-01-02", birth)
	if err != nil {
		return "age ?"
	}
	y := now.Year() - t.Year()
	if now.YearDay() < t.YearDay() {
		y--
	}
	return fmt.Sprintf("%d y", y)
}
