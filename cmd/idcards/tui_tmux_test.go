package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTUIInTmux drives the real binary in tmux: first-run setup on a fresh
// data directory, register a patient, print, then a scanner burst (the
// whole code sent at once, ending in Enter) and slow typing of a code.
func TestTUIInTmux(t *testing.T) {
	dir := t.TempDir()
	d := newTmuxDesk(t, dir)
	bin, tmux, waitFor, typeSlowly := d.bin, d.tmux, d.waitFor, d.typeSlowly
	data := filepath.Join(dir, "data")
	start := func(name string) { d.start(name, "HOME="+dir, "XDG_DATA_HOME="+data) }
	start("t")

	waitFor("No registry was found", "Site prefix")
	typeSlowly("042")
	d.key("C-s")
	// The first ID is shown before anything is created.
	waitFor("The first ID will be 042000001M", "y/n")
	d.key("y")

	// No default account: the first person creates their admin account.
	waitFor("create your admin account", "no default account")
	for _, v := range []string{"amina", "correct horse battery", "correct horse battery"} {
		typeSlowly(v)
		d.key("Enter")
	}
	waitFor("Find or register", "Signed in as amina")
	d.key("C-c")

	// The admin adds a clerk, whose first sign-in must choose a new password.
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("initial pass 1234\n"), 0o600)
	add := exec.Command(bin, "users", "add", "okot", "--role", "clerk", "--password-file", pw)
	add.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+data, "IDCARDS_DB=")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	start("t2")
	d.firstSignIn("okot", "initial pass 1234", "blue river morning")

	d.key("C-n")
	waitFor("Register a new patient")
	for i, v := range []string{"Amina", "Okello", "F", "34"} {
		if i > 0 {
			d.key("Tab")
		}
		typeSlowly(v)
	}
	d.key("C-s")
	screen := waitFor("Registered Amina Okello with MRN")
	mrn := strings.Fields(screen[strings.Index(screen, "with MRN ")+len("with MRN "):])[0]
	mrn = strings.TrimSuffix(mrn, ".")
	d.key("p")
	waitFor("saved as", "card(s) ever")
	// The desk's card is a real PDF whose barcodes decode to the new MRN.
	pdfs, _ := filepath.Glob(filepath.Join(data, "idcards", "cards", "*.pdf"))
	if len(pdfs) != 1 {
		t.Fatalf("want one card PDF, found %v", pdfs)
	}
	if _, err := exec.LookPath("zbarimg"); err == nil {
		png := filepath.Join(dir, "card")
		if out, err := exec.Command("pdftoppm", "-r", "203", "-png", "-singlefile", pdfs[0], png).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v %s", err, out)
		}
		out, _ := exec.Command("zbarimg", "-q", png+".png").CombinedOutput()
		if !strings.Contains(string(out), "CODE-128:"+mrn) || !strings.Contains(string(out), "QR-Code:"+mrn+" C") {
			t.Fatalf("card PDF decodes to %q, want Code 128 and QR with %s", out, mrn)
		}
	} else if os.Getenv("IDCARDS_REQUIRE_TOOLS") == "1" {
		t.Fatal("zbarimg is required (IDCARDS_REQUIRE_TOOLS=1)")
	}

	// Scanner: the whole code in one write, then Enter.
	d.key("-l", mrn+"\r")
	waitFor("ACTIVE", "Amina Okello", "Valid card")

	// Back home, a clerk typing the code slowly searches instead.
	d.key("Escape")
	waitFor("Patient · Amina Okello")
	d.key("Escape")
	waitFor("Find or register")
	typeSlowly(mrn)
	d.key("Enter")
	waitFor("1 match(es)", "Amina Okello")

	// Issue 14, items 7, 8 and 21 on the real binary.
	key := d.key
	burst := func(code string) { key("-l", code+"\r") } // a scanner: one write, Enter
	d.key("Enter")
	screen = waitFor("Patient · Amina Okello", "active, 1 card(s) ever")
	serial := regexp.MustCompile(`card (C[0-9A-Z]{8}) active`).FindStringSubmatch(screen)
	if serial == nil {
		t.Fatalf("no card serial on the patient screen:\n%s", screen)
	}
	twoD := mrn + " " + serial[1]

	// 7: the 2D content is a scan on the patient screen, on Find (with and
	// without the AIM prefix) and on the register form.
	burst(twoD)
	waitFor("✔ ACTIVE", "Card    "+serial[1])
	key("Escape")
	waitFor("Patient · Amina Okello")
	key("Escape")
	waitFor("Find or register")
	burst("]Q1" + twoD)
	waitFor("✔ ACTIVE", "Card    "+serial[1])
	key("Escape")
	waitFor("Find or register")

	// 8: a scan on the register form keeps what was typed, short fields too.
	key("C-n")
	waitFor("Register a new patient")
	for i, v := range []string{"Joy", "Akello", "F", "1975-03-03"} {
		if i > 0 {
			key("Tab")
		}
		typeSlowly(v)
	}
	time.Sleep(100 * time.Millisecond)
	burst(twoD)
	waitFor("✔ ACTIVE", "Amina Okello")
	key("Escape")
	waitFor("Sex             F", "Birth date/age  1975-03-03█", "Family name     Akello")
	key("BTab") // back to Sex
	time.Sleep(100 * time.Millisecond)
	burst(mrn)
	waitFor("✔ ACTIVE", "Card    not identified by this barcode")
	key("Escape")
	waitFor("> Sex             F█", "Birth date/age  1975-03-03")

	// 21: a bracketed paste of several lines goes into one field; a raw
	// paste (no brackets, Enters as CR) neither scans nor moves fields.
	key("Tab", "Tab", "Tab") // Village/address
	tmux("set-buffer", "Plot 12\nKasese Road\nKampala\n")
	tmux("paste-buffer", "-p", "-t", d.target)
	waitFor("> Village/address Plot 12 Kasese Road Kampala█")
	key("BTab") // Phone
	tmux("set-buffer", "0772 123456\n0772123456\n")
	tmux("paste-buffer", "-t", d.target)
	screen = waitFor("> Phone           0772 123456 0772123456█")
	if strings.Contains(screen, "NOT AN ID") || strings.Contains(screen, "idcards · Scan") {
		t.Fatalf("raw paste taken for a scan:\n%s", screen)
	}

	// 7 again: a reprint makes the old card REPLACED, caught on the
	// patient screen; on the lock screen a scan waits for the sign-in.
	// Esc on the half-filled form asks first; y goes back.
	key("C-u")
	key("Escape")
	waitFor("Go back and lose what was typed? y/n")
	key("y")
	waitFor("Find or register")
	key("C-u")
	typeSlowly("Okello")
	key("Enter")
	waitFor("1 match(es)")
	key("Enter")
	waitFor("Patient · Amina Okello")
	key("r")
	typeSlowly("lost")
	key("Enter")
	waitFor("active, 2 card(s) ever")
	burst(twoD)
	waitFor("✖ REPLACED CARD", "Amina Okello", "ctrl+o")
	key("C-l")
	waitFor("Sign in · locked")
	burst(twoD)
	waitFor("Card scanned: it is shown once you sign in", "> User            █")
	for _, v := range []string{"okot", "blue river morning"} {
		typeSlowly(v)
		key("Enter")
	}
	waitFor("✖ REPLACED CARD", "Amina Okello")

	d.key("C-c")
	if _, err := os.Stat(filepath.Join(data, "idcards", "tui.log")); err != nil {
		t.Fatalf("no log file: %v", err)
	}
}
