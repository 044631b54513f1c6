package barcode

// Rate is the share of one kind of typing error a scheme detects: Detected
// of Total enumerated cases (see DetectionRates for what a case is).
type Rate struct{ Detected, Total int }

// Share returns Detected/Total, or 0 when nothing was enumerated.
func (r Rate) Share() float64 {
	if r.Total == 0 {
		return 0
	}
	return float64(r.Detected) / float64(r.Total)
}

// Rates are the detection rates of the four common typing errors.
type Rates struct {
	Single   Rate // one character replaced by another: a → b
	Adjacent Rate // neighbours swapped: ab → ba, a ≠ b
	Twin     Rate // a doubled character replaced by another doubled one: aa → bb, a ≠ b
	Jump     Rate // characters one apart swapped: abc → cba, a ≠ c, b any
}

// DetectionRates computes, by exhaustive enumeration, the share of each
// kind of typing error within an n-character payload (the check
// character(s) are not changed) that s's check detects. A scheme with a
// fixed payload length (openmrs-verhoeff) is enumerated at that length
// whatever n is. It returns zero Rates for n < 1 or a scheme not from this
// package.
//
// What is enumerated, exactly: every error position; at each, every interim
// state the check computation can be in just before the error (the one start
// state at position 0, counted as many times as there are states, so every
// position weighs the same); and every assignment of alphabet symbols to the
// error (a → b for all a ≠ b; ab → ba for all a ≠ b; aa → bb for all a ≠ b;
// abc → cba for all a ≠ c and any b). A case is detected when the interim
// state just after the error differs, which is exactly when the check
// differs (see automaton). Counting interim states instead of whole
// payloads gives the same share as enumerating all |alphabet|^n payloads,
// because for every scheme here the interim state is uniformly distributed
// after one random symbol (Damm, ISO 7064 MOD 37-36) or detection does not
// depend on it (the sum- and group-based codes); the tests check this
// against brute force over every payload of short lengths.
//
// Cost is about n × states × |alphabet|³ table lookups for the jump errors:
// under 20 ms for n = 8 on this 2-core machine (BenchmarkDetectionRates).
func DetectionRates(s Scheme, n int) Rates {
	sc, ok := s.(*scheme)
	if !ok || n < 1 {
		return Rates{}
	}
	if sc.payloadLen != 0 {
		n = sc.payloadLen
	}
	m, A, S := sc.m, len(sc.alphabet), sc.m.states
	// trans[pos][state*A+sym]: the step as a table, so the loops below are
	// array lookups only.
	trans := make([][]int32, n)
	for pos := range trans {
		t := make([]int32, S*A)
		for st := 0; st < S; st++ {
			for sym := 0; sym < A; sym++ {
				t[st*A+sym] = int32(m.step(n, pos, st, sym))
			}
		}
		trans[pos] = t
	}
	// states lists the (state, weight) pairs to enumerate at position pos.
	type weighted struct{ st, w int }
	all := make([]weighted, S)
	for st := range all {
		all[st] = weighted{st, 1}
	}
	first := []weighted{{m.start, S}}
	states := func(pos int) []weighted {
		if pos == 0 {
			return first
		}
		return all
	}

	var r Rates
	for pos := 0; pos < n; pos++ {
		t0 := trans[pos]
		for _, sw := range states(pos) {
			row := t0[sw.st*A : sw.st*A+A]
			// Single substitutions.
			for a := 0; a < A; a++ {
				for b := 0; b < A; b++ {
					if a == b {
						continue
					}
					r.Single.Total += sw.w
					if row[a] != row[b] {
						r.Single.Detected += sw.w
					}
				}
			}
			if pos+1 >= n {
				continue
			}
			t1 := trans[pos+1]
			// Adjacent transpositions and twin errors.
			for a := 0; a < A; a++ {
				for b := 0; b < A; b++ {
					if a == b {
						continue
					}
					r.Adjacent.Total += sw.w
					if t1[int(row[a])*A+b] != t1[int(row[b])*A+a] {
						r.Adjacent.Detected += sw.w
					}
					r.Twin.Total += sw.w
					if t1[int(row[a])*A+a] != t1[int(row[b])*A+b] {
						r.Twin.Detected += sw.w
					}
				}
			}
			if pos+2 >= n {
				continue
			}
			t2 := trans[pos+2]
			// Jump transpositions: abc → cba.
			for a := 0; a < A; a++ {
				ra := int(row[a]) * A
				for c := 0; c < A; c++ {
					if a == c {
						continue
					}
					rc := int(row[c]) * A
					for b := 0; b < A; b++ {
						r.Jump.Total += sw.w
						if t2[int(t1[ra+b])*A+c] != t2[int(t1[rc+b])*A+a] {
							r.Jump.Detected += sw.w
						}
					}
				}
			}
		}
	}
	return r
}
