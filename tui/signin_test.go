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
	return idcards.Actor{}, idcards.Errorf(idcards.Forbidden, "bad credentials")
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
	if !strings.Contains(out, "not accepted") || strings.Contains(out, "wrong") {
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
