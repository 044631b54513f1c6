package match

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/idcards/idcards"
)

// Synthetic data for measuring duplicate detection: names from several
// regions with realistic frequencies (a few very common names, a long tail
// built from each region's syllables), households sharing family name,
// phone and village, twins and parent/child pairs, and re-registrations
// with the errors desks make. Seeded, so every run yields the same set.

type region struct {
	given, family []string
	syll          []string // for the long tail
	share         float64
}

var regions = []region{
	{ // East Africa (Uganda, Kenya)
		[]string{"Amina", "Okello", "Nakato", "Mugisha", "Achieng", "Kato", "Wanjiru", "Nambi", "Otieno", "Auma", "Babirye", "Kiprop", "Atieno", "Ssemakula", "Nalubega", "Byaruhanga", "Akello", "Wafula", "Chebet", "Kamau", "Grace", "Joseph", "Mary", "John", "Sarah", "Peter", "Esther", "Moses", "Florence", "David", "Fatuma", "Aisha", "Mohammed", "Wasswa", "Nansubuga", "Kizza"},
		[]string{"Nakato", "Ochieng", "Mukasa", "Otieno", "Kiprop", "Ssali", "Atim", "Namusoke", "Tumusiime", "Wekesa", "Njoroge", "Kiggundu", "Odhiambo", "Nabirye", "Muwanga", "Kariuki", "Opio", "Lubega", "Achan", "Kyomuhendo", "Mugisha", "Okello", "Wanjiku", "Kato", "Nsubuga", "Ssempijja"},
		[]string{"na", "ka", "mu", "ki", "ba", "ga", "lu", "be", "ko", "to", "ri", "si", "wa", "nya", "mbi", "nge", "tu", "o", "a", "ye", "ru", "go", "ha", "zi"},
		0.55,
	},
	{ // West Africa
		[]string{"Aminata", "Moussa", "Fatoumata", "Ibrahima", "Adjoa", "Kwame", "Chiamaka", "Oluwaseun", "Abdoulaye", "Mariama", "Kofi", "Ngozi", "Mamadou", "Awa", "Ousmane", "Kɔfi"},
		[]string{"Diallo", "Traoré", "Ndiaye", "Mensah", "Okafor", "Adeyemi", "Koné", "Ouédraogo", "Boateng", "Sow", "Camara", "Eze", "Bâ", "Cissé", "Mɛnsah"},
		[]string{"a", "ko", "fi", "ma", "du", "se", "ye", "mi", "o", "la", "ba", "ke", "zu", "wo", "tu", "de"},
		0.15,
	},
	{ // Latin America / Iberia and Europe
		[]string{"José", "María", "Juan", "Lucía", "Andrés", "Sofía", "Joaquín", "Inés", "Raúl", "Camila", "Łukasz", "Søren", "Đorđe", "Zoë"},
		[]string{"García", "Hernández", "Núñez", "Muñoz", "Rodríguez", "Pérez", "Gómez", "Díaz", "Sánchez", "Jiménez", "Wałęsa", "Ødegård", "Strauß", "Đukić"},
		[]string{"ro", "me", "li", "sa", "ven", "ta", "mar", "do", "ez", "cas", "ti", "ne"},
		0.1,
	},
	{ // South Asia
		[]string{"Priya", "Rahul", "Ananya", "Mohammed", "Fatima", "Arjun", "Lakshmi", "Imran", "Sunita", "Vikram", "Ayesha", "Muhammad"},
		[]string{"Sharma", "Patel", "Khan", "Singh", "Reddy", "Hossain", "Iyer", "Chowdhury", "Nair", "Gupta", "Begum", "Rahman"},
		[]string{"ra", "vi", "shan", "ka", "ma", "deep", "ni", "ta", "ar", "jun", "pri", "ya", "la", "han"},
		0.2,
	},
}

var villagePool = func() []string {
	base := []string{"Kireka", "Bweyogerere", "Namugongo", "Kyaliwajjala", "Seeta", "Mukono", "Kasangati", "Gayaza", "Wakiso", "Nansana", "Matugga", "Kira"}
	out := append([]string{}, base...)
	for _, a := range []string{"Ka", "Na", "Bu", "Ki", "Lu", "Ma"} {
		for _, b := range []string{"bale", "wempe", "sanja", "toogo", "kungu", "yembe", "ganda", "lenge"} {
			out = append(out, a+b)
		}
	}
	return out
}()

// SynthRecord is one generated registration. Of is the index of the
// record it duplicates, or -1 for a person not registered before.
// Relative, for new people, names the record of a twin or parent/child
// ("twin", "parent", "child") they resemble.
type SynthRecord struct {
	Person
	Of       int
	Mutation string // what was changed, for duplicates
	Relative string
}

// SynthConfig sets the generator's size and error rates.
type SynthConfig struct {
	Seed      uint64
	Originals int
	DupRate   float64 // share of originals registered a second time
	// Rates of each error in a duplicate (independent).
	Typo, Swap, Estimate, PhoneChange, VillageDrop, DropAccents float64
}

// DefaultSynth uses error rates seen at registration desks.
func DefaultSynth(seed uint64, originals int) SynthConfig {
	return SynthConfig{Seed: seed, Originals: originals, DupRate: 0.1, Typo: 0.3, Swap: 0.08, Estimate: 0.25, PhoneChange: 0.3, VillageDrop: 0.15, DropAccents: 0.5}
}

// Generator draws people; Synthesize and Queries use it.
type Generator struct {
	rng     *rand.Rand
	tails   [][]string // per region: long-tail names
	zipfCum [][]float64
	year    int
}

// NewGenerator returns a seeded generator.
func NewGenerator(seed uint64) *Generator {
	g := &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), year: 2025}
	trng := rand.New(rand.NewPCG(99, 7)) // the name tail is the same for every seed
	for _, r := range regions {
		var tail []string
		for range 3000 {
			n := 2 + trng.IntN(2)
			var b strings.Builder
			for range n {
				b.WriteString(r.syll[trng.IntN(len(r.syll))])
			}
			s := b.String()
			tail = append(tail, strings.ToUpper(s[:1])+s[1:])
		}
		g.tails = append(g.tails, tail)
	}
	return g
}

// name draws a name: 55 % from the region's list with Zipf weights (the
// first names are very common: the commonest given name is about one in
// twenty), 45 % from the long tail.
func (g *Generator) name(list []string, tail []string) string {
	if g.rng.Float64() < 0.55 {
		tot := 0.0
		for i := range list {
			tot += 1 / float64(i+1)
		}
		x := g.rng.Float64() * tot
		for i := range list {
			x -= 1 / float64(i+1)
			if x <= 0 {
				return list[i]
			}
		}
		return list[len(list)-1]
	}
	return tail[int(float64(len(tail))*math.Pow(g.rng.Float64(), 1.5))]
}

func (g *Generator) regionIdx() int {
	x := g.rng.Float64()
	for i, r := range regions {
		x -= r.share
		if x <= 0 {
			return i
		}
	}
	return 0
}

func (g *Generator) phone() string {
	return fmt.Sprintf("07%d%07d", g.rng.IntN(10), g.rng.IntN(10_000_000))
}

func (g *Generator) date(y int) string {
	return fmt.Sprintf("%04d-%02d-%02d", y, 1+g.rng.IntN(12), 1+g.rng.IntN(28))
}

// person draws a new person; household members share family, phone, village.
func (g *Generator) person(ri int) Person {
	r := regions[ri]
	p := Person{Given: g.name(r.given, g.tails[ri]), Family: g.name(r.family, g.tails[ri]), Sex: []idcards.Sex{idcards.SexFemale, idcards.SexMale}[g.rng.IntN(2)]}
	if g.rng.Float64() < 0.25 {
		p.Given += " " + g.name(r.given, g.tails[ri])
	}
	y := g.year - int(math.Min(95, g.rng.ExpFloat64()*28))
	switch x := g.rng.Float64(); {
	case x < 0.2:
		p.BirthDate, p.BirthDateEstimated = fmt.Sprintf("%04d-07-01", y), true
	case x < 0.27:
		p.BirthDate, p.BirthDateEstimated = fmt.Sprintf("%04d-01-01", y), g.rng.IntN(2) == 0
	case x < 0.29:
	default:
		p.BirthDate = g.date(y)
	}
	if g.rng.Float64() < 0.7 {
		p.Phone = g.phone()
	}
	if g.rng.Float64() < 0.85 {
		p.Village = villagePool[int(float64(len(villagePool))*math.Pow(g.rng.Float64(), 2))]
	}
	return p
}

// Synthesize returns the originals first, then the duplicates.
func Synthesize(c SynthConfig) []SynthRecord {
	g := NewGenerator(c.Seed)
	out := make([]SynthRecord, 0, c.Originals+int(float64(c.Originals)*c.DupRate)+1)
	for len(out) < c.Originals {
		ri := g.regionIdx()
		p := g.person(ri)
		out = append(out, SynthRecord{Person: p, Of: -1})
		// households: a relative with the same family name, phone, village
		if g.rng.Float64() < 0.15 && len(out) < c.Originals {
			rel := g.relative(p, ri)
			out = append(out, SynthRecord{Person: rel.Person, Of: -1, Relative: rel.Relative})
		}
	}
	n := len(out)
	for i := 0; i < n; i++ {
		if g.rng.Float64() >= c.DupRate {
			continue
		}
		p, muts := g.mutate(out[i].Person, c)
		out = append(out, SynthRecord{Person: p, Of: i, Mutation: muts})
	}
	return out
}

// relative makes a twin (same birth date, family, phone, village, other
// given name) or a parent/child with the same name born 18–40 years apart,
// or a sibling.
func (g *Generator) relative(p Person, ri int) SynthRecord {
	q := p
	switch x := g.rng.Float64(); {
	case x < 0.3: // twin
		q.Given = g.otherGiven(p.Given, ri)
		q.Sex = []idcards.Sex{idcards.SexFemale, idcards.SexMale}[g.rng.IntN(2)]
		return SynthRecord{Person: q, Relative: "twin"}
	case x < 0.5 && len(p.BirthDate) >= 4 && p.BirthDate[:4] < fmt.Sprint(g.year-20): // junior with the parent's name
		y := 0
		fmt.Sscan(p.BirthDate[:4], &y)
		y = min(g.year, y+18+g.rng.IntN(22))
		q.BirthDate, q.BirthDateEstimated = g.date(y), false
		return SynthRecord{Person: q, Relative: "child"}
	default: // sibling
		q.Given = g.otherGiven(p.Given, ri)
		y := 0
		if len(p.BirthDate) >= 4 {
			fmt.Sscan(p.BirthDate[:4], &y)
			q.BirthDate = g.date(min(g.year, y+1+g.rng.IntN(8)))
		}
		q.Sex = []idcards.Sex{idcards.SexFemale, idcards.SexMale}[g.rng.IntN(2)]
		return SynthRecord{Person: q, Relative: "sibling"}
	}
}

// otherGiven draws a given name that is not a spelling of given: parents
// do not give two children one name.
func (g *Generator) otherGiven(given string, ri int) string {
	r := regions[ri]
	for {
		n := g.name(r.given, g.tails[ri])
		if jaroWinkler(Fold(n), Fold(given)) < 0.8 {
			return n
		}
	}
}

// mutate re-registers p with desk errors.
func (g *Generator) mutate(p Person, c SynthConfig) (Person, string) {
	var muts []string
	rng := g.rng
	if rng.Float64() < c.Typo {
		switch rng.IntN(6) {
		case 0, 1, 2:
			p.Given = typo(rng, p.Given)
		case 3, 4:
			p.Family = typo(rng, p.Family)
		default: // both
			p.Given, p.Family = typo(rng, p.Given), typo(rng, p.Family)
			muts = append(muts, "both")
		}
		muts = append(muts, "typo")
	}
	if rng.Float64() < 0.08 {
		if v := variantOf(Fold(firstWord(p.Given))); v != "" {
			p.Given = strings.ToUpper(v[:1]) + v[1:] + strings.TrimPrefix(p.Given, firstWord(p.Given))
			muts = append(muts, "variant")
		}
	}
	if rng.Float64() < 0.06 {
		if w := strings.Fields(p.Given); len(w) > 1 {
			p.Given = w[0] // second given name dropped
		} else {
			p.Given += " " + []string{"Grace", "Mary", "John", "Joseph"}[rng.IntN(4)]
		}
		muts = append(muts, "given-words")
	}
	if rng.Float64() < c.Swap {
		p.Given, p.Family = p.Family, p.Given
		muts = append(muts, "swapped")
	}
	switch x := rng.Float64(); {
	case x < c.Estimate && p.BirthDate != "":
		y := 0
		fmt.Sscan(p.BirthDate[:4], &y)
		age := g.year - y
		tol := Tolerance(age)
		y = min(g.year, y+rng.IntN(2*tol+1)-tol)
		md := "07-01"
		if rng.IntN(3) == 0 {
			md = "01-01"
		}
		p.BirthDate, p.BirthDateEstimated = fmt.Sprintf("%04d-%s", y, md), rng.IntN(5) > 0
		muts = append(muts, "age")
	case x < c.Estimate+0.04 && len(p.BirthDate) == 10 && !p.BirthDateEstimated && p.BirthDate[8:] <= "12":
		p.BirthDate = p.BirthDate[:5] + p.BirthDate[8:10] + "-" + p.BirthDate[5:7]
		muts = append(muts, "dmswap")
	case x < c.Estimate+0.07 && len(p.BirthDate) == 10:
		y := 0
		fmt.Sscan(p.BirthDate[:4], &y)
		d := []int{-1, 1}[rng.IntN(2)]
		if y+d > g.year {
			d = -1
		}
		p.BirthDate = fmt.Sprintf("%04d%s", y+d, p.BirthDate[4:])
		muts = append(muts, "year")
	case x < c.Estimate+0.085:
		p.BirthDate, p.BirthDateEstimated = "", false
		muts = append(muts, "nodob")
	}
	if rng.Float64() < c.PhoneChange {
		if rng.IntN(2) == 0 {
			p.Phone = ""
		} else {
			p.Phone = g.phone()
		}
		muts = append(muts, "phone")
	} else if p.Phone != "" && rng.IntN(4) == 0 {
		p.Phone = "+256 " + p.Phone[1:4] + " " + p.Phone[4:] // international format
	}
	if rng.Float64() < c.VillageDrop {
		p.Village = ""
		muts = append(muts, "village")
	}
	if rng.Float64() < c.DropAccents {
		p.Given, p.Family = stripAccents(p.Given), stripAccents(p.Family)
	}
	if rng.Float64() < 0.03 {
		p.Sex = idcards.SexUnknown
	}
	return p, strings.Join(muts, "+")
}

func firstWord(s string) string {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}

// variantOf returns another spelling of name from BuiltinVariants, or "".
func variantOf(name string) string {
	for _, g := range BuiltinVariants {
		for i, n := range g {
			if n == name {
				return g[(i+1)%len(g)]
			}
		}
	}
	return ""
}

// Queries draws n queries against a registry made by Synthesize (recs):
// half returning patients (a registered record re-entered with desk
// errors), half new people, a tenth of whom are a twin, parent/child or
// sibling of someone registered. want[i] is the index of the registered
// record, or -1.
func Queries(seed uint64, recs []SynthRecord, n int) (qs []Person, want []int) {
	g := NewGenerator(seed)
	c := DefaultSynth(seed, 0)
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			j := g.rng.IntN(len(recs))
			p, _ := g.mutate(recs[j].Person, c)
			qs, want = append(qs, p), append(want, j)
			continue
		}
		if g.rng.Float64() < 0.1 {
			j := g.rng.IntN(len(recs))
			ri := 0
			rel := g.relative(recs[j].Person, ri)
			qs, want = append(qs, rel.Person), append(want, -1)
			continue
		}
		qs, want = append(qs, g.person(g.regionIdx())), append(want, -1)
	}
	return qs, want
}

// SlipQueries are n returning patients (want: their record) re-entered
// with a slip in both names, the age estimated within the tolerance and
// no phone: the hardest case for blocking, where the phonetic keys of both
// names may change ("Ajali Nrir" for "Anjali Nair"). For the benchmark.
func SlipQueries(seed uint64, recs []SynthRecord, n int) (qs []Person, want []int) {
	g := NewGenerator(seed)
	for len(qs) < n {
		j := g.rng.IntN(len(recs))
		p := recs[j].Person
		if len([]rune(p.Given)) < 3 || len([]rune(p.Family)) < 3 || len(p.BirthDate) < 4 {
			continue
		}
		p.Given, p.Family = typo(g.rng, p.Given), typo(g.rng, p.Family)
		y := 0
		fmt.Sscan(p.BirthDate[:4], &y)
		tol := Tolerance(g.year - y)
		y = min(g.year, y+g.rng.IntN(2*tol+1)-tol)
		p.BirthDate, p.BirthDateEstimated, p.Phone = fmt.Sprintf("%04d-07-01", y), true, ""
		qs, want = append(qs, p), append(want, j)
	}
	return qs, want
}

// AgeQueries are n returning patients (want: their record) whose age the
// desk estimates afresh, as ages are estimated: the error widens with age
// (a standard deviation of half a year under 5, 1.5 years to 18, 3 to 45,
// 4 to 65, 5 beyond), and two adult estimates in five are rounded to a
// multiple of five years. The rest is re-entered as the main queries are
// (names, phone, village). Unlike Mutate's estimates, these are not drawn
// within the matcher's tolerance: they measure it. For the benchmark.
func AgeQueries(seed uint64, recs []SynthRecord, n int) (qs []Person, want []int) {
	g := NewGenerator(seed)
	c := DefaultSynth(seed, 0)
	for len(qs) < n {
		j := g.rng.IntN(len(recs))
		if len(recs[j].Person.BirthDate) < 4 {
			continue
		}
		y := 0
		fmt.Sscan(recs[j].Person.BirthDate[:4], &y)
		p, _ := g.mutate(recs[j].Person, c)
		age := float64(g.year - y)
		sd := 5.0
		switch {
		case age < 5:
			sd = 0.5
		case age < 18:
			sd = 1.5
		case age < 45:
			sd = 3
		case age < 65:
			sd = 4
		}
		est := age + g.rng.NormFloat64()*sd
		if age >= 18 && g.rng.IntN(5) < 2 {
			est = 5 * math.Round(est/5)
		}
		est = max(0, math.Round(est))
		p.BirthDate, p.BirthDateEstimated = fmt.Sprintf("%04d-07-01", g.year-int(est)), true
		qs, want = append(qs, p), append(want, j)
	}
	return qs, want
}

// typo makes one keyboard error: substitution, deletion, insertion,
// transposition or a doubled letter.
func typo(rng *rand.Rand, s string) string {
	r := []rune(s)
	if len(r) < 3 {
		return s
	}
	i := 1 + rng.IntN(len(r)-2)
	letters := []rune("aeiouklmnrst")
	switch rng.IntN(5) {
	case 0:
		r[i] = letters[rng.IntN(len(letters))]
	case 1:
		r = append(r[:i], r[i+1:]...)
	case 2:
		r = append(r[:i], append([]rune{letters[rng.IntN(len(letters))]}, r[i:]...)...)
	case 3:
		r[i], r[i+1] = r[i+1], r[i]
	default:
		r = append(r[:i], append([]rune{r[i]}, r[i:]...)...)
	}
	return string(r)
}

func stripAccents(s string) string {
	f := Fold(s)
	w := strings.Fields(f)
	for i := range w {
		w[i] = strings.ToUpper(w[i][:1]) + w[i][1:]
	}
	return strings.Join(w, " ")
}
