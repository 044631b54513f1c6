package barcode

import (
	"fmt"
	"testing"
)

// bruteForce enumerates every payload of length n over s's alphabet and
// every error of each kind inside it, comparing checks computed by Check.
func bruteForce(t testing.TB, s *scheme, n int) Rates {
	A := len(s.alphabet)
	total := 1
	for i := 0; i < n; i++ {
		total *= A
	}
	checks := make([]string, total)
	buf := make([]byte, n)
	digitsOf := func(x int, d []int) {
		for i := n - 1; i >= 0; i-- {
			d[i] = x % A
			x /= A
		}
	}
	index := func(d []int) int {
		x := 0
		for _, v := range d {
			x = x*A + v
		}
		return x
	}
	d := make([]int, n)
	for x := range checks {
		digitsOf(x, d)
		for i, v := range d {
			buf[i] = s.alphabet[v]
		}
		c, err := s.Check(string(buf))
		if err != nil {
			t.Fatal(err)
		}
		checks[x] = c
	}
	var r Rates
	count := func(r *Rate, x int, e []int) {
		r.Total++
		if checks[index(e)] != checks[x] {
			r.Detected++
		}
	}
	e := make([]int, n)
	for x := range checks {
		digitsOf(x, d)
		for i := 0; i < n; i++ {
			for b := 0; b < A; b++ {
				if b == d[i] {
					continue
				}
				copy(e, d)
				e[i] = b
				count(&r.Single, x, e)
			}
			if i+1 < n && d[i] != d[i+1] {
				copy(e, d)
				e[i], e[i+1] = d[i+1], d[i]
				count(&r.Adjacent, x, e)
			}
			if i+1 < n && d[i] == d[i+1] {
				for b := 0; b < A; b++ {
					if b != d[i] {
						copy(e, d)
						e[i], e[i+1] = b, b
						count(&r.Twin, x, e)
					}
				}
			}
			if i+2 < n && d[i] != d[i+2] {
				copy(e, d)
				e[i], e[i+2] = d[i+2], d[i]
				count(&r.Jump, x, e)
			}
		}
	}
	return r
}

// TestDetectionRates_MatchBruteForce: the enumeration over interim states
// gives exactly the share found by trying every error in every payload.
func TestDetectionRates_MatchBruteForce(t *testing.T) {
	schemes := []*scheme{openmrsVerhoeff(3), openmrsVerhoeff(4)}
	for _, s := range All() {
		if s.PayloadLen() == 0 {
			schemes = append(schemes, s.(*scheme))
		}
	}
	for _, s := range schemes {
		lengths := []int{1, 2, 3}
		if s.payloadLen != 0 {
			lengths = []int{s.payloadLen}
		} else if len(s.alphabet) <= 10 {
			lengths = append(lengths, 4)
		}
		for _, n := range lengths {
			t.Run(fmt.Sprintf("%s/%d", s.name, n), func(t *testing.T) {
				got, want := DetectionRates(s, n), bruteForce(t, s, n)
				for _, k := range []struct {
					kind      string
					got, want Rate
				}{{"single", got.Single, want.Single}, {"adjacent", got.Adjacent, want.Adjacent}, {"twin", got.Twin, want.Twin}, {"jump", got.Jump, want.Jump}} {
					if int64(k.got.Detected)*int64(k.want.Total) != int64(k.want.Detected)*int64(k.got.Total) || (k.got.Total == 0) != (k.want.Total == 0) {
						t.Errorf("%s: enumeration %d/%d, brute force %d/%d", k.kind, k.got.Detected, k.got.Total, k.want.Detected, k.want.Total)
					}
				}
			})
		}
	}
}

// TestDetectionRates_Known: figures from the literature, at the CLI's
// default length.
func TestDetectionRates_Known(t *testing.T) {
	exact := func(r Rate, num, den int) bool { return r.Detected*den == r.Total*num && r.Total > 0 }
	all := func(r Rate) bool { return exact(r, 1, 1) }
	for _, tc := range []struct {
		name, scheme string
		ok           func(Rates) bool
	}{
		{"luhn misses only 09<->90 of adjacent pairs", "luhn", func(r Rates) bool { return all(r.Single) && exact(r.Adjacent, 88, 90) }},
		{"luhn misses twins 22/55 33/66 44/77", "luhn", func(r Rates) bool { return exact(r.Twin, 84, 90) }},
		{"luhn never sees jump transpositions", "luhn", func(r Rates) bool { return r.Jump.Detected == 0 && r.Jump.Total > 0 }},
		{"luhn-mod-30 misses only 0Y<->Y0", "luhn-mod-30", func(r Rates) bool { return all(r.Single) && exact(r.Adjacent, 30*29-2, 30*29) }},
		{"luhn-mod-25: odd N, doubling is not a permutation", "luhn-mod-25", func(r Rates) bool { return exact(r.Single, 98, 100) }},
		{"verhoeff", "verhoeff", func(r Rates) bool { return all(r.Single) && all(r.Adjacent) }},
		{"openmrs-verhoeff", "openmrs-verhoeff", func(r Rates) bool { return all(r.Single) && all(r.Adjacent) }},
		{"damm", "damm", func(r Rates) bool { return all(r.Single) && all(r.Adjacent) }},
		{"mod 11-2 catches all four", "iso7064-mod-11-2", func(r Rates) bool { return all(r.Single) && all(r.Adjacent) && all(r.Twin) && all(r.Jump) }},
		{"mod 97-10 catches all four", "iso7064-mod-97-10", func(r Rates) bool { return all(r.Single) && all(r.Adjacent) && all(r.Twin) && all(r.Jump) }},
		{"mod 37-36 singles", "iso7064-mod-37-36", func(r Rates) bool { return all(r.Single) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := DetectionRates(mustLookup(t, tc.scheme), 8)
			if !tc.ok(r) {
				t.Errorf("%s: %+v", tc.scheme, r)
			}
		})
	}
	for name := range detectsEverySingle {
		if r := DetectionRates(mustLookup(t, name), 8).Single; !all(r) {
			t.Errorf("%s is listed as detecting every single substitution: %+v", name, r)
		}
	}
}

func TestDetectionRates_Edges(t *testing.T) {
	if r := DetectionRates(mustLookup(t, "luhn"), 0); r != (Rates{}) {
		t.Errorf("n=0: %+v", r)
	}
	r := DetectionRates(mustLookup(t, "luhn"), 1)
	if r.Single.Total == 0 || r.Adjacent.Total != 0 || r.Jump.Total != 0 {
		t.Errorf("n=1: %+v", r)
	}
	if r := DetectionRates(mustLookup(t, "openmrs-verhoeff"), 3); r.Jump.Total == 0 {
		t.Errorf("openmrs-verhoeff is always enumerated at 8 digits: %+v", r)
	}
	if (Rate{}).Share() != 0 || (Rate{1, 4}).Share() != 0.25 {
		t.Error("Share")
	}
}

// BenchmarkDetectionRates: what `idcards mrn schemes` costs per scheme at
// the default length.
func BenchmarkDetectionRates(b *testing.B) {
	for _, s := range All() {
		b.Run(s.Name(), func(b *testing.B) {
			for b.Loop() {
				DetectionRates(s, 8)
			}
		})
	}
}

func BenchmarkCheck(b *testing.B) {
	for _, s := range All() {
		p := "KLA00001"
		if s.Alphabet() == digits {
			p = "04200001"
		}
		if s.Name() == "luhn-mod-25" {
			p = "KLA33333"
		}
		b.Run(s.Name(), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Check(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
