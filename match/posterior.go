package match

import (
	"math"

	"github.com/idcards/idcards"
)

// Posterior turns the pairwise scores of one query's candidates into what
// the desk asks: the probability that candidate i is the person at the
// desk, given every record blocking found for the query.
//
// Under the model the query is a new person with prior 1-ρ, or one given
// registered person with prior ρ/N each (ρ = Model.ReturnRate). Each
// scored record j carries a likelihood ratio LR_j = m/u of its comparison
// (2 to the power of its field weights); a record that shares no blocking
// key with the query disagrees on everything, so its LR is negligible. So
//
//	P(i) = o_i / (1 + o_i + Σ_j≠i o_j·(1 - same(i,j))),   o_j = ρ/((1-ρ)·N) · LR_j
//
// Compared with a pairwise probability (prior ρ/N against everything
// else) this is one bit more confident about a candidate that has no
// rival — "a new person" (1-ρ) is the only other explanation — and
// rightly less confident when a namesake fits almost as well: the
// probability is shared among the records that could each be the person.
//
// same(i, j) is the probability that records i and j are themselves one
// person (a duplicate already in the registry): a rival competes only to
// the extent that it is someone else, or a person registered twice could
// never be found probable. Nil: every other candidate is someone else.
//
// Levels: probable needs the posterior itself at the probable threshold
// (and no guard); possible is given to every record whose odds against
// "a new person" alone reach the possible threshold, so a common name's
// namesakes, none of them likely on its own share, are all listed.
//
// Posterior rewrites Prior, Weight (log2 odds against a new person,
// before rivals), Rivals, Probability, Level and Guard of every result.
func (s *Scorer) Posterior(rs []Result, same func(i, j int) float64) {
	if len(rs) == 0 {
		return
	}
	prior := s.QueryPrior()
	odds := make([]float64, len(rs))
	for i := range rs {
		r := &rs[i]
		r.Weight += prior - r.Prior
		r.Prior = prior
		odds[i] = math.Exp2(r.Weight)
	}
	total := 0.0
	for _, o := range odds {
		total += o
	}
	// Only rivals that can move a probability by more than rounding are
	// worth a record-to-record comparison, and only for a candidate that
	// could reach possible at all (rivals only lower a probability).
	const tiny = 1e-4
	for i := range rs {
		r := &rs[i]
		rel := odds[i] * relativeShare(r) // a relative of the same name (see relativeShare)
		if odds[i]/(1+odds[i]) < s.Thresholds.Possible {
			r.Rivals, r.NearRivals = total-odds[i], 0
			r.Probability = odds[i] / (1 + total + rel)
			s.grade(r)
			continue
		}
		riv, near, best := 0.0, 0, 0.0
		for j := range rs {
			if j == i || odds[j] < tiny*(1+odds[i]) {
				continue
			}
			o := odds[j]
			if same != nil {
				o *= 1 - same(i, j)
			}
			riv += o
			best = max(best, o)
			if o >= odds[i]/16 && o <= odds[i]*16 {
				near++
			}
		}
		r.Rivals = riv
		r.NearRivals = near
		r.Probability = odds[i] / (1 + odds[i] + rel + riv)
		if math.IsInf(odds[i], 1) {
			r.Probability = 1 / (1 + relativeShare(r))
		}
		s.grade(r)
		if r.Level == "" && best <= 16*odds[i] {
			// A record that on its own would be possible stays on the
			// list when namesakes that fit about as well (none more than
			// 4 bits better) share its probability: the person may be any
			// of them, and the clerk should see them all (the evidence
			// names the rivals). One that a far better record outranks
			// drops off; probable needs the posterior itself.
			r.Level = idcards.MatchPossible
		}
	}
}

// QueryPrior is the prior log2 odds that one given registered record is
// the person at the desk rather than a new person: ρ/((1-ρ)·N).
func (s *Scorer) QueryPrior() float64 {
	rho := s.Model.ReturnRate
	return math.Log2(rho / ((1 - rho) * float64(max(s.N, priorFloor))))
}
