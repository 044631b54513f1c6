package match

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/idcards/idcards"
)

// Synthetic data for measuring duplicate detection: realistic names from
// several regions, then re-registrations of some of them with the errors
// desks make, at known rates. Seeded, so every run yields the same set.

var regions = []struct {
	given, family []string
}{
	{ // East Africa (Uganda, Kenya)
		[]string{"Amina", "Okello", "Nakato", "Mugisha", "Achieng", "Kato", "Wanjiru", "Nambi", "Otieno", "Auma", "Babirye", "Kiprop", "Atieno", "Ssemakula", "Nalubega", "Byaruhanga", "Akello", "Wafula", "Chebet", "Kamau"},
		[]string{"Nakato", "Ochieng", "Mukasa", "Otieno", "Kiprop", "Ssali", "Atim", "Namusoke", "Tumusiime", "Wekesa", "Njoroge", "Kiggundu", "Odhiambo", "Nabirye", "Muwanga", "Kariuki", "Opio", "Lubega", "Achan", "Kyomuhendo"},
	},
	{ // West Africa
		[]string{"Aminata", "Moussa", "Fatoumata", "Ibrahima", "Adjoa", "Kwame", "Chiamaka", "Oluwaseun", "Abdoulaye", "Mariama", "Kofi", "Ngozi"},
		[]string{"Diallo", "Traoré", "Ndiaye", "Mensah", "Okafor", "Adeyemi", "Koné", "Ouédraogo", "Boateng", "Sow", "Camara", "Eze"},
	},
	{ // Latin America / Iberia
		[]string{"José", "María", "Juan", "Lucía", "Andrés", "Sofía", "Joaquín", "Inés", "Raúl", "Camila"},
		[]string{"García", "Hernández", "Núñez", "Muñoz", "Rodríguez", "Pérez", "Gómez", "Díaz", "Sánchez", "Jiménez"},
	},
	{ // South Asia
		[]string{"Priya", "Rahul", "Ananya", "Mohammed", "Fatima", "Arjun", "Lakshmi", "Imran", "Sunita", "Vikram"},
		[]string{"Sharma", "Patel", "Khan", "Singh", "Reddy", "Hossain", "Iyer", "Chowdhury", "Nair", "Gupta"},
	},
}

var villages = []string{"Kireka", "Bweyogerere", "Namugongo", "Kyaliwajjala", "Seeta", "Mukono", "Kasangati", "Gayaza", "Wakiso", "Nansana", "Matugga", "Kira"}

// SynthRecord is one generated registration. Of is the index of the
// record it duplicates, or -1 for an original.
type SynthRecord struct {
	Person
	Of       int
	Mutation string // what was changed, for duplicates
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
	return SynthConfig{Seed: seed, Originals: originals, DupRate: 0.1, Typo: 0.5, Swap: 0.2, Estimate: 0.4, PhoneChange: 0.4, VillageDrop: 0.2, DropAccents: 0.5}
}

// Synthesize returns the originals first, then the duplicates.
func Synthesize(c SynthConfig) []SynthRecord {
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	out := make([]SynthRecord, 0, c.Originals+int(float64(c.Originals)*c.DupRate)+1)
	for i := 0; i < c.Originals; i++ {
		reg := regions[rng.IntN(len(regions))]
		p := Person{
			Given:  reg.given[rng.IntN(len(reg.given))],
			Family: reg.family[rng.IntN(len(reg.family))],
			Sex:    []idcards.Sex{idcards.SexFemale, idcards.SexMale}[rng.IntN(2)],
		}
		if rng.Float64() < 0.3 { // a second given name
			p.Given += " " + reg.given[rng.IntN(len(reg.given))]
		}
		y := 1940 + rng.IntN(85)
		if rng.Float64() < 0.3 {
			p.BirthDate, p.BirthDateEstimated = fmt.Sprintf("%04d-07-01", y), true
		} else {
			p.BirthDate = fmt.Sprintf("%04d-%02d-%02d", y, 1+rng.IntN(12), 1+rng.IntN(28))
		}
		if rng.Float64() < 0.7 {
			p.Phone = fmt.Sprintf("07%08d", rng.IntN(100_000_000))
		}
		if rng.Float64() < 0.8 {
			p.Village = villages[rng.IntN(len(villages))]
		}
		out = append(out, SynthRecord{Person: p, Of: -1})
	}
	for i := 0; i < c.Originals; i++ {
		if rng.Float64() >= c.DupRate {
			continue
		}
		p := out[i].Person
		var muts []string
		if rng.Float64() < c.Typo {
			if rng.IntN(2) == 0 {
				p.Given = typo(rng, p.Given)
			} else {
				p.Family = typo(rng, p.Family)
			}
			muts = append(muts, "typo")
		}
		if rng.Float64() < c.Swap {
			p.Given, p.Family = p.Family, p.Given
			muts = append(muts, "swapped")
		}
		if rng.Float64() < c.Estimate {
			y := 0
			fmt.Sscan(p.BirthDate[:4], &y)
			y += rng.IntN(5) - 2
			p.BirthDate, p.BirthDateEstimated = fmt.Sprintf("%04d-07-01", y), true
			muts = append(muts, "age")
		}
		if rng.Float64() < c.PhoneChange {
			if rng.IntN(2) == 0 {
				p.Phone = ""
			} else {
				p.Phone = fmt.Sprintf("07%08d", rng.IntN(100_000_000))
			}
			muts = append(muts, "phone")
		}
		if rng.Float64() < c.VillageDrop {
			p.Village = ""
			muts = append(muts, "village")
		}
		if rng.Float64() < c.DropAccents {
			p.Given, p.Family = stripAccents(p.Given), stripAccents(p.Family)
		}
		out = append(out, SynthRecord{Person: p, Of: i, Mutation: strings.Join(muts, "+")})
	}
	return out
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
	// Fold lower-cases; restore a capital first letter of each word.
	w := strings.Fields(f)
	for i := range w {
		w[i] = strings.ToUpper(w[i][:1]) + w[i][1:]
	}
	return strings.Join(w, " ")
}
