package registry_test

import (
	"context"
	"strings"
	"testing"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
)

func TestStore_Verify(t *testing.T) {
	s, ctx := newStore(t)
	ids, err := s.Reserve(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	_, active, err := s.Register(ctx, registry.Registration{Patient: registry.NewPatient{GivenName: "Łukasz", FamilyName: "Nowak", Sex: "M", BirthDate: "1985-06-01"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Void(ctx, ids[2], "lost before use"); err != nil {
		t.Fatal(err)
	}
	wrongCheck := ids[0][:len(ids[0])-1] + string("0123456789"[(strings.IndexByte("0123456789", ids[0][len(ids[0])-1])+1)%10])
	unknown := mustMake(t, 9999)
	for _, tc := range []struct {
		name, in string
		want     idcards.Status
		detail   string
	}{
		{"unassigned pre-printed", ids[0], idcards.StatusUnassigned, "pre-printed"},
		{"active", active, idcards.StatusActive, ""},
		{"AIM prefix Code 128", "]C0" + active, idcards.StatusActive, ""},
		{"AIM prefix and spaces", "]C1 " + active[:3] + " " + active[3:], idcards.StatusActive, ""},
		{"dashes for reading aloud", active[:2] + "-" + active[2:5] + "-" + active[5:], idcards.StatusActive, ""},
		{"trailing CRLF", active + "\r\n", idcards.StatusActive, ""},
		{"voided", ids[2], idcards.StatusVoided, "lost before use"},
		{"wrong check digit", wrongCheck, idcards.StatusInvalidCheck, "typo"},
		{"unknown but valid", unknown, idcards.StatusUnknown, "never issued"},
		{"too short", ids[0][:5], idcards.StatusMalformed, "wrong length"},
		{"too long", ids[0] + "1", idcards.StatusMalformed, "wrong length"},
		{"foreign prefix", "99" + ids[0][2:], idcards.StatusMalformed, "foreign prefix"},
		{"letter in sequence", ids[0][:4] + "A" + ids[0][5:], idcards.StatusMalformed, "bad character"},
		{"empty", "   ", idcards.StatusMalformed, "empty"},
		{"garbled scan", "\x00\x01\x02", idcards.StatusMalformed, ""},
		{"invalid UTF-8", "12\xff\xfe", idcards.StatusMalformed, "UTF-8"},
		{"10 KB of garbage", strings.Repeat("9", 10000), idcards.StatusMalformed, "bytes long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := s.Verify(ctx, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != tc.want || !strings.Contains(v.Detail, tc.detail) {
				t.Errorf("Verify(%q) = %s %q, want %s containing %q", tc.in, v.Status, v.Detail, tc.want, tc.detail)
			}
		})
	}
}

// FuzzVerify: whatever a scanner or a person sends, Verify answers with a
// status from the vocabulary, never panics, and writes nothing.
func FuzzVerify(f *testing.F) {
	s, ctx := newStore(f)
	ids, _ := s.Reserve(ctx, 2)
	for _, seed := range []string{ids[0], "]C0" + ids[1], "", "-", "]", "]C", "12 3", "\xff", strings.Repeat("1", 300)} {
		f.Add(seed)
	}
	before, _ := s.Counts(ctx)
	valid := map[idcards.Status]bool{idcards.StatusActive: true, idcards.StatusUnassigned: true, idcards.StatusVoided: true,
		idcards.StatusReplaced: true, idcards.StatusUnknown: true, idcards.StatusInvalidCheck: true, idcards.StatusMalformed: true}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := s.Verify(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if !valid[v.Status] {
			t.Fatalf("status %q", v.Status)
		}
		if v.Status.OK() && v.Code != ids[0] && v.Code != ids[1] {
			t.Fatalf("%q verified as %s %s", in, v.Status, v.Code)
		}
	})
	after, _ := s.Counts(ctx)
	if after != before {
		f.Errorf("Verify changed the registry: %+v -> %+v", before, after)
	}
}
