package registry_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

const testSource = "691eed12-c0f1-11e2-94be-8c13b969e334"

func poolStore(t *testing.T, ids ...string) (*registry.Store, context.Context) {
	t.Helper()
	s, ctx := newStore(t)
	if err := s.SetIDSource(ctx, registry.IDSource{Idgen: testSource, Size: 10, LowWater: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FillPool(ctx, testSource, ids); err != nil {
		t.Fatal(err)
	}
	return s, ctx
}

func TestPool_IssuesInOrderOnceAndOnlyOnCommit(t *testing.T) {
	s, ctx := poolStore(t, "10000X", "10001V", "10002T")
	_, m1 := registerOne(t, s, ctx, "Amina")
	if m1 != "10000X" {
		t.Fatalf("first MRN %q, want the pool's first number", m1)
	}
	res, err := s.Reserve(ctx, 1)
	if err != nil || res[0] != "10001V" {
		t.Fatalf("reserve = %v, %v", res, err)
	}
	pool, _ := s.Pool(ctx)
	if pool.Free != 1 || pool.Issued != 2 {
		t.Errorf("pool = %+v", pool)
	}
	// Voiding an issued number never puts it back.
	id, err := s.Identifier(ctx, m1)
	if err != nil || id.State != idcards.IDActive {
		t.Fatalf("identifier %s = %+v, %v", m1, id, err)
	}
	if v, _ := s.Verify(ctx, m1); v.Status != idcards.StatusActive {
		t.Errorf("verify %s = %s (%s)", m1, v.Status, v.Detail)
	}
	registerDecided(t, s, ctx, "Beatrice")
	_, _, err = s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Chausiku", FamilyName: "Nakato", Sex: idcards.SexFemale, BirthDate: "1991-01-01"}, Decision: "test"})
	if idcards.ErrorKind(err) != idcards.Unavailable || !strings.Contains(err.Error(), "pool") {
		t.Fatalf("empty pool: %v", err)
	}
	if need := mustNeed(t, s, ctx); need != 10 {
		t.Errorf("need = %d, want 10 (refill to the pool size)", need)
	}
}

// registerDecided registers a patient past the duplicate check.
func registerDecided(t *testing.T, s *registry.Store, ctx context.Context, given string) string {
	t.Helper()
	_, m, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: given, FamilyName: "Nakato", Sex: idcards.SexFemale, BirthDate: "1990-04-02"}, Decision: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustNeed(t *testing.T, s *registry.Store, ctx context.Context) int {
	t.Helper()
	_, n, err := s.PoolNeed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPool_WithdrawsHeldNumbers(t *testing.T) {
	s, ctx := poolStore(t, "10000X", "10001V", "10002T", "10003R")
	// Known to OpenMRS before it reaches the pool, and after.
	if _, err := s.MergeExternal(ctx, "openmrs", []idcards.ExternalIdentifier{{Identifier: "10004P", PatientUUID: "p-1"}}); err != nil {
		t.Fatal(err)
	}
	f, err := s.FillPool(ctx, testSource, []string{"10004P", "10005M", "10000X"})
	if err != nil || f.Added != 1 || f.Withdrawn != 1 || f.Known != 1 {
		t.Fatalf("fill = %+v, %v", f, err)
	}
	m, err := s.MergeExternal(ctx, "openmrs", []idcards.ExternalIdentifier{{Identifier: "10001V", PatientUUID: "p-2"}})
	if err != nil || m.Withdrawn != 1 || m.Added != 0 { // counted once, as withdrawn
		t.Fatalf("merge = %+v, %v", m, err)
	}
	for i, want := range []string{"10000X", "10002T", "10003R", "10005M"} {
		if got := registerDecided(t, s, ctx, []string{"Amina", "Betty", "Carol", "Dora"}[i]); got != want {
			t.Fatalf("issued %s, want %s", got, want)
		}
	}
	w, err := s.PoolWithdrawn(ctx, 10)
	if err != nil || len(w) != 2 {
		t.Fatalf("withdrawn = %+v, %v", w, err)
	}
	st, _ := s.SyncStatus(ctx)
	if st.IDSource != "idgen:"+testSource || st.PoolWithdrawn != 2 || st.PoolFree != 0 {
		t.Errorf("status = %+v", st)
	}
}

func TestIDSource_Parse(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"", "series", false}, {"series", "series", false}, {"idgen:" + testSource, "idgen:" + testSource, false},
		{"idgen:", "", true}, {"idgen:../x", "", true}, {"pool", "", true},
	}
	for _, tc := range tests {
		got, err := registry.ParseIDSource(tc.in)
		if (err != nil) != tc.err || err == nil && got.String() != tc.want {
			t.Errorf("ParseIDSource(%q) = %v, %v", tc.in, got, err)
		}
	}
	if err := (registry.IDSource{Idgen: testSource, Size: 10, LowWater: 10}).Validate(); err == nil {
		t.Error("low water at the pool size accepted")
	}
}

func TestBind_RefusesNumberHeldInOpenMRS(t *testing.T) {
	s, ctx := newStore(t)
	cards, err := s.Reserve(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MergeExternal(ctx, "openmrs", []idcards.ExternalIdentifier{{Identifier: cards[0], PatientUUID: "0b7f4c6e-1111-4c5b-9d6a-1a2b3c4d5e6f"}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Amina", FamilyName: "Nakato", Sex: idcards.SexFemale, BirthDate: "1990-04-02"}, BindMRN: cards[0], Decision: "test"})
	if idcards.ErrorKind(err) != idcards.Conflict || !strings.Contains(err.Error(), "do not hand out") {
		t.Fatalf("register with a held card: %v", err)
	}
	p, _ := registerOne(t, s, ctx, "Beatrice")
	if err := s.Bind(ctx, cards[0], p.ID); idcards.ErrorKind(err) != idcards.Conflict {
		t.Errorf("bind a held card: %v", err)
	}
	if v, _ := s.Verify(ctx, cards[0]); v.Status != idcards.StatusUnassigned {
		t.Errorf("verify = %s", v.Status)
	}
	if err := s.Bind(ctx, cards[1], p.ID); err != nil {
		t.Errorf("bind a free card: %v", err)
	}
}

func TestAddSeries_CheckedAgainstOpenMRSType(t *testing.T) {
	s, ctx := newStore(t)
	if err := s.SaveSyncConfig(ctx, registry.SyncConfig{URL: "https://emr.example.org/openmrs", Username: "u", IdentifierType: "t", TypeScheme: "luhn-mod-30"}); err != nil {
		t.Fatal(err)
	}
	err := s.AddSeries(ctx, idcards.Format{Prefix: "7", Width: 5, Scheme: "luhn"})
	if idcards.ErrorKind(err) != idcards.Invalid || !strings.Contains(err.Error(), "luhn-mod-30") {
		t.Fatalf("luhn series under a Luhn mod 30 type: %v", err)
	}
	if err := s.AddSeries(ctx, idcards.Format{Prefix: "7", Width: 5, Scheme: "luhn-mod-30"}); err != nil {
		t.Fatalf("matching series refused: %v", err)
	}
	if err := s.ClearSyncConfig(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSeries(ctx, idcards.Format{Prefix: "8", Width: 5, Scheme: "luhn"}); err != nil {
		t.Errorf("without sync any scheme goes: %v", err)
	}
}

func TestWeightedRate(t *testing.T) {
	flat := make([]int64, registry.ForecastWindow)
	for i := range flat {
		flat[i] = 40
	}
	tests := []struct {
		name   string
		counts []int64
		days   int
		want   float64
	}{
		{"steady 40 a day", flat, 30, 40},
		{"nothing", make([]int64, 30), 30, 0},
		{"young source: only its days count", append([]int64{50, 30}, make([]int64, 28)...), 2, (50 + 30*math.Pow(0.5, 1/7.0)) / (1 + math.Pow(0.5, 1/7.0))},
		{"a burst a month ago weighs little", append(make([]int64, 29), 3000), 30, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := registry.WeightedRate(tc.counts, tc.days)
			if tc.name == "a burst a month ago weighs little" {
				if got <= 0 || got > 3000.0/30 {
					t.Errorf("rate %v, want below the plain mean %v", got, 3000.0/30)
				}
				return
			}
			if math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("rate %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSupply_SeriesAndPool(t *testing.T) {
	s, ctx := newStore(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	for d := range 10 { // 3 a day for ten days
		s.Now = func() time.Time { return now.Add(-time.Duration(9-d)*24*time.Hour - time.Hour) }
		if _, err := s.Reserve(ctx, 3); err != nil {
			t.Fatal(err)
		}
	}
	s.Now = func() time.Time { return now }
	sup, err := s.Supply(ctx)
	if err != nil || len(sup) != 1 {
		t.Fatalf("supply = %+v, %v", sup, err)
	}
	sp := sup[0]
	f, _ := s.Format(ctx)
	wantLeft := int64(math.Pow10(f.Width)) - 1 - 30
	if !sp.Current || sp.Left != wantLeft || math.Abs(sp.PerDay-3) > 1e-9 || math.Abs(sp.DaysLeft-float64(wantLeft)/3) > 1e-6 {
		t.Errorf("series supply = %+v, want %d left at 3/day", sp, wantLeft)
	}
	if err := s.SetIDSource(ctx, registry.IDSource{Idgen: testSource, Size: 10, LowWater: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FillPool(ctx, testSource, []string{"10000X", "10001V"}); err != nil {
		t.Fatal(err)
	}
	sup, _ = s.Supply(ctx)
	if len(sup) != 2 || !sup[0].Pool || !sup[0].Current || sup[0].Left != 2 || sup[0].DaysLeft != -1 || sup[1].Current {
		t.Errorf("supply with a pool = %+v", sup)
	}
	registerOne(t, s, ctx, "Amina")
	sup, _ = s.Supply(ctx)
	if sup[0].Left != 1 || sup[0].DaysLeft != -1 {
		t.Errorf("pool right after an issue = %+v: the count is fresh, the rate is reused for a few minutes", sup[0])
	}
	later := now.Add(10 * time.Minute)
	s.Now = func() time.Time { return later }
	sup, _ = s.Supply(ctx)
	if !sup[0].Low() || sup[0].Left != 1 {
		t.Errorf("pool after one issue = %+v, want low", sup[0])
	}
}

// TestPool_NumbersVerifyThroughTheMirror: pool numbers carry no series,
// and serve's in-memory mirror answers for them like the file does, both
// for numbers it loaded and for ones issued after it started.
func TestPool_NumbersVerifyThroughTheMirror(t *testing.T) {
	s, ctx := poolStore(t, "10000X", "10001V")
	first := registerDecided(t, s, ctx, "Amina")
	m, err := registry.NewMirror(ctx, s, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	second := registerDecided(t, s, ctx, "Beatrice")
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, mrn := range []string{first, second} {
		v, err := m.VerifyScan(ctx, mrn, false)
		if err != nil || v.Status != idcards.StatusActive {
			t.Errorf("mirror verify %s = %s (%s), %v", mrn, v.Status, v.Detail, err)
		}
	}
	if v, _ := m.VerifyScan(ctx, "10002T", false); v.Status.OK() {
		t.Errorf("a pool number never issued verifies as %s", v.Status)
	}
}

// FuzzParseIDSource: whatever --id-source says, the parse either fails or
// round-trips, and an idgen uuid never carries characters that could
// change a request path.
func FuzzParseIDSource(f *testing.F) {
	for _, s := range []string{"", "series", "idgen:" + testSource, "idgen:", "idgen:a/b", " idgen:x "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		src, err := registry.ParseIDSource(v)
		if err != nil {
			return
		}
		again, err := registry.ParseIDSource(src.String())
		if err != nil || again.Idgen != src.Idgen {
			t.Fatalf("%q -> %q -> %+v, %v", v, src.String(), again, err)
		}
		if strings.ContainsAny(src.Idgen, "/?#%. ") {
			t.Fatalf("uuid %q", src.Idgen)
		}
	})
}

// TestPool_TypoOfAPoolNumber: pool numbers have no series prefix; a typo in
// one is still "wrong check character" (by the OpenMRS identifier type's
// scheme), not "foreign prefix", on the file path and the mirror alike.
func TestPool_TypoOfAPoolNumber(t *testing.T) {
	s, ctx := poolStore(t, "10000X", "10001V", "10002T")
	if err := s.SaveSyncConfig(ctx, registry.SyncConfig{URL: "https://emr.example.org/openmrs", Username: "u", IdentifierType: "t", TypeScheme: "luhn-mod-30"}); err != nil {
		t.Fatal(err)
	}
	issued := registerDecided(t, s, ctx, "Amina")
	m, err := registry.NewMirror(ctx, s, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, tc := range []struct {
		code string
		want idcards.Status
	}{
		{issued, idcards.StatusActive},
		{"10000V", idcards.StatusInvalidCheck}, // the issued one, last character mistyped
		{"10001X", idcards.StatusInvalidCheck},
		{"10002T", idcards.StatusUnknown}, // right check character, never issued
		{"KLA000001", idcards.StatusMalformed},
	} {
		v, err := s.Verify(ctx, tc.code)
		mv, merr := m.VerifyScan(ctx, tc.code, false)
		if err != nil || merr != nil || v.Status != tc.want || mv.Status != v.Status || mv.Detail != v.Detail {
			t.Errorf("%s: file %s (%s), mirror %s (%s), want %s; %v %v", tc.code, v.Status, v.Detail, mv.Status, mv.Detail, tc.want, err, merr)
		}
	}
}
