package match

import (
	"fmt"
	"math"
	"strings"

	"github.com/idcards/idcards"
)

// Explain turns a scored pair into evidence a clerk can read, field by
// field, strongest first in the order of the form (names, birth date,
// sex, phone, village). Missing fields say so: they count neither way.
func (s *Scorer) Explain(q, c *Record, r Result) []idcards.Evidence {
	var out []idcards.Evidence
	add := func(f Field, text string) {
		lvl := "missing"
		if r.L[f] != Null {
			lvl = LevelNames[f][r.L[f]]
		}
		out = append(out, idcards.Evidence{Field: f.String(), Level: lvl, Weight: math.Round(r.W[f]*10) / 10, Text: text})
	}
	for i, f := range []Field{FGiven, FFamily} {
		label := "given name"
		qv, cv := q.Given, c.Given
		if f == FFamily {
			label = "family name"
			qv, cv = q.Family, c.Family
		}
		if r.Swapped {
			if f == FGiven {
				cv = c.Family
			} else {
				cv = c.Given
			}
		}
		var t string
		switch r.L[f] {
		case Null:
			t = "no " + label + " to compare"
		case NameExact:
			t = "same " + label + s.commonness(f, qv)
		case NameVariant:
			t = fmt.Sprintf("%s a variant spelling (%s / %s)", label, qv, cv)
		case NameClose, NameSimilar:
			t = fmt.Sprintf("%s %.0f%% alike", label, 100*r.Sim[i])
		case NamePart:
			t = fmt.Sprintf("one of the %ss agrees (%s / %s)", label, qv, cv)
		default:
			t = fmt.Sprintf("different %s (%.0f%% alike)", label, 100*r.Sim[i])
		}
		if r.Swapped && f == FGiven {
			t += ", given and family names swapped"
		}
		add(f, t)
	}
	dy := q.Y - c.Y
	if dy < 0 {
		dy = -dy
	}
	switch r.L[FBirth] {
	case Null:
		add(FBirth, "no birth date on one record (no evidence)")
	case BirthExact:
		if q.Est && c.Est {
			add(FBirth, "same estimated birth date"+s.commonness(FBirth, birthValue(q)))
		} else {
			add(FBirth, "same birth date"+s.commonness(FBirth, birthValue(q)))
		}
	case BirthTypo:
		if q.Y == c.Y && q.M == c.D && q.D == c.M {
			add(FBirth, "birth date with day and month swapped")
		} else {
			add(FBirth, "birth date differs by one slip ("+birthValue(q)+" / "+birthValue(c)+")")
		}
	case BirthEstYear:
		add(FBirth, "same birth year (age estimated)")
	case BirthEstNear:
		add(FBirth, fmt.Sprintf("born %d year%s apart, within ±%d for an estimated age", dy, plural(dy), r.Tol))
	case BirthClose:
		if dy == 0 {
			add(FBirth, "same birth year, different day")
		} else {
			add(FBirth, "born a year apart")
		}
	case BirthEstFar:
		add(FBirth, fmt.Sprintf("born %d years apart, more than the ±%d usual for an estimated age", dy, r.Tol))
	case BirthEstFarOff:
		add(FBirth, fmt.Sprintf("born %d years apart, far beyond the ±%d usual for an estimated age", dy, r.Tol))
	case BirthGeneration:
		add(FBirth, fmt.Sprintf("born %d years apart (a generation)", dy))
	default:
		if dy == 0 {
			add(FBirth, "different birth date, same year")
		} else {
			add(FBirth, fmt.Sprintf("born %d year%s apart", dy, plural(dy)))
		}
	}
	switch r.L[FSex] {
	case Agree:
		add(FSex, "same sex")
	case Disagree:
		add(FSex, "different sex")
	}
	switch r.L[FPhone] {
	case Null:
		add(FPhone, "no phone on one record")
	case Agree:
		t := "same phone"
		if s.TF != nil {
			if n := int(math.Round(s.TF.Freq(FPhone, q.Phone) * float64(s.N))); n >= 3 {
				t += fmt.Sprintf(" (shared by %d records)", n)
			}
		}
		add(FPhone, t)
	default:
		add(FPhone, "different phone")
	}
	switch r.L[FVillage] {
	case Agree:
		add(FVillage, "same village"+s.commonness(FVillage, q.Village))
	case VillageClose:
		add(FVillage, "village spelled alike")
	case VillageDisagree:
		add(FVillage, "different village")
	}
	if r.Household {
		for i := range out {
			if (out[i].Field == "phone" || out[i].Field == "village") && out[i].Weight == 0 && out[i].Level != "missing" && !strings.HasSuffix(out[i].Text, ")") {
				out[i].Text += " (as relatives share)"
			}
			if out[i].Field == FBirth.String() && out[i].Weight == 0 && out[i].Level != "missing" && r.L[FGiven] == NameOther {
				out[i].Text += " (as twins share)"
			}
		}
	}
	switch {
	case r.NearRivals == 1:
		out = append(out, idcards.Evidence{Field: "rivals", Level: "other records", Text: "another record fits nearly as well"})
	case r.NearRivals > 1:
		out = append(out, idcards.Evidence{Field: "rivals", Level: "other records", Text: fmt.Sprintf("%d other records fit nearly as well", r.NearRivals)})
	}
	if r.Guard != "" {
		out = append(out, idcards.Evidence{Field: "level", Level: "possible", Text: "held at possible: " + r.Guard})
	}
	return out
}

// commonness says how common a value is here when that matters: " (common
// here: 1 in 40)" or " (rare here)". A registry of fewer than a hundred
// patients says neither: "1 in 1" of five records tells a clerk nothing,
// and the weights barely use such counts (tfPseudo).
func (s *Scorer) commonness(f Field, v string) string {
	if s.TF == nil || v == "" {
		return ""
	}
	fr := s.TF.Freq(f, v)
	n := float64(s.N)
	switch {
	case fr >= 0.005 && fr*n >= 5 && s.N >= tfPseudo:
		return fmt.Sprintf(" (common here: 1 in %.0f)", 1/fr)
	case fr*n <= 2 && s.N >= 1000 && f != FBirth:
		return " (rare here)"
	}
	return ""
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Reasons are the evidence texts a clerk reads: fields missing on one side
// are left out (they count neither way), and two exactly agreeing names
// read "same name".
func Reasons(ev []idcards.Evidence) []string {
	out := make([]string, 0, len(ev))
	for i := 0; i < len(ev); i++ {
		e := ev[i]
		if e.Level == "missing" {
			continue
		}
		if e.Text == "same given name" && i+1 < len(ev) && ev[i+1].Text == "same family name" {
			out = append(out, "same name")
			i++
			continue
		}
		out = append(out, e.Text)
	}
	return out
}
