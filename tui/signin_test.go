package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcards/idcards"
)

type fakeAuth struct{}

func (fakeAuth) Authenticate(ctx context.Context, user, pass string) (idcards.Actor, error) {
	if user == "ann" && pass == "s3cret" {
		return idcards.Actor{Name: "ann", Role: idcards.RoleClerk}, nil
	}
	return idcards.Actor{}, idcards.Errorf(idcards.Forbidden, "wrong user name or password")
}

func TestSignInAndIdleLock(t *testing.T) {
	s := newStore(t)
	c := &clock{t: testNow, step: slow}
	cfg := testConfig(s, nil, c)
	cfg.Actor, cfg.Auth, cfg.IdleCheck = idcards.Actor{}, fakeAuth{}, -1
	m := drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: 80, Height: 24})
	if !strings.Contains(screenText(m), "Sign in") {
		t.Fatalf("want sign-in:\n%s", screenText(m))
	}
	// A scan before sign-in is not looked up.
	m = drive(t, m, scanMsg{raw: "0420000010"})
	if !strings.Contains(screenText(m), "Sign in") {
		t.Fatalf("scan before sign-in left the sign-in screen:\n%s", screenText(m))
	}

	m = drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: 80, Height: 24})
	m = drive(t, m, append(append(typed("ann"), enter), append(typed("wrong"), enter)...)...)
	out := screenText(m)
	if !strings.Contains(out, "wrong user name or password") || strings.Contains(out, "Password        wrong") {
		t.Fatalf("bad password: want refusal and no echo:\n%s", out)
	}
	m = drive(t, m, append(typed("s3cret"), enter)...)
	if out := screenText(m); !strings.Contains(out, "Find or register") || m.(Model).e.actor.Name != "ann" {
		t.Fatalf("not signed in:\n%s", out)
	}
	if strings.Contains(screenText(m), "s3cret") {
		t.Fatal("password shown")
	}
	m = drive(t, m, idleTickMsg{})
	if !strings.Contains(screenText(m), "Find or register") {
		t.Fatal("locked too early")
	}
	c.t = c.t.Add(6 * time.Minute)
	m = drive(t, m, idleTickMsg{})
	if out := screenText(m); !strings.Contains(out, "Sign in") || !strings.Contains(out, "Locked after inactivity") {
		t.Fatalf("not locked:\n%s", out)
	}
}

// With no accounts the first screen creates the admin account; it cannot
// be skipped (Esc and scans do nothing) and refuses mismatched or weak
// passwords with the reason.
func TestFirstAdminThenLockKeepsScreens(t *testing.T) {
	s := newEmptyStore(t)
	c := &clock{t: testNow, step: slow}
	cfg := testConfig(s, nil, c)
	cfg.Actor, cfg.SignIn, cfg.NoUsers, cfg.IdleCheck = idcards.Actor{}, true, true, -1
	m := drive(t, New(context.Background(), cfg), tea.WindowSizeMsg{Width: 80, Height: 24})
	if !strings.Contains(screenText(m), "create your admin account") {
		t.Fatalf("want the first-admin screen:\n%s", screenText(m))
	}
	m = drive(t, m, tea.KeyPressMsg{Code: tea.KeyEscape}, scanMsg{raw: "0420000010"})
	if !strings.Contains(screenText(m), "create your admin account") {
		t.Fatalf("first-admin screen was skipped:\n%s", screenText(m))
	}
	m = drive(t, m, append(append(append(typed("amina"), enter), append(typed("correct horse battery"), enter)...), append(typed("correct horse batterx"), enter)...)...)
	if !strings.Contains(screenText(m), "differ") {
		t.Fatalf("mismatch not refused:\n%s", screenText(m))
	}
	m = drive(t, m, append(append(typed("short"), enter), append(typed("short"), enter)...)...)
	if out := screenText(m); !strings.Contains(out, "at least") || strings.Contains(out, "Find or register") {
		t.Fatalf("weak password not refused with its reason:\n%s", out)
	}
	m = drive(t, m, append(append(typed("correct horse battery"), enter), append(typed("correct horse battery"), enter)...)...)
	if out := screenText(m); !strings.Contains(out, "Find or register") || m.(Model).e.actor.Role != idcards.RoleAdmin {
		t.Fatalf("first admin not signed in:\n%s", out)
	}

	// Type into the search, lock, sign in again: the search is still there.
	m = drive(t, m, typed("Nakato")...)
	c.t = c.t.Add(6 * time.Minute)
	m = drive(t, m, idleTickMsg{})
	if out := screenText(m); !strings.Contains(out, "Sign in") || strings.Contains(out, "Nakato") {
		t.Fatalf("lock must hide the screen:\n%s", out)
	}
	m = drive(t, m, append(append(typed("amina"), enter), append(typed("correct horse battery"), enter)...)...)
	if out := screenText(m); !strings.Contains(out, "Nakato") {
		t.Fatalf("same user unlocking should find the screen as left:\n%s", out)
	}
}

// TestSignIn_StatusNamesNobody: before sign-in the status line said
// "signed in: os:NAME" (the OS account the desk runs under).
func TestSignIn_StatusNamesNobody(t *testing.T) {
	s := newStore(t)
	c := &clock{t: testNow, step: slow}
	cfg := testConfig(s, nil, c)
	cfg.Actor, cfg.Auth, cfg.IdleCheck = idcards.Actor{Name: "os:clerkpc"}, fakeAuth{}, -1
	m := start80(t, cfg)
	wantScreen(t, m, "Sign in", "nobody signed in")
	noScreen(t, m, "os:clerkpc")
	m = drive(t, m, append(append(typed("ann"), enter), append(typed("s3cret"), enter)...)...)
	wantScreen(t, m, "Signed in as ann (clerk)")
}
