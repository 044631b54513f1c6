// Package tui is the clerk's terminal UI: a thin root model that routes
// between screens (one file each), a status line and a key bar, and the
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
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
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
	// (only with Auth; default 5 minutes). The registry's idle_lock_minutes
	// setting, re-read with the status line, overrides it while running.
	IdleLock  time.Duration
	IdleCheck time.Duration // how often idleness is checked (default 15 s)
	// SyncKick, if set, asks the background OpenMRS sync to run now (after
	// a registration or an issued or voided ID).
	SyncKick func()
	// Lookalikes, if set, lets a supervisor settle at the desk a
	// registration sync held because OpenMRS may already have the person
	// (the patient screen's o key; a clerk's desk asks for the
	// supervisor's password).
	Lookalikes LookalikeJudge
	// StatusEvery is how often the status line re-reads the outbox, sync
	// state and idle_lock_minutes (default 5 s; negative: never, tests send
	// statusTickMsg).
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
// pre-printed card) instead of the scan panel; it gets the verification
// and returns false to decline.
type scanTaker interface {
	takeScan(e *env, raw string, r scanResult) (tea.Cmd, bool)
}

// focuser is a screen with a focused text field (nil when none).
type focuser interface{ focused() *field }

// snapshotter is a screen whose contents a scan must not change: the keys
// of a scanner burst reach the screen before the burst is recognised (at
// its Enter), so the root takes a snapshot when a run of keys starts and
// restores it when the run turns out to be a scan.
type snapshotter interface{ snapshot() func() }

// dirtier is a screen holding work that quitting or signing out loses.
type dirtier interface{ dirty() bool }

// scanGate is a screen that decides whether a fast run of keys may be a
// scan: in a password field it is a password manager typing, unless it is
// a card's 2D content.
type scanGate interface{ mayScan(code string) bool }

// oneField is a screen with a single field, where Enter after a raw paste
// does what Enter does (search, check a code): there is no next field for
// a paste to scatter into.
type oneField interface{ oneField() }

// resumer is a screen that refreshes itself when it is on top again (the
// screen above it was closed: a registration, an edit, a bind).
type resumer interface{ resume(e *env) tea.Cmd }

// refresher is a screen showing a list that others change (the CLI's
// duplicate scan): it is read again with the status line while on top.
type refresher interface{ refresh(e *env) tea.Cmd }

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
	judge    LookalikeJudge
	nextReq  int
	codec    *barcode.Codec // the registry's current series, once read (ownID)
}

// formatter is a registry that tells its current series' format
// (*registry.Store): the desk recognises its own IDs before anyone signs in.
type formatter interface {
	Format(ctx context.Context) (idcards.Format, error)
}

// ownID reports whether code is an ID of this registry's current series
// with a right check character: what a Code 128 card scans as. The format
// is read once; a registry that cannot tell it says no.
func (e *env) ownID(code string) bool {
	if e.codec == nil {
		f, ok := e.reg.(formatter)
		if !ok {
			return false
		}
		format, err := f.Format(e.ctx)
		if err != nil {
			return false
		}
		c, err := barcode.NewCodec(format)
		if err != nil {
			return false
		}
		e.codec = &c
	}
	_, _, err := e.codec.Parse(barcode.Normalize(code))
	return err == nil
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

// askPopMsg: a screen with a half-filled form was asked to go back; the
// root asks before it goes (askBack).
type askPopMsg struct{}

func askPop() tea.Msg { return askPopMsg{} }
func status(text string, isErr bool) tea.Cmd {
	return func() tea.Msg { return statusMsg{text, isErr} }
}
func scan(raw string) tea.Cmd { return func() tea.Msg { return scanMsg{raw} } }

// maxHeld is how many scans made before sign-in are kept.
const maxHeld = 10

// holdScan adds a scan made before sign-in to held: a card scanned again
// moves to the end, and only the last maxHeld are kept.
func holdScan(held []string, code string) []string {
	held = slices.DeleteFunc(held, func(h string) bool { return h == code })
	held = append(held, code)
	if len(held) > maxHeld {
		held = held[len(held)-maxHeld:]
	}
	return held
}

// heldNote names, after sign-in, the cards scanned before it other than
// the one shown (the last): scan them again to see them.
func heldNote(held []string) string {
	if len(held) < 2 {
		return ""
	}
	others := make([]string, 0, len(held)-1)
	for _, h := range held[:len(held)-1] {
		code, _ := barcode.SplitScan(h)
		if n := barcode.Normalize(code); n != "" {
			code = n
		}
		others = append(others, printable(code))
	}
	return fmt.Sprintf(" %d cards were scanned before sign-in; shown: the last. Scan again to see: %s.", len(held), strings.Join(others, ", "))
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
	case idcards.Invalid, idcards.NotFound, idcards.Conflict, idcards.Forbidden, idcards.Unavailable:
		if registry.CommitOutcomeUnknown(err) {
			// The connection went at the commit: it may be saved.
			return op + ": the registry database went away while this was being saved, so it may have been saved or not. Your entries are kept. When it is back, look before saving again: a patient saved twice is caught by the duplicate warning, which shows the first record."
		}
		if registry.DatabaseUnreachable(err) {
			// The registry database (PostgreSQL on another machine) is
			// down or out of reach: nothing was saved, the form is kept,
			// and the pool reconnects on the next try.
			return op + ": the registry database cannot be reached. Nothing was saved; your entries are kept — try again in a moment (it reconnects by itself)."
		}
		return strings.TrimPrefix(err.Error(), "registry: ")
	}
	return op + " failed: internal error (details in the log)"
}

var globalKeys = struct {
	quit, help, back, scan, lock, signOut key.Binding
}{
	quit:    key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	help:    key.NewBinding(key.WithKeys("f1", "?"), key.WithHelp("f1", "all keys")),
	back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	scan:    key.NewBinding(key.WithKeys("f2"), key.WithHelp("f2", "scan mode")),
	lock:    key.NewBinding(key.WithKeys("ctrl+l"), key.WithHelp("ctrl+l", "lock now")),
	signOut: key.NewBinding(key.WithKeys("ctrl+q"), key.WithHelp("ctrl+q", "sign out")),
}

// ask is a question the root puts before quitting or signing out would
// lose a half-filled form.
type ask int

const (
	askNone ask = iota
	askQuit
	askSignOut
	askBack // Esc on a half-filled form
)

// Model is the root: it owns the screen stack, the status line, the key
// bar and scanner detection.
type Model struct {
	cfg      Config
	e        *env
	stack    []screen
	w, h     int
	status   string
	statusE  bool
	fullHelp bool
	ask      ask
	locked   []screen // the screens behind the lock, for lockedBy
	lockedBy string

	// scanner burst: keys that arrived within BurstGap of each other.
	burst   []rune
	lastAt  time.Time // the last key, for scanner bursts
	idleAt  time.Time // the last key or sign-in, for the idle lock
	pasting bool      // a fast Enter that was no scan: a raw paste is running
	// lastEnter: the previous key was Enter (a second fast one is a CR LF
	// or a paste's empty line, never a key the clerk pressed)
	lastEnter bool
	restore   func() // undoes the current run of keys on snapFor
	snapFor   screen
	// runs are the earlier fast runs of keys on snapFor since the last
	// non-character key, oldest first: a pause in processing (a loaded
	// machine) can split one scanner burst into several runs, and a scan
	// must be taken out of the form whole (see detectBurst).
	runs []keyRun
	// longer are the joins of earlier runs with the last one that also
	// look like a plain code, longest first: the registry decides which
	// one was the card (see scanFrom).
	longer []scanAlt
	// held are the scans (or F2) made before anyone signed in, oldest
	// first: the last is shown once someone does, never before, and the
	// status line names the others so none goes unseen.
	held    []string
	heldF2  bool
	scanReq int             // the scan the root waits for (scanFrom)
	base    context.Context // without an actor: what a lock returns to
	outbox  *int64          // pending outbox rows, nil until known
	sync    *idcards.SyncStatus
	idleSet bool // IdleLock came from the registry's setting
	// replies are the answers of work a screen started (a print, a
	// registration, a check) that arrived while another screen lay over
	// it (a scan panel, F2): each screen takes only its own request's
	// answer, so they are given again to the screen a pop uncovers —
	// otherwise the screen below would wait for them for good.
	replies []tea.Msg
	// waiting is a key held back from a letterActor screen until it is
	// clear no scanner burst follows (waitN numbers them).
	waiting []tea.KeyPressMsg
	waitFor screen
	waitN   int
	// askHeld is the key that answered a y/n question with "stay", held
	// 2×BurstGap in case a scanner's burst follows (askAt, askN).
	askHeld *tea.KeyPressMsg
	askAt   time.Time
	askN    int
}

// askWaitedMsg: the key held after a question (Model.askHeld) began no scan.
type askWaitedMsg struct{ n int }

// maxReplies bounds the answers kept for the screens below the top.
const maxReplies = 16

type statusTickMsg struct{}

// SyncRoundMsg says the background OpenMRS sync finished a round (send it
// with tea.Program.Send): the status line and the screen on top are read
// again now rather than at the next tick, so a registration that sync
// held because OpenMRS may already have the person shows at once.
type SyncRoundMsg struct{}

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

// fileChecker is a registry that can tell its file is no longer where it
// was opened (*registry.Store on SQLite): the desk says so at once, not at
// the next save.
type fileChecker interface{ CheckFile() error }

type countsMsg struct {
	fileErr error
	outbox  int64
	ok      bool
	sync    *idcards.SyncStatus
	idle    time.Duration // idle_lock_minutes as set now; 0: not set
}

func (m Model) refreshCounts() tea.Cmd {
	if m.e.reg == nil {
		return nil
	}
	c, _ := m.e.reg.(counter)
	ss, _ := m.e.reg.(syncStatuser)
	set, _ := m.e.reg.(settinger)
	fc, _ := m.e.reg.(fileChecker)
	if c == nil && set == nil && fc == nil {
		return nil
	}
	ctx := m.e.ctx
	return func() tea.Msg {
		var msg countsMsg
		if fc != nil {
			msg.fileErr = fc.CheckFile()
		}
		if c != nil {
			if n, err := c.Counts(ctx); err == nil {
				msg.outbox, msg.ok = n.PendingOutbox, true
			}
		}
		if ss != nil {
			if st, err := ss.SyncStatus(ctx); err == nil {
				msg.sync = &st
			}
		}
		if set != nil {
			if v, err := set.Setting(ctx, "idle_lock_minutes", ""); err == nil {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
					msg.idle = time.Duration(n) * time.Minute
				}
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
	e := &env{ctx: ctx, reg: cfg.Registry, printer: cfg.Printer, actor: cfg.Actor, log: cfg.Log, st: newStyles(), now: cfg.Now, createFn: cfg.Create, judge: cfg.Lookalikes}
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
	m := Model{cfg: cfg, e: e, w: 80, h: 24, base: ctx}
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

func (m Model) signedIn() bool {
	_, ok := idcards.ActorFrom(m.e.ctx)
	return ok && m.e.reg != nil
}

// Update routes messages: global keys and scanner bursts first, then the
// top screen.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		return m, nil
	case pushMsg:
		m.stack = append(m.stack, msg.s)
		m.fullHelp = false
		return m, start(m.e, msg.s)
	case replaceMsg:
		m.stack[len(m.stack)-1] = msg.s
		m.fullHelp = false
		return m, start(m.e, msg.s)
	case askPopMsg:
		m.ask = askBack
		return m, nil
	case popMsg:
		m.fullHelp = false
		if len(m.stack) > 1 {
			m.stack = m.stack[:len(m.stack)-1]
			var cmds []tea.Cmd
			if r, ok := m.top().(resumer); ok {
				cmds = append(cmds, r.resume(m.e))
			}
			for _, r := range m.replies {
				cmds = append(cmds, func() tea.Msg { return r })
			}
			m.replies = nil
			return m, tea.Batch(cmds...)
		}
		return m, nil
	case statusMsg:
		m.status, m.statusE = msg.text, msg.err
		return m, nil
	case countsMsg:
		if msg.fileErr != nil {
			if text := msg.fileErr.Error(); m.status != text {
				m.e.log.Error("registry file", "err", msg.fileErr)
				m.status, m.statusE = text, true
			}
		}
		if msg.ok {
			n := msg.outbox
			m.outbox = &n
		}
		if msg.sync != nil {
			m.sync = msg.sync
		}
		if msg.idle > 0 {
			m.cfg.IdleLock, m.idleSet = msg.idle, true
		}
		return m, nil
	case statusTickMsg, SyncRoundMsg:
		var tick tea.Cmd // the next tick; a sync round's read is extra
		if _, ok := msg.(statusTickMsg); ok {
			tick = m.statusTick()
		}
		if m.e.reg == nil {
			return m, tick
		}
		cmds := []tea.Cmd{m.refreshCounts(), tick}
		if r, ok := m.top().(refresher); ok && m.signedIn() {
			cmds = append(cmds, r.refresh(m.e))
		}
		return m, tea.Batch(cmds...)
	case candidatesMsg, sameMsg, approvedMsg, detailMsg, searchedMsg, reviewLoadedMsg, reviewJudgedMsg:
		m.keepReply(msg)
		return m, m.top().update(m.e, msg)
	case registeredMsg, actionMsg, editedMsg:
		m.keepReply(msg)
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
			// A new start: the next key begins a new run (the sign-in's own
			// fast keys, from a password manager, say, are no paste).
			m.idleAt, m.lastAt = m.cfg.Now(), time.Time{}
			m.burst, m.pasting, m.lastEnter, m.restore, m.snapFor, m.runs = nil, false, false, nil, nil, nil
			m.stack = []screen{newFind()}
			if msg.actor.Name == m.lockedBy && len(m.locked) > 0 {
				// The same person unlocks: their screens are as they left them.
				m.stack = m.locked
			}
			m.locked, m.lockedBy = nil, ""
			cmds := []tea.Cmd{status("Signed in as "+who(msg.actor)+"."+heldNote(m.held), false)}
			if n := len(m.held); n > 0 {
				cmds = append(cmds, scan(m.held[n-1]))
			} else if m.heldF2 {
				m.stack = append(m.stack, newScan())
			}
			m.held, m.heldF2 = nil, false
			return m, tea.Batch(cmds...)
		}
	case tea.PasteMsg:
		// A bracketed paste is typing, never a scan: it goes into the
		// focused field as one run, its line breaks and tabs as spaces.
		if f, ok := m.top().(focuser); ok {
			if fd := f.focused(); fd != nil {
				fd.paste(msg.Content)
			}
		}
		return m, nil
	case rootScanMsg:
		return m.routeScan(msg)
	case scanMsg:
		if !m.signedIn() {
			return m, nil // nobody signed in: a scan does not unlock anything
		}
		return m.startScan(msg.raw)
	case askWaitedMsg:
		if m.askHeld != nil && msg.n == m.askN {
			m.askHeld = nil
			return m, status("Nothing lost: carry on.", false)
		}
		return m, nil
	case waitedKeyMsg:
		if len(m.waiting) == 0 || msg.n != m.waitN {
			return m, nil // part of a scan after all, or a later key's timer runs
		}
		return m, m.flushWaiting()
	case idleTickMsg:
		if m.signedIn() && m.cfg.Auth != nil && !m.idleAt.IsZero() && m.cfg.Now().Sub(m.idleAt) >= m.cfg.IdleLock {
			m.lock()
			return m, tea.Batch(m.idleTick(), status("Locked after inactivity: sign in again.", false))
		}
		return m, m.idleTick()
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	cmd := m.top().update(m.e, msg)
	return m, cmd
}

func (m Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if m.askHeld != nil {
		// The key that answered "stay" was followed this fast: it began
		// a scan. Both go the normal way, so the scan is taken whole.
		held, at := *m.askHeld, m.askAt
		m.askHeld = nil
		if m.cfg.Now().Sub(at) <= m.cfg.BurstGap {
			mm, c1 := m.key(held)
			mm, c2 := mm.(Model).key(msg)
			return mm, tea.Batch(c1, c2)
		}
	}
	if m.ask != askNone {
		a := m.ask
		m.ask = askNone
		if actionChar(msg) && msg.String() != "y" {
			// Any other key keeps the form — unless it is a scanner's
			// first character (a card scanned at the question): held
			// until it is clear no burst follows.
			m.askN++
			k, n := msg, m.askN
			m.askHeld, m.askAt = &k, m.cfg.Now()
			return m, tea.Tick(2*m.cfg.BurstGap, func(time.Time) tea.Msg { return askWaitedMsg{n} })
		}
		switch {
		case msg.String() == "y" || (a == askQuit && key.Matches(msg, globalKeys.quit)):
			if a == askQuit {
				return m, tea.Quit
			}
			if a == askBack {
				return m, pop
			}
			m.signOut()
			return m, status("Signed out.", false)
		}
		return m, status("Nothing lost: carry on.", false)
	}
	if key.Matches(msg, globalKeys.quit) {
		if m.dirty() {
			m.ask = askQuit
			return m, nil
		}
		return m, tea.Quit
	}
	if m.fullHelp && (msg.String() == "esc" || msg.String() == "f1") {
		m.fullHelp = false
		return m, nil
	}
	wasAt := m.lastAt
	code, newline, isScan := m.detectBurst(msg)
	fast := !wasAt.IsZero() && m.lastAt.Sub(wasAt) <= m.cfg.BurstGap
	m.idleAt = m.lastAt
	switch {
	case len(m.waiting) > 0 && isScan:
		m.waiting = nil // the scan's own keys: none of them acts
	case len(m.waiting) > 0 && fast && !actionChar(msg):
		// A burst ended (by Enter) but was no code: a garbled scan, whose
		// letters must not act either.
		m.waiting = nil
		if msg.Code == tea.KeyEnter || msg.Code == tea.KeyKpEnter {
			return m, status("That fast run of keys was no card: nothing was done.", false)
		}
	case len(m.waiting) > 0 && !fast:
		// The held keys were followed slowly: they were the clerk's, and
		// act first, in order (one may open a prompt this key types into).
		c1 := m.flushWaiting()
		mm, c2 := m.keyAfterBurst(msg, code, newline, isScan, fast)
		return mm, tea.Batch(c1, c2)
	}
	return m.keyAfterBurst(msg, code, newline, isScan, fast)
}

// flushWaiting gives the held keys to the screen they were typed on.
func (m *Model) flushWaiting() tea.Cmd {
	keys := m.waiting
	m.waiting = nil
	if m.waitFor != m.top() {
		return nil
	}
	m.status = ""
	var cmds []tea.Cmd
	for _, k := range keys {
		cmds = append(cmds, m.top().update(m.e, k))
	}
	return tea.Batch(cmds...)
}

// keyAfterBurst is key's work once the scanner detector has seen msg.
func (m Model) keyAfterBurst(msg tea.KeyPressMsg, code string, newline, isScan, fast bool) (tea.Model, tea.Cmd) {
	if g, ok := m.top().(scanGate); ok && isScan && !g.mayScan(code) {
		// A password field: a password manager types fast too, and its
		// Enter is Enter. On the sign-in screen's user field, a run that
		// is one of this registry's IDs with a right check character is a
		// card all the same (no user name is one): it was typed into User.
		if si, ok := m.top().(*signInScreen); !ok || si.focused() != &si.user || m.e.reg == nil || !m.e.ownID(code) {
			isScan = false
		}
	}
	if _, ok := m.top().(*signInScreen); ok {
		newline = false // a password manager's Enter signs in
	}
	if _, ok := m.top().(oneField); ok {
		newline = false // one field: Enter after a paste searches or checks
	}
	switch {
	case isScan:
		// Take the run back out of the screen, keeping a way to put it
		// back if the registry says it was no ID at all (a raw paste).
		var redo func()
		var alts []scanAlt
		if m.restore != nil && m.snapFor == m.top() {
			redo = m.top().(snapshotter).snapshot()
			if _, ok := m.top().(*scanScreen); !ok && len(m.longer) > 0 && m.signedIn() {
				// A split burst: take out the longest reading; the one
				// the registry knows keeps what was typed before it.
				m.longer[0].from()
				alts = append(m.longer, scanAlt{code, m.restore})
				alts[0].from = nil
			} else {
				m.restore()
			}
		}
		m.restore, m.snapFor, m.longer = nil, nil, nil
		if m.e.reg == nil {
			return m, status("A card was scanned: create the registry first.", false)
		}
		if !m.signedIn() {
			m.held = holdScan(m.held, code)
			if len(m.held) > 1 {
				return m, status(fmt.Sprintf("%d cards scanned: they are shown once you sign in.", len(m.held)), false)
			}
			return m, status("Card scanned: it is shown once you sign in.", false)
		}
		m.status = ""
		if len(alts) > 0 {
			return m.scanFromAlts(alts, redo)
		}
		return m.scanFrom(code, redo)
	case newline:
		// A raw paste (a terminal without bracketed paste): its line
		// breaks stay in the field as spaces instead of moving on or
		// submitting.
		if f, ok := m.top().(focuser); ok {
			if fd := f.focused(); fd != nil {
				fd.space()
			}
		}
		return m, nil
	}
	if key.Matches(msg, globalKeys.scan) && m.e.reg != nil {
		if !m.signedIn() {
			m.heldF2 = true
			return m, status("Sign in first: scan mode opens as soon as you do.", false)
		}
		if _, ok := m.top().(*scanScreen); !ok {
			m.stack = append(m.stack, newScan())
		}
		m.fullHelp = false
		return m, nil
	}
	if m.cfg.Auth != nil && m.signedIn() {
		switch {
		case key.Matches(msg, globalKeys.lock):
			m.lock()
			return m, status("Locked: sign in again to carry on where you left off.", false)
		case key.Matches(msg, globalKeys.signOut):
			if m.dirty() {
				m.ask = askSignOut
				return m, nil
			}
			m.signOut()
			return m, status("Signed out.", false)
		}
	}
	if key.Matches(msg, globalKeys.help) && (msg.String() == "f1" || !m.typing()) {
		m.fullHelp = !m.fullHelp
		return m, nil
	}
	if la, ok := m.top().(letterActor); ok && la.actsOnLetters() && actionChar(msg) {
		// A screen whose letters are actions (p prints): a scanner's
		// burst must never reach it as keys — a Caps-Locked scanner
		// sends "kla000049p". Such keys wait until 2×BurstGap passes
		// with no other key, or a slow key or one no code holds comes:
		// then they act, in order; an Enter that makes them a scan
		// drops them (the scan is shown instead).
		if len(m.waiting) == 0 {
			m.waitFor = m.top()
		}
		m.waiting = append(m.waiting, msg)
		m.waitN++
		n := m.waitN
		return m, tea.Tick(2*m.cfg.BurstGap, func(time.Time) tea.Msg { return waitedKeyMsg{n} })
	}
	m.status = ""
	return m, m.top().update(m.e, msg)
}

// letterActor is a screen whose plain letters are actions, not text.
type letterActor interface{ actsOnLetters() bool }

// waitedKeyMsg: the key held back (Model.waiting) was no scanner's.
type waitedKeyMsg struct{ n int }

// actionChar reports whether k is a plain character a scanner could send.
func actionChar(k tea.KeyPressMsg) bool {
	r := []rune(k.Text)
	return len(r) == 1 && r[0] > ' ' && r[0] != '?' && (k.Mod == 0 || k.Mod == tea.ModShift)
}

// dirty reports whether any screen (including those behind a lock) holds
// work that quitting would lose.
func (m Model) dirty() bool {
	for _, l := range [][]screen{m.stack, m.locked} {
		for _, s := range l {
			if d, ok := s.(dirtier); ok && d.dirty() {
				return true
			}
		}
	}
	return false
}

// lock forgets the signed-in user and shows the sign-in screen.
func (m *Model) lock() {
	// Keep the screens for the same user; anyone else starts afresh, so a
	// half-typed registration is never shown to the next person.
	m.locked, m.lockedBy = m.stack, m.e.actor.Name
	m.e.actor = idcards.Actor{}
	m.e.ctx = m.base
	s := newSignIn(m.cfg.Auth)
	s.lockedBy = m.lockedBy
	m.stack = []screen{s}
	m.burst, m.restore, m.snapFor, m.runs, m.fullHelp, m.pasting = nil, nil, nil, nil, false, false
}

// signOut forgets the user and their screens.
func (m *Model) signOut() {
	m.lock()
	m.locked, m.lockedBy = nil, ""
	m.stack = []screen{newSignIn(m.cfg.Auth)}
}

// typing reports whether the top screen has a text field focused, in which
// case "?" is a character, not the help key.
func (m Model) typing() bool {
	t, ok := m.top().(interface{ typing() bool })
	return ok && t.typing()
}

// detectBurst feeds a key to the scanner detector. When Enter ends a run
// of keys each within BurstGap of the previous one it reports either a
// scan (the run looks like a code, see looksLikeScan) or, for a run that
// is not one, a raw paste's line break. A new run snapshots the top screen
// so that a scan can be taken back out of it whole.
func (m *Model) detectBurst(k tea.KeyPressMsg) (code string, newline, isScan bool) {
	now := m.cfg.Now()
	fast := !m.lastAt.IsZero() && now.Sub(m.lastAt) <= m.cfg.BurstGap
	m.lastAt, m.longer = now, nil
	if m.snapFor != nil && (len(m.stack) == 0 || m.snapFor != m.top()) {
		// The screen changed under the run (a lock, a screen opened by a
		// key): its snapshots are of a screen no longer shown.
		m.burst, m.restore, m.snapFor, m.runs, m.longer = nil, nil, nil, nil, nil
	}
	if k.Code == tea.KeyEnter || k.Code == tea.KeyKpEnter {
		b := m.burst
		runs := m.runs
		m.burst, m.runs = nil, nil
		afterEnter := m.lastEnter
		m.lastEnter = true
		if !fast {
			m.pasting = false
			// A processing pause can also fall just before the scanner's
			// Enter: a fast run that is a card's 2D content is still a scan.
			if len(b) >= 2 && !afterEnter {
				if c, undo, ok := scanOfRuns(runs, keyRun{b, m.restore}, true); ok {
					m.restore = undo
					return c, false, true
				}
			}
			return "", false, false
		}
		if afterEnter {
			return "", true, false // CR LF, or an empty line of a paste
		}
		if !m.pasting && len(b) >= 1 {
			if c, undo, ok := scanOfRuns(runs, keyRun{b, m.restore}, false); ok {
				m.restore = undo
				m.longer = longerReadings(runs, b, c)
				return c, false, true
			}
		}
		if len(b) >= 1 {
			m.pasting = true
			return "", true, false
		}
		return "", false, false
	}
	m.lastEnter = false
	var r rune
	switch {
	case k.Code == tea.KeyTab && k.Mod == 0:
		r = '\t' // some scanners send a 2D symbol's space as a Tab
	case k.Code == tea.KeySpace || k.Text == " ":
		r = ' '
	default:
		t := []rune(k.Text)
		if len(t) != 1 || k.Mod&^tea.ModShift != 0 {
			// A key no scanner or raw paste sends ends both.
			m.burst, m.restore, m.snapFor, m.runs, m.longer, m.pasting = nil, nil, nil, nil, nil, false
			return "", false, false
		}
		r = t[0]
	}
	// A new run starts at a slow key, and also at the first character
	// after a reset (ctrl+l, Enter, another screen) even when it follows
	// that key quickly: under load the keys of a burst are often handled
	// within BurstGap of the key before it, and a run without a snapshot
	// could not be taken back out of the form.
	if !fast || len(m.burst) == 0 {
		if !fast {
			m.pasting = false
		}
		if len(m.burst) > 1 {
			// Keep the earlier fast run: this slow key may be a pause in
			// the middle of one burst.
			m.runs = append(m.runs, keyRun{m.burst, m.restore})
			if len(m.runs) > maxRuns {
				m.runs = m.runs[1:]
			}
		} else if !fast {
			m.runs = nil // a key typed by hand ends the chain
		}
		m.burst, m.restore, m.snapFor = nil, nil, nil
		if len(m.stack) > 0 {
			if sn, ok := m.top().(snapshotter); ok {
				m.restore, m.snapFor = sn.snapshot(), m.top()
			}
		}
	}
	m.burst = append(m.burst, r)
	return "", false, false
}

// keyRun is a run of keys and the undo of the screen from before it.
type keyRun struct {
	text    []rune
	restore func()
}

// maxRuns bounds how many pieces of one burst are joined again.
const maxRuns = 8

// scanOfRuns decides whether the current run cur, perhaps with the
// earlier fast runs before it (pieces of the same burst split by a pause),
// is a scan. The longest join that is a card's 2D content wins (its shape,
// MRN space serial, is strict); otherwise the current run alone when it
// looks like a code, or else the longest join that does. It returns the code and the undo of the screen
// from before its first piece. only2D accepts 2D content only (an Enter
// that came late, which a clerk may have pressed).
func scanOfRuns(runs []keyRun, cur keyRun, only2D bool) (string, func(), bool) {
	all := append(append([]keyRun(nil), runs...), cur)
	join := func(i int) string {
		var b strings.Builder
		for _, r := range all[i:] {
			b.WriteString(string(r.text))
		}
		return b.String()
	}
	for i := range all {
		if c := join(i); len(c) >= 4 && is2D(c) {
			return c, all[i].restore, true
		}
	}
	if only2D {
		return "", nil, false
	}
	// A plain code: the current run alone when it is one, so that a
	// clerk's quick pair of keys just before a scan stays typed.
	if c := string(cur.text); len(c) >= 4 && looksLikeScan(c) {
		return c, cur.restore, true
	}
	for i := range all {
		if c := join(i); len(c) >= 4 && looksLikeScan(c) {
			return c, all[i].restore, true
		}
	}
	return "", nil, false
}

// longerReadings lists the joins of the earlier runs with the last run b
// that look like plain codes and are longer than code, longest first.
func longerReadings(runs []keyRun, b []rune, code string) []scanAlt {
	var out []scanAlt
	tail := string(b)
	for i := len(runs) - 1; i >= 0; i-- {
		tail = string(runs[i].text) + tail
		if len(tail) > len(code) && looksLikeScan(tail) && runs[i].restore != nil {
			out = append([]scanAlt{{tail, runs[i].restore}}, out...)
		}
	}
	return out
}

// looksLikeScan: a code as a scanner sends it. Either printable ASCII
// without spaces and with at least 3 digits (MRNs, with or without an AIM
// prefix; a name or word never passes), or the documented content of a
// card's 2D symbol, "MRN SERIAL" (barcode.Parse2D), which has a space.
func looksLikeScan(s string) bool {
	if _, _, ok := barcode.Parse2D(barcode.StripAIM(s)); ok {
		return true
	}
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

// is2D reports whether raw is a card's 2D content (with or without an AIM
// prefix), which a clerk may also type or paste into a search box.
func is2D(raw string) bool {
	_, _, ok := barcode.Parse2D(barcode.StripAIM(strings.TrimSpace(raw)))
	return ok
}

// rootScanMsg is the verification of a scan made on a screen other than
// the scan screen; the root routes it (see scanFrom).
type rootScanMsg struct {
	req  int
	raw  string
	res  scanResult
	err  error
	redo func() // puts the run of keys back into on
	keep func() // puts back the keys typed before raw (a split burst)
	on   screen
}

// scanAlt is one reading of a split burst and the undo of the screen from
// before it (nil: the screen is already so).
type scanAlt struct {
	code string
	from func()
}

// scanFromAlts verifies the readings of a split burst, longest first, and
// routes the first one the registry knows; when it knows none, the last
// (the final run alone) is routed as NOT AN ID and the keys are put back.
func (m Model) scanFromAlts(alts []scanAlt, redo func()) (tea.Model, tea.Cmd) {
	m.scanReq = m.e.req()
	ctx, reg, req, on := m.e.ctx, m.e.reg, m.scanReq, m.top()
	return m, func() tea.Msg {
		var msg rootScanMsg
		for _, a := range alts {
			r, err := checkCode(ctx, reg, a.code)
			msg = rootScanMsg{req: req, raw: a.code, res: r, err: err, redo: redo, keep: a.from, on: on}
			if err != nil || r.v.Status != idcards.StatusMalformed {
				return msg
			}
		}
		msg.keep = nil
		return msg
	}
}

func (m Model) startScan(raw string) (tea.Model, tea.Cmd) { return m.scanFrom(raw, nil) }

// scanFrom verifies a scan. On the scan screen the panel shows it; on any
// other screen the root waits for the answer: a screen that takes scans
// (binding a pre-printed card) gets it, otherwise the panel opens over the
// screen, which is kept as it was. A run of keys that the registry calls
// no ID at all (and that has no AIM prefix) was typed or pasted, not
// scanned: redo puts it back.
func (m Model) scanFrom(raw string, redo func()) (tea.Model, tea.Cmd) {
	if s, ok := m.top().(*scanScreen); ok {
		m.fullHelp = false
		return m, s.verify(m.e, raw)
	}
	m.scanReq = m.e.req()
	ctx, reg, req, on := m.e.ctx, m.e.reg, m.scanReq, m.top()
	return m, func() tea.Msg {
		r, err := checkCode(ctx, reg, raw)
		return rootScanMsg{req: req, raw: raw, res: r, err: err, redo: redo, on: on}
	}
}

func (m Model) routeScan(msg rootScanMsg) (tea.Model, tea.Cmd) {
	if msg.req != m.scanReq || msg.on != m.top() {
		return m, nil // the clerk moved on
	}
	m.scanReq = 0
	if msg.err != nil {
		return m, status(friendly(m.e, "verify", msg.err), true)
	}
	if msg.redo != nil && msg.res.v.Status == idcards.StatusMalformed && barcode.StripAIM(msg.raw) == msg.raw {
		msg.redo()
		if _, ok := m.top().(oneField); ok {
			// As if typed: Enter searches.
			return m, m.top().update(m.e, tea.KeyPressMsg{Code: tea.KeyEnter})
		}
		return m, status("Kept as typed: that was not a card.", false)
	}
	if msg.keep != nil {
		msg.keep()
	}
	if t, ok := m.top().(scanTaker); ok {
		if cmd, ok := t.takeScan(m.e, msg.raw, msg.res); ok {
			return m, cmd
		}
	}
	s := newScan()
	res := msg.res
	s.res, s.last = &res, msg.raw
	e := m.e
	e.log.Info("scan", "code", res.v.Code, "status", res.v.Status)
	m.stack = append(m.stack, s)
	m.fullHelp = false
	return m, nil
}

func age(birth string, now time.Time) string {
	t, err := time.Parse("2006-01-02", birth)
	if err != nil {
		return "age ?"
	}
	if d := now.Sub(t); d >= 0 && d < 2*365*24*time.Hour {
		months := (now.Year()-t.Year())*12 + int(now.Month()) - int(t.Month())
		if now.Day() < t.Day() {
			months--
		}
		if months < 2 {
			return fmt.Sprintf("%d wk", int(d.Hours()/24/7))
		}
		return fmt.Sprintf("%d mo", months)
	}
	y := now.Year() - t.Year()
	if now.YearDay() < t.YearDay() {
		y--
	}
	return fmt.Sprintf("%d y", y)
}

// keepReply keeps an answer for the screens below the top (see replies)
// while a scan panel, which starts none of these, lies over them.
func (m *Model) keepReply(msg tea.Msg) {
	if _, panel := m.top().(*scanScreen); !panel || len(m.stack) < 2 {
		return
	}
	if len(m.replies) == maxReplies {
		m.replies = m.replies[1:]
	}
	m.replies = append(m.replies, msg)
}
