package match

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
)

// Pattern packs one pair's levels (3 bits per field, 7 = missing).
type Pattern uint32

// PatternOf packs a comparison.
func PatternOf(c Comparison) Pattern {
	var p Pattern
	for f := range NumFields {
		l := c.L[f]
		if l == Null {
			l = 7
		}
		p |= Pattern(l) << (3 * f)
	}
	return p
}

func (p Pattern) level(f int) int8 {
	l := int8(p>>(3*f)) & 7
	if l == 7 {
		return Null
	}
	return l
}

// Blocks groups records by every index key, each block sorted by birth
// year, for the whole-registry scan and for training. It returns, per
// block, the indices of its records. Keys are hashed (64-bit FNV-1a) to
// keep a million records' eight million entries in 16 bytes each; a
// collision only merges two blocks.
func Blocks(recs []Record) [][]int32 {
	type entry struct {
		h   uint64
		y   int32
		idx int32
	}
	es := make([]entry, 0, len(recs)*8)
	for i := range recs {
		for _, k := range BlockKeys(&recs[i]) {
			es = append(es, entry{hashKey(k), int32(recs[i].Y), int32(i)})
		}
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].h != es[j].h {
			return es[i].h < es[j].h
		}
		if es[i].y != es[j].y {
			return es[i].y < es[j].y
		}
		return es[i].idx < es[j].idx
	})
	var out [][]int32
	for i := 0; i < len(es); {
		j := i
		for j < len(es) && es[j].h == es[i].h {
			j++
		}
		if j-i > 1 {
			b := make([]int32, j-i)
			for x := i; x < j; x++ {
				b[x-i] = es[x].idx
			}
			out = append(out, b)
		}
		i = j
	}
	return out
}

// BlockKeys are the blocks a record joins in the whole-registry scan and
// training: its index keys, but a further name word's pair (m:) joins the
// records of that n: pair, as the desk's lookups read them
// (QueryLookups). Duplicates removed ("Grace Grace" holds one pair twice).
func BlockKeys(r *Record) []string {
	ks := IndexKeys(r)
	for i, k := range ks {
		if strings.HasPrefix(k, "m:") {
			ks[i] = "n:" + k[2:]
		}
	}
	return dedupe(ks)
}

func hashKey(k string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(k); i++ {
		h ^= uint64(k[i])
		h *= 1099511628211
	}
	return h
}

// Window is how many following records (in birth-year order) each record
// of a block is paired with: the scan's equivalent of a lookup's cap.
const Window = 30

// EachBlockedPair calls fn for every pair within Window of each other in a
// block, from workers goroutines; a pair in several blocks comes several
// times. fn must be safe for concurrent use. done, if not nil, is called
// after each block.
func EachBlockedPair(blocks [][]int32, workers int, fn func(worker int, a, b int32), done func()) {
	var wg sync.WaitGroup
	ch := make(chan []int32, 256)
	for w := range max(1, workers) {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := range ch {
				for i := range b {
					for j := i + 1; j < len(b) && j <= i+Window; j++ {
						fn(w, b[i], b[j])
					}
				}
				if done != nil {
					done()
				}
			}
		}(w)
	}
	for _, b := range blocks {
		ch <- b
	}
	close(ch)
	wg.Wait()
}

// EstimateU measures u: level shares among random pairs (different people
// almost surely), add-one smoothed.
func EstimateU(recs []Record, pairs int, year int, rng *rand.Rand) [NumFields][]float64 {
	var cnt [NumFields][]float64
	for f := range NumFields {
		cnt[f] = make([]float64, len(LevelNames[f]))
		for l := range cnt[f] {
			cnt[f][l] = 1
		}
	}
	if len(recs) < 2 {
		return normalise(cnt)
	}
	for range pairs {
		a, b := rng.IntN(len(recs)), rng.IntN(len(recs))
		if a == b {
			continue
		}
		c := Compare(&recs[a], &recs[b], year)
		for f := range NumFields {
			if c.L[f] != Null {
				cnt[f][c.L[f]]++
			}
		}
	}
	return normalise(cnt)
}

func normalise(c [NumFields][]float64) [NumFields][]float64 {
	for f := range NumFields {
		t := 0.0
		for _, x := range c[f] {
			t += x
		}
		for l := range c[f] {
			c[f][l] /= t
		}
	}
	return c
}

// RelativePrior is what a household relative (a twin, a sibling, a parent
// or child, often of the same name) looks like against a patient, level
// by level: mostly the same family name, phone and village, another given
// name or another birth date. EM's third class starts from it.
func RelativePrior() [NumFields][]float64 {
	return [NumFields][]float64{
		{0.2, 0.005, 0.01, 0.03, 0.05, 0.705},    // given: juniors share it, siblings do not
		{0.9, 0.005, 0.01, 0.02, 0.015, 0.05},    // family
		{0.25, 0.01, 0.02, 0.07, 0.1, 0.05, 0.5}, // birth: twins share it
		{0.5, 0.5},                               // sex
		{0.7, 0.3},                               // phone
		{0.85, 0.01, 0.14},                       // village
	}
}

// EM estimates m by expectation–maximisation over the level patterns of
// blocked pairs (counts), with u fixed. Blocked pairs hold three kinds:
// the same person (m), a household relative (r, starting from
// RelativePrior, estimated too) and strangers (u). Without the relatives'
// class EM takes them for duplicates — twins agree on everything but the
// given name — and learns that duplicates often have "another given name"
// (measured on the generator: m = 0.64; with the class, 0.009). Fields in
// fixed keep the prior's m and are left out of the likelihood (a blocking
// rule forces them to agree, so they tell nothing). The priors act as
// pseudoPairs pseudo-observations, so a registry with few duplicates stays
// near them. It returns m and the share of pairs judged the same person.
//
// The share of duplicates among the pairs is learnt but never above
// lambda, the caller's bound: blocked pairs of a big registry are mostly
// people who share a common name and an age, a cluster EM otherwise
// mistakes for duplicates (measured: it judged 450,000 of 1.5 million
// pairs duplicates in a registry of 100,000 with 3,000). The relatives'
// share is learnt, at most 0.9.
func EM(counts map[Pattern]float64, prior [NumFields][]float64, u [NumFields][]float64, fixed [NumFields]bool, pseudoPairs, lambda float64, iters int) ([NumFields][]float64, float64) {
	var m, r [NumFields][]float64
	rPrior := RelativePrior()
	for f := range NumFields {
		m[f] = append([]float64(nil), prior[f]...)
		r[f] = append([]float64(nil), rPrior[f]...)
	}
	total := 0.0
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return m, 0
	}
	lambdaR, lambdaM := lambda, lambda/10
	for range iters {
		var accM, accR [NumFields][]float64
		var seenM, seenR [NumFields]float64
		for f := range NumFields {
			accM[f] = make([]float64, len(m[f]))
			accR[f] = make([]float64, len(r[f]))
		}
		relatives, same := 0.0, 0.0
		for p, c := range counts {
			pm, pr, _ := posteriors(p, m, r, u, fixed, lambdaM, lambdaR)
			wm, wr := c*pm, c*pr
			relatives += wr
			same += wm
			for f := range int(NumFields) {
				if l := p.level(f); l != Null {
					accM[f][l] += wm
					seenM[f] += wm
					accR[f][l] += wr
					seenR[f] += wr
				}
			}
		}
		lambdaR = math.Min(0.9, math.Max(1e-6, relatives/total))
		lambdaM = math.Min(lambda, math.Max(1e-6, same/total))
		for f := range NumFields {
			if fixed[f] {
				continue
			}
			for l := range m[f] {
				m[f][l] = math.Max(1e-4, (accM[f][l]+pseudoPairs*prior[f][l])/(seenM[f]+pseudoPairs))
				r[f][l] = math.Max(1e-4, (accR[f][l]+pseudoPairs*rPrior[f][l])/(seenR[f]+pseudoPairs))
			}
		}
	}
	return m, lastShare(counts, m, r, u, fixed, lambdaM, lambdaR)
}

// posteriors returns, for one pattern, the probability of each class:
// the same person, a relative, strangers.
func posteriors(p Pattern, m, r, u [NumFields][]float64, fixed [NumFields]bool, lambda, lambdaR float64) (float64, float64, float64) {
	lm, lr, lu := math.Log(lambda), math.Log(lambdaR), math.Log(math.Max(1e-9, 1-lambda-lambdaR))
	for f := range int(NumFields) {
		// A blocking rule's own fields agree by construction: they say
		// nothing about which pairs match.
		if l := p.level(f); l != Null && !fixed[f] {
			lm += math.Log(m[f][l])
			lr += math.Log(r[f][l])
			lu += math.Log(u[f][l])
		}
	}
	top := math.Max(lm, math.Max(lr, lu))
	em, er, eu := math.Exp(lm-top), math.Exp(lr-top), math.Exp(lu-top)
	t := em + er + eu
	return em / t, er / t, eu / t
}

// lastShare is the share of pairs the final model judges the same person.
func lastShare(counts map[Pattern]float64, m, r, u [NumFields][]float64, fixed [NumFields]bool, lambda, lambdaR float64) float64 {
	matched, total := 0.0, 0.0
	for p, c := range counts {
		pm, _, _ := posteriors(p, m, r, u, fixed, lambda, lambdaR)
		matched += c * pm
		total += c
	}
	if total == 0 {
		return 0
	}
	return matched / total
}
