package registry_test

import (
	"context"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/barcode"
	"github.com/idcards/idcards/registry"
)

// mirrorFixture is a registry (server), a second Store on the same file
// (another process: the desk or the CLI), and a mirror of the server.
type mirrorFixture struct {
	t           *testing.T
	ctx         context.Context
	server, cli *registry.Store
	m           *registry.Mirror
	codes       []string
}

func newMirrorFixture(t *testing.T) *mirrorFixture {
	server, ctx := newStore(t)
	cli, err := registry.Open(ctx, server.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return &mirrorFixture{t: t, ctx: ctx, server: server, cli: cli}
}

func (f *mirrorFixture) register(s *registry.Store, given string) (idcards.Patient, string) {
	f.t.Helper()
	p, mrn, err := s.Register(f.ctx, registry.Registration{Patient: registry.NewPatient{GivenName: given, FamilyName: "Nakato", Sex: "F",
		BirthDate: "1990-03-04", Phone: "+256 772 123456", Village: "Kisoro"}, Decision: "test"})
	if err != nil {
		f.t.Fatal(err)
	}
	f.codes = append(f.codes, mrn)
	return p, mrn
}

// same checks that the mirror answers every code exactly as Verify does
// (with the patient, and without it as the scanner's verify scope asks).
func (f *mirrorFixture) same(step string) {
	f.t.Helper()
	if err := f.m.Refresh(f.ctx); err != nil {
		f.t.Fatalf("%s: refresh: %v", step, err)
	}
	codec, _ := barcode.NewCodec(testFormat)
	unknown, _ := codec.Make(999_999)
	extra := []string{unknown, "", "  ", "x", "99" + unknown, "]C0" + unknown, "\xff", "OLD-123", "old 123"}
	for _, c := range f.codes {
		extra = append(extra, c, c[:len(c)-1]+flip(c[len(c)-1]), " "+c+" ", "]C1"+c)
	}
	// 2D symbols carry the card serial: current, replaced and voided cards.
	cards, err := f.server.ListCards(f.ctx, registry.CardFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range cards {
		extra = append(extra, barcode.Format2D(c.MRN, c.Serial))
	}
	for _, code := range extra {
		want, werr := f.server.Verify(f.ctx, code)
		got, gerr := f.m.VerifyScan(f.ctx, code, true)
		want.CheckedAt, got.CheckedAt = want.CheckedAt.Round(0), want.CheckedAt.Round(0)
		if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(got, want) {
			f.t.Errorf("%s: %q\nmirror: %+v %v\nverify: %+v %v", step, code, got, gerr, want, werr)
			continue
		}
		lean, err := f.m.VerifyScan(f.ctx, code, false)
		lean.CheckedAt = want.CheckedAt
		want.Patient = nil
		if err != nil || !reflect.DeepEqual(lean, want) {
			f.t.Errorf("%s: %q without patient:\nmirror: %+v %v\nverify: %+v", step, code, lean, err, want)
		}
		f.sameRecord(step, code) // mirror_fhir_test.go
	}
}

func flip(b byte) string {
	if b == '0' {
		return "1"
	}
	return "0"
}

// TestMirror_AnswersAsVerify: for every state a code can be in, and after
// every kind of change another process makes, the mirror's answer equals
// Verify's.
func TestMirror_AnswersAsVerify(t *testing.T) {
	f := newMirrorFixture(t)
	s, ctx := f.server, f.ctx
	p1, m1 := f.register(s, "Amina")
	p2, _ := f.register(s, "Amena")
	if err := s.Merge(ctx, p2.ID, p1.ID, "same person"); err != nil {
		t.Fatal(err)
	}
	_, m3 := f.register(s, "Okello")
	if err := s.Void(ctx, m3, "typo"); err != nil {
		t.Fatal(err)
	}
	reserved, err := s.Reserve(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	f.codes = append(f.codes, reserved...)
	if _, err := s.RecordCards(ctx, []string{m1}, "card", "", ""); err != nil {
		t.Fatal(err)
	}
	f.m, err = registry.NewMirror(ctx, s, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.m.Close)
	if f.m.Len() != 6 {
		t.Errorf("mirror holds %d identifiers, want 6", f.m.Len())
	}
	f.same("built")

	// Changes by another process, each seen after the feed is read.
	if _, err := f.cli.RecordCards(ctx, []string{m1}, "card", "", "lost"); err != nil {
		t.Fatal(err)
	}
	f.same("card reprinted elsewhere")
	p4, _ := f.register(f.cli, "Babirye")
	f.same("registered elsewhere after the mirror was built")
	// A sync conflict over an active ID, recorded and resolved elsewhere:
	// the ID is disputed (active, with a warning) in between.
	syncCtx := idcards.WithActor(ctx, idcards.Actor{Name: "os:sync", Role: idcards.RoleSupervisor})
	if _, err := f.cli.RecordConflict(syncCtx, idcards.SyncConflict{Identifier: m1, LocalPatientID: p1.ID, RemotePatientUUID: "remote-1", Detail: "OpenMRS holds " + m1 + " for another patient"}); err != nil {
		t.Fatal(err)
	}
	f.same("conflict recorded elsewhere")
	if v, _ := f.m.VerifyScan(ctx, m1, false); v.Status != idcards.StatusActive || !v.Disputed || v.Dispute != idcards.ConflictIdentifier || !strings.Contains(v.Detail, "OpenMRS holds") {
		t.Fatalf("disputed ID: %+v", v)
	}
	open, err := f.cli.SyncConflicts(syncCtx, false)
	if err != nil || len(open) != 1 {
		t.Fatal(open, err)
	}
	if err := f.cli.ResolveConflict(syncCtx, open[0].ID, "OpenMRS record was a test patient; voided there", false); err != nil {
		t.Fatal(err)
	}
	f.same("conflict resolved elsewhere")
	if v, _ := f.m.VerifyScan(ctx, m1, false); v.Disputed {
		t.Fatalf("resolved, still disputed: %+v", v)
	}
	// A registration held as a look-alike: not in OpenMRS yet, said so.
	if _, err := f.cli.RecordConflict(syncCtx, idcards.SyncConflict{Identifier: m1, LocalPatientID: p1.ID, RemotePatientUUID: "remote-2", Kind: idcards.ConflictLookalike,
		Detail: "OpenMRS may already hold this patient as another record"}); err != nil {
		t.Fatal(err)
	}
	f.same("look-alike held elsewhere")
	if v, _ := f.m.VerifyScan(ctx, m1, false); !v.Disputed || v.Dispute != idcards.ConflictLookalike || !strings.Contains(v.Detail, "not yet in OpenMRS") || !strings.Contains(v.Detail, "OpenMRS may already hold") {
		t.Fatalf("look-alike: %+v", v)
	}
	if open, err = f.cli.SyncConflicts(syncCtx, false); err != nil || len(open) != 1 {
		t.Fatal(open, err)
	}
	if err := f.cli.JudgeLookalike(syncCtx, open[0].ID, false, "different mother", nil); err != nil {
		t.Fatal(err)
	}
	f.same("look-alike judged someone else elsewhere")
	if err := f.cli.Bind(ctx, reserved[0], p4.ID); err != nil {
		t.Fatal(err)
	}
	f.same("pre-printed card bound elsewhere")
	if err := f.cli.Void(ctx, m1, "duplicate"); err != nil {
		t.Fatal(err)
	}
	f.same("voided elsewhere")
	p5, _ := f.register(f.cli, "Nakku")
	if err := f.cli.Merge(ctx, p5.ID, p4.ID, "same person"); err != nil {
		t.Fatal(err)
	}
	f.same("merged elsewhere")
	cards, err := f.cli.ListCards(ctx, registry.CardFilter{})
	if err != nil || len(cards) == 0 {
		t.Fatal(cards, err)
	}
	for _, c := range cards {
		if c.State == idcards.CardActive {
			if err := f.cli.VoidCard(ctx, c.Serial, "damaged"); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.same("card voided elsewhere")

	// A legacy ID imported elsewhere: codes that fail the check are then
	// also looked up as legacy IDs, as Verify does.
	rows := []registry.ImportRow{{Line: 2, Patient: registry.NewPatient{GivenName: "Old", FamilyName: "Record", Sex: "M", BirthDate: "1950-01-01"}, MRNs: []string{"OLD-123"}}}
	next := func() (registry.ImportRow, error) {
		if len(rows) == 0 {
			return registry.ImportRow{}, io.EOF
		}
		r := rows[0]
		rows = rows[1:]
		return r, nil
	}
	if _, err := f.cli.Import(ctx, next, registry.ImportOptions{LegacyUnchecked: true}, nil); err != nil {
		t.Fatal(err)
	}
	f.same("legacy ID imported elsewhere")

	// A new series added elsewhere.
	newFmt := idcards.Format{Prefix: "34", Width: 5, Scheme: testFormat.Scheme}
	if err := f.cli.AddSeries(ctx, newFmt); err != nil {
		t.Fatal(err)
	}
	ids, err := f.cli.Reserve(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	f.codes = append(f.codes, ids...)
	f.same("series added elsewhere")

	// Feed rows this mirror never read are gone (trimmed by another
	// mirror, or the file was restored): it rebuilds itself.
	if err := f.cli.Void(ctx, reserved[1], "lost in transit"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cli.DB().ExecContext(ctx, `DELETE FROM verify_changes`); err != nil {
		t.Fatal(err)
	}
	f.same("feed trimmed under the mirror")

	// Rows deleted after more were written (seqs never restart), and a
	// hole in the middle of the unread feed: both noticed, both rebuilt.
	if err := f.cli.Void(ctx, reserved[2], "lost"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cli.DB().ExecContext(ctx, `DELETE FROM verify_changes`); err != nil {
		t.Fatal(err)
	}
	_, late := f.register(f.cli, "Late")
	if err := f.cli.Void(ctx, late, "duplicate"); err != nil {
		t.Fatal(err)
	}
	f.same("feed emptied, then written again")
	_, a := f.register(f.cli, "Hole")
	_, b := f.register(f.cli, "After")
	if _, err := f.cli.RecordCards(ctx, []string{a}, "card", "", ""); err != nil {
		t.Fatal(err)
	}
	var hole int64
	if err := f.cli.DB().QueryRowContext(ctx, `SELECT max(seq) FROM verify_changes`).Scan(&hole); err != nil {
		t.Fatal(err)
	}
	if err := f.cli.Void(ctx, a, "typo"); err != nil {
		t.Fatal(err)
	}
	if err := f.cli.Void(ctx, b, "typo"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cli.DB().ExecContext(ctx, `DELETE FROM verify_changes WHERE seq = ?`, hole+1); err != nil {
		t.Fatal(err)
	}
	f.same("hole in the unread feed")

	// Restored from a backup taken before a card was printed: its 2D
	// symbol is one the registry has no record of (restore_lost_test.go).
	_, kept := f.register(f.cli, "Kept")
	bk := backupTo(t, ctx, f.cli, "mirror-b.db")
	printed, err := f.cli.RecordCards(ctx, []string{kept}, "card", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registry.Restore(context.Background(), bk, registry.RestoreOptions{To: s.Path(), Force: true, Actor: idcards.Actor{Name: "os:test"}}); err != nil {
		t.Fatal(err)
	}
	f.codes = append(f.codes, barcode.Format2D(printed[0].MRN, printed[0].Serial))
	f.same("restored from a backup older than a card")
	if v, _ := f.m.VerifyScan(ctx, f.codes[len(f.codes)-1], false); !v.CardRecordLost {
		t.Fatalf("card printed after the backup, mirror: %+v", v)
	}
}

// FuzzMirrorVerify: whatever a scanner sends, the mirror answers exactly
// as Verify does.
func FuzzMirrorVerify(f *testing.F) {
	s, ctx := newStore(f)
	ids, _ := s.Reserve(ctx, 2)
	_, active, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: "F", BirthDate: "1990-03-04"}})
	if err != nil {
		f.Fatal(err)
	}
	m, err := registry.NewMirror(ctx, s, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer m.Close()
	for _, seed := range []string{ids[0], active, "]C0" + ids[1], "", "-", "]", "12 3", "\xff", active + " S1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		want, werr := s.Verify(ctx, in)
		got, gerr := m.VerifyScan(ctx, in, true)
		got.CheckedAt = want.CheckedAt
		if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\nmirror: %+v %v\nverify: %+v %v", in, got, gerr, want, werr)
		}
	})
}

// Scans keep being answered while another process changes the registry
// and the mirror follows (run with -race); afterwards it agrees with
// Verify on every code.
func TestMirror_ConcurrentScansAndChanges(t *testing.T) {
	f := newMirrorFixture(t)
	ctx := f.ctx
	for i := range 5 {
		f.register(f.server, "Amina"+string(rune('A'+i)))
	}
	var err error
	f.m, err = registry.NewMirror(ctx, f.server, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.m.Close)
	stop := make(chan struct{})
	done := make(chan error, 4)
	codes := append([]string(nil), f.codes...)
	for g := range 4 {
		go func() {
			for i := g; ; i++ {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				var err error
				if i%3 == 0 {
					_, _, err = f.m.VerifyRecord(ctx, codes[i%len(codes)]) // mirror_fhir.go
				} else {
					_, err = f.m.VerifyScan(ctx, codes[i%len(codes)], i%2 == 0)
				}
				if err != nil {
					done <- err
					return
				}
			}
		}()
	}
	for i := range 20 {
		_, m := f.register(f.cli, "Okello"+string(rune('A'+i)))
		if _, err := f.cli.RecordCards(ctx, []string{m}, "card", "", ""); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if err := f.cli.Void(ctx, m, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	f.same("after concurrent changes")
}

// A fresh install: serve starts on a registry with no identifiers yet; the
// first IDs are issued by another process while it runs.
func TestMirror_EmptyRegistry(t *testing.T) {
	f := newMirrorFixture(t)
	var err error
	f.m, err = registry.NewMirror(f.ctx, f.server, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.m.Close)
	f.same("empty")
	f.register(f.cli, "Amina")
	f.same("first registration elsewhere")
}

// The feed is trimmed to its newest 100,000 rows; a second mirror that
// had not read the trimmed rows notices the gap and rebuilds.
func TestMirror_TrimKeepsNewestAndOthersRebuild(t *testing.T) {
	f := newMirrorFixture(t)
	_, a := f.register(f.server, "Amina")
	var err error
	f.m, err = registry.NewMirror(f.ctx, f.server, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.m.Close)
	behind, err := registry.NewMirror(f.ctx, f.cli, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	behind.Close() // no follower: it reads the feed only when told to, below
	if err := f.cli.Void(f.ctx, a, "typo"); err != nil {
		t.Fatal(err)
	}
	// 100,010 more feed rows (as many changes would write).
	if _, err := f.cli.DB().ExecContext(f.ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 100010)
		INSERT INTO verify_changes(mrn) SELECT 'none' FROM n`); err != nil {
		t.Fatal(err)
	}
	f.same("first mirror read everything") // f.m is now up to date
	registry.TrimMirrorForTest(f.m)
	var n int
	if err := f.cli.DB().QueryRowContext(f.ctx, `SELECT count(*) FROM verify_changes`).Scan(&n); err != nil || n != 100_000 {
		t.Fatalf("after trim: %d rows, %v (want the newest 100,000)", n, err)
	}
	// The other mirror never read the void: it must rebuild, not skip it.
	if err := behind.Refresh(f.ctx); err != nil {
		t.Fatal(err)
	}
	v, err := behind.VerifyScan(f.ctx, a, false)
	if err != nil || v.Status != idcards.StatusVoided {
		t.Fatalf("mirror behind the trim: %s %v", v.Status, err)
	}
}
