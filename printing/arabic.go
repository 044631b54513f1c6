package printing

// Arabic letters join: each takes an isolated, final, initial or medial
// form depending on its neighbours. DejaVu Sans carries those forms as the
// Arabic Presentation Forms-B characters, so shapeArabic rewrites the basic
// letters (U+0621–U+064A) to them and lam + alef to their ligature. That is
// enough for names in Arabic script (Arabic, Swahili and Hausa Ajami); it
// is not a full OpenType shaper (no mark positioning, no Persian/Urdu
// extensions beyond the basic letters).

// arabicForms[r-0x0621] is the first presentation form (isolated) of r and
// how many forms it has: 4 joins both sides, 2 joins only the letter
// before it, 1 never joins; 0 means not handled (left as is).
var arabicForms = [...]struct {
	first rune
	n     int
}{
	{0xFE80, 1}, {0xFE81, 2}, {0xFE83, 2}, {0xFE85, 2}, {0xFE87, 2}, {0xFE89, 4}, {0xFE8D, 2}, {0xFE8F, 4},
	{0xFE93, 2}, {0xFE95, 4}, {0xFE99, 4}, {0xFE9D, 4}, {0xFEA1, 4}, {0xFEA5, 4}, {0xFEA9, 2}, {0xFEAB, 2},
	{0xFEAD, 2}, {0xFEAF, 2}, {0xFEB1, 4}, {0xFEB5, 4}, {0xFEB9, 4}, {0xFEBD, 4}, {0xFEC1, 4}, {0xFEC5, 4},
	{0xFEC9, 4}, {0xFECD, 4}, {}, {}, {}, {}, {}, {0, 0}, // 063B–063F unused; 0640 tatweel handled apart
	{0xFED1, 4}, {0xFED5, 4}, {0xFED9, 4}, {0xFEDD, 4}, {0xFEE1, 4}, {0xFEE5, 4}, {0xFEE9, 4}, {0xFEED, 2},
	{0xFEEF, 2}, {0xFEF1, 4},
}

func arabicJoin(r rune) int { // forms count; tatweel joins both sides
	if r == 0x0640 {
		return 4
	}
	if r >= 0x0621 && r <= 0x064A {
		return arabicForms[r-0x0621].n
	}
	return 0
}

func arabicMark(r rune) bool { return r >= 0x064B && r <= 0x065F || r == 0x0670 }

func shapeArabic(rs []rune) []rune {
	has := false
	for _, r := range rs {
		if r >= 0x0621 && r <= 0x064A {
			has = true
			break
		}
	}
	if !has {
		return rs
	}
	neighbour := func(i, step int) rune {
		for j := i + step; j >= 0 && j < len(rs); j += step {
			if !arabicMark(rs[j]) {
				return rs[j]
			}
		}
		return 0
	}
	out := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		n := arabicJoin(r)
		if n == 0 || r == 0x0640 {
			out = append(out, r)
			continue
		}
		prev, next := neighbour(i, -1), neighbour(i, 1)
		joinPrev := arabicJoin(prev) == 4
		joinNext := n == 4 && arabicJoin(next) >= 2
		if r == 0x0644 { // lam + alef ligature
			lig := map[rune]rune{0x0622: 0xFEF5, 0x0623: 0xFEF7, 0x0625: 0xFEF9, 0x0627: 0xFEFB}[next]
			if lig != 0 && (i+1 < len(rs) && rs[i+1] == next) {
				if joinPrev {
					lig++
				}
				out = append(out, lig)
				i++
				continue
			}
		}
		f := arabicForms[r-0x0621]
		form := 0
		switch {
		case joinPrev && joinNext:
			form = 3
		case joinPrev:
			form = 1
		case joinNext:
			form = 2
		}
		if form >= f.n {
			form = 0
			if joinPrev && f.n >= 2 {
				form = 1
			}
		}
		out = append(out, f.first+rune(form))
	}
	return out
}
