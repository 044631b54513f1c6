package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// A real CUPS queue (issue 16). .ci/run starts cupsd and creates the
// cups-pdf queue "cards" (or $IDCARDS_CUPS_QUEUE); cups-pdf writes each job
// as a PDF into the directory its cups-pdf.conf names (Out, ${HOME}/PDF on
// Debian), or $IDCARDS_CUPS_PDF_DIR. Without a running queue the tests skip,
// or fail under IDCARDS_REQUIRE_TOOLS=1.

func cupsQueue(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"lp", "lpstat", "pdftoppm", "zbarimg"} {
		needCLITool(t, tool)
	}
	q := os.Getenv("IDCARDS_CUPS_QUEUE")
	if q == "" {
		q = "cards"
	}
	out, err := exec.Command("lpstat", "-p", q).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "enabled") {
		msg := fmt.Sprintf("no enabled CUPS queue %q (lpstat: %v: %s); .ci/run sets one up with cupsd and cups-pdf", q, err, strings.TrimSpace(string(out)))
		if os.Getenv("IDCARDS_REQUIRE_TOOLS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return q
}

func needCLITool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("IDCARDS_REQUIRE_TOOLS") == "" {
			t.Skipf("%s not installed (set IDCARDS_REQUIRE_TOOLS=1 to fail instead)", name)
		}
		t.Fatalf("%s not installed and IDCARDS_REQUIRE_TOOLS is set", name)
	}
}

// cupsPDFDir is where cups-pdf puts this user's jobs.
func cupsPDFDir(t *testing.T) string {
	if d := os.Getenv("IDCARDS_CUPS_PDF_DIR"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	if u, err := user.Current(); err == nil {
		home = u.HomeDir
	}
	dir := filepath.Join(home, "PDF")
	if f, err := os.Open("/etc/cups/cups-pdf.conf"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Out "); ok {
				dir = strings.ReplaceAll(strings.TrimSpace(v), "${HOME}", home)
			}
		}
	}
	return dir
}

var jobRE = regexp.MustCompile(`\(job ([^ )]+)\)`)

func TestPrint_RealCUPSQueue(t *testing.T) {
	q := cupsQueue(t)
	c := newPrintCLI(t)
	ids := c.issue("100")
	out := c.ok(strings.Join(ids, "\n")+"\n", "print", "--ids", "-", "--layout", "a4", "--to-printer", q)
	m := jobRE.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "printed 100 cards") {
		t.Fatalf("print output %q names no job", out)
	}
	pdf := spooledPDF(t, q, out)
	if got := pageSize(t, pdf); got != "595 x 842 pts (A4)" {
		t.Errorf("spooled A4 sheets: page size %q, want A4", got)
	}
	batch := strings.TrimSpace(out[strings.LastIndex(out, "batch ")+6:])

	img := t.TempDir()
	if o, err := exec.Command("pdftoppm", "-r", "150", "-gray", "-png", pdf, filepath.Join(img, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm %s: %v\n%s", pdf, err, o)
	}
	pages, _ := filepath.Glob(filepath.Join(img, "p-*.png"))
	if len(pages) != 10 {
		t.Fatalf("spooled PDF has %d pages, want 10 (100 cards, 10 per A4 sheet)", len(pages))
	}
	var got []string
	for _, p := range pages {
		o, _ := exec.Command("zbarimg", "-q", p).Output()
		for _, line := range strings.Fields(string(o)) {
			got = append(got, strings.TrimPrefix(line, "CODE-128:"))
		}
	}
	sort.Strings(got)
	want := slices.Clone(ids)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("the spooled PDF decodes to %d codes, want each of the %d MRNs exactly once", len(got), len(want))
	}
	if list := c.ok("", "cards", "list", "--batch", batch, "--state", "active", "--limit", "1000"); strings.Count(list, "\n") != 101 {
		t.Errorf("want 100 active cards of batch %s:\n%s", batch, list)
	}
}

// spooledPDF waits for the job named in print's output to complete on
// queue q and returns the PDF cups-pdf wrote for it (named after the job
// title, "idcards BATCH"), removed when the test ends.
func spooledPDF(t *testing.T, q, out string) string {
	t.Helper()
	m := jobRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("print output %q names no job", out)
	}
	job := m[1]
	batch := strings.TrimSpace(out[strings.LastIndex(out, "batch ")+6:])
	// Wait for CUPS to finish the job: it leaves the not-completed list.
	deadline := time.Now().Add(90 * time.Second)
	for {
		o, _ := exec.Command("lpstat", "-o", q).Output()
		if !strings.Contains(string(o), job+" ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still queued after 90 s:\n%s", job, o)
		}
		time.Sleep(200 * time.Millisecond)
	}
	done, _ := exec.Command("lpstat", "-W", "completed", "-o", q).Output()
	if !strings.Contains(string(done), job+" ") {
		t.Fatalf("job %s is not among the completed jobs:\n%s", job, done)
	}
	dir := cupsPDFDir(t)
	for time.Now().Before(deadline) {
		if matches, _ := filepath.Glob(filepath.Join(dir, "*"+batch+"*.pdf")); len(matches) > 0 {
			t.Cleanup(func() { os.Remove(matches[0]) })
			return matches[0]
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no spooled PDF for batch %s in %s", batch, dir)
	return ""
}

// pageSize is pdfinfo's "Page size" of pdf's first page.
func pageSize(t *testing.T, pdf string) string {
	t.Helper()
	needCLITool(t, "pdfinfo")
	o, err := exec.Command("pdfinfo", pdf).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo %s: %v\n%s", pdf, err, o)
	}
	for _, l := range strings.Split(string(o), "\n") {
		if v, ok := strings.CutPrefix(l, "Page size:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("pdfinfo %s gives no page size:\n%s", pdf, o)
	return ""
}

// The testers' report: a card page sent to a queue whose default media is
// A4 came out as an A4 page with the card turned in its middle. The job
// asks for the card's size, and the queue's output is one ID-1 page
// (cups-pdf writes the page size the job asked for) whose Code 128 decodes
// to the MRN.
func TestPrint_RealCUPSQueue_CardPageSize(t *testing.T) {
	q := cupsQueue(t)
	c := newPrintCLI(t)
	ids := c.issue("1")
	out := c.ok("", "print", "--patient", ids[0], "--layout", "card", "--to-printer", q)
	pdf := spooledPDF(t, q, out)
	if got := pageSize(t, pdf); got != "242.65 x 153.01 pts" {
		t.Fatalf("spooled card page size %q, want 242.65 x 153.01 pts (85.60 × 53.98 mm), not the queue's default", got)
	}
	img := t.TempDir()
	if o, err := exec.Command("pdftoppm", "-r", "300", "-gray", "-png", pdf, filepath.Join(img, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm %s: %v\n%s", pdf, err, o)
	}
	pages, _ := filepath.Glob(filepath.Join(img, "p-*.png"))
	if len(pages) != 1 {
		t.Fatalf("spooled PDF has %d pages, want 1", len(pages))
	}
	o, _ := exec.Command("zbarimg", "-q", pages[0]).Output()
	if got := strings.TrimSpace(string(o)); got != "CODE-128:"+ids[0] {
		t.Fatalf("spooled card decodes to %q, want CODE-128:%s", got, ids[0])
	}
}

// A stopped (disabled) queue would accept the job and hold it unprinted, a
// missing one refuses it: both are a clear error and leave no card.
func TestPrint_StoppedOrMissingQueue(t *testing.T) {
	cupsQueue(t)
	needCLITool(t, "lpadmin")
	needCLITool(t, "cupsdisable")
	stopped := fmt.Sprintf("idcards-test-stopped-%d", os.Getpid())
	if o, err := exec.Command("lpadmin", "-p", stopped, "-v", "cups-pdf:/", "-m", "lsb/usr/cups-pdf/CUPS-PDF_noopt.ppd").CombinedOutput(); err != nil {
		if os.Getenv("IDCARDS_REQUIRE_TOOLS") != "" {
			t.Fatalf("lpadmin: %v: %s", err, o)
		}
		t.Skipf("cannot create a test queue: %v: %s", err, o)
	}
	t.Cleanup(func() { exec.Command("lpadmin", "-x", stopped).Run() })
	exec.Command("cupsaccept", stopped).Run()
	if o, err := exec.Command("cupsdisable", stopped).CombinedOutput(); err != nil {
		t.Fatalf("cupsdisable: %v: %s", err, o)
	}
	c := newPrintCLI(t)
	ids := c.issue("3")
	for _, tt := range []struct{ queue, want string }{
		{stopped, "is stopped"},
		{"no-such-queue-" + fmt.Sprint(os.Getpid()), "no-such-queue"},
	} {
		_, _, err := c.run(strings.Join(ids, "\n")+"\n", "print", "--ids", "-", "--to-printer", tt.queue)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("print to %s: err = %v, want %q", tt.queue, err, tt.want)
		}
		if list := c.ok("", "cards", "list", "--state", "active"); strings.Count(list, "\n") != 1 {
			t.Fatalf("after printing to %s failed, active cards:\n%s", tt.queue, list)
		}
	}
	if o, _ := exec.Command("lpstat", "-o", stopped).Output(); len(strings.TrimSpace(string(o))) > 0 {
		t.Errorf("a job was queued on the stopped printer:\n%s", o)
	}
}
