package match

import (
	"slices"
	"sort"
	"strings"
)

// Blocking: a registry cannot score a query against a million records, so
// it only scores records that share a blocking key with it. Each record is
// indexed under several keys (passes); a true duplicate is lost only when
// it shares none of them. Every key is stored with the record's birth
// year, and a lookup reads the records nearest the query's year first, at
// most Cap of them per key, so a very common name costs the same as a rare
// one. Passes:
//
//	n:  the phonetic keys of the first given and first family name, as a
//	    sorted pair (so swapped names share it), any birth year
//	m:  each further word of one name with the other's first, as n:; a
//	    query reads it under its n: pair, and n: under its m: pairs
//	    (nameKeys), both as Plain lookups within both ages' tolerances
//	    added: one index read each, for the few queries it helps
//	t:  the phonetic key of each name word (given or family) with sex,
//	    birth year within the tolerance for the age
//	i:  the initials of given and family name (sorted) with sex, birth
//	    year within tolerance: both names mistyped. The whole-registry
//	    scan and EM's blocked pairs only (ScanOnly): at the desk e: finds
//	    what it found
//	w:  each name word's phonetic key with the other name's initial and
//	    sex, birth year within both ages' tolerances added (an estimate
//	    beyond tolerance: the query's age, or the record's, estimated)
//	d:  the exact birth date (also looked up day/month swapped), for
//	    dates that are not estimates
//	p:  the phone's last nine digits
//	v:  the village with sex, birth year within tolerance
//	e:  the given name's first four letters and each way of deleting one
//	    of them, with the family initial and sex, birth year within
//	    tolerance: both names mistyped, where i:'s block is too big
//
// A query without a birth year also reads n:'s block for the records of
// its village (villageLookups).
type Pass struct {
	Prefix string
	// Cap is how many records one lookup may return per direction
	// (older and younger than the query's year).
	Cap int
	// AnyYear: the lookup is not limited to the tolerance window (but
	// still reads the nearest years first).
	AnyYear bool
	// Plain: the lookup reads the window in index order, at most Cap
	// records, not the nearest years first in each direction, and not the
	// records of unknown sex or birth year: one index read instead of
	// six, for a pass of many small blocks whose records the other passes
	// mostly offer already (e:).
	Plain bool
	// Far: the window is both ages' tolerances added (the estimate
	// beyond tolerance level), not the tolerance.
	Far bool
	// ScanOnly: the whole-registry scan (and EM's pairs) block on these
	// keys, but the desk's check neither looks them up nor stores them
	// in the registry's index (DeskKey).
	ScanOnly bool
}

// IndexVersion changes whenever IndexKeys or the term-frequency values
// change, so registries re-index
// (it is part of Variants.Fingerprint, stored with the index).
const IndexVersion = 7 // 4: word term frequencies; 5: full-name frequencies (match_indexed.tf); 6: the e: pass; 7: m:, further name words

// Passes are the blocking passes, in order. t: reads 8 each way: at 30 it
// offered half of a query's records at a million patients and was never
// the only pass to offer the right one, in the benchmark's main queries
// nor in its slips in both names (MATCH_BENCH_PASSES figures); a common
// word's block is far larger than any such cap, and a rare word's — a
// married woman's given name after her family name changed — smaller.
//
// i: is not looked up at the desk: since e: it offered the right record
// alone to no returning patient of the benchmark's main queries or its
// ages estimated afresh, at 100,000 or 1,000,000 patients, nor on the
// independent check (bench/heldout, 20,000 and 100,000, two seeds), and
// to 3 in 1,000 of the slips in both names at 1,000,000 — for 26 of the
// 254 records a query read there.
var Passes = []Pass{
	{Prefix: "n:", Cap: 50, AnyYear: true},
	{Prefix: "m:", Cap: 20, Plain: true, Far: true},
	{Prefix: "t:", Cap: 8},
	{Prefix: "i:", Cap: 15, ScanOnly: true},
	{Prefix: "w:", Cap: 30, Far: true},
	{Prefix: "d:", Cap: 60, AnyYear: true},
	{Prefix: "p:", Cap: 30, AnyYear: true},
	{Prefix: "v:", Cap: 12},
	{Prefix: "e:", Cap: 20, Plain: true},
}

// nameWords is how many words of each name the name keys take: the first
// word of one name is paired with each of the other name's first
// nameWords words (nameKeys).
const nameWords = 3

// nameKeys are a record's name keys: first n:, the first given and first
// family word's phonetic keys as a sorted pair (so swapped names share
// it); then m:, each further word of one name with the first word of the
// other. A name written with a word more or less in front ("Juliet Grace"
// for "Grace", the Christian name first) shares no n: key with its record,
// and the name words' own blocks (t:, w:) of a common word are longer than
// their caps: a query also reads n: under its own m: pairs and m: under
// its n: pair (QueryLookups). The further pairs are a block of their own,
// m:, so they do not crowd the n: block that most queries read.
func nameKeys(r *Record, sex string) []string {
	gk, fk := r.GivenKeys, r.FamilyKeys
	if len(gk) == 0 && len(fk) == 0 {
		return nil
	}
	pair := func(a, b string) string {
		if a > b {
			a, b = b, a
		}
		return a + "|" + b + "|" + sex
	}
	out := []string{"n:" + pair(first(gk), first(fk))}
	for i := 1; i < min(len(gk), nameWords); i++ {
		out = append(out, "m:"+pair(gk[i], first(fk)))
	}
	for i := 1; i < min(len(fk), nameWords); i++ {
		out = append(out, "m:"+pair(first(gk), fk[i]))
	}
	return out
}

// DeskKey reports whether the registry's index stores key k for the
// desk's check (not a ScanOnly pass's).
func DeskKey(k string) bool { return !passOf(k).ScanOnly }

// IndexKeys are the keys a record is stored under (each with its birth
// year, 0 if unknown). Duplicates removed.
func IndexKeys(r *Record) []string {
	var ks []string
	sex := "u"
	if r.Sex != 0 {
		sex = string(r.Sex)
	}
	ks = append(ks, nameKeys(r, sex)...)
	for _, k := range r.GivenKeys {
		ks = append(ks, "t:"+k+"|"+sex)
	}
	for _, k := range r.FamilyKeys {
		ks = append(ks, "t:"+k+"|"+sex)
	}
	// Each name word's key with the other name's initial: a common name
	// ("Amina") splits into blocks small enough to read whole within the
	// tolerance, and a typo anywhere but that initial still matches.
	gi, fi := initial(r.Given), initial(r.Family)
	for _, k := range r.GivenKeys {
		if fi != "" {
			ks = append(ks, "w:"+k+"|"+fi+"|"+sex)
		}
	}
	for _, k := range r.FamilyKeys {
		if gi != "" {
			ks = append(ks, "w:"+k+"|"+gi+"|"+sex)
		}
	}
	// The given name's first four letters and every way of deleting one
	// of them, with the family name's initial: two names one slip apart
	// in those letters (an inserted, dropped or changed letter) share a
	// key however the slip changes their sound, so a query with both
	// names mistyped ("Ajali Nrir" for "Anjali Nair") still meets its
	// record, where the phonetic keys of both names differ.
	if fi != "" {
		for _, d := range deletions(firstWord(r.Given), editPrefix) {
			ks = append(ks, "e:"+d+"|"+fi+"|"+sex)
		}
	}
	if gi != "" && fi != "" {
		if gi > fi {
			gi, fi = fi, gi
		}
		ks = append(ks, "i:"+gi+fi+"|"+sex)
	}
	if r.Y != 0 && r.M != 0 && r.D != 0 && !r.Est {
		ks = append(ks, "d:"+birthValue(r)+"|"+sex)
	}
	if r.Phone != "" {
		ks = append(ks, "p:"+r.Phone)
	}
	if r.Village != "" {
		ks = append(ks, "v:"+r.Village+"|"+sex)
	}
	return dedupe(ks)
}

// Lookup is one key to read for a query: records under K with birth year
// in [Lo, Hi] (plus those without a year), nearest Near first.
type Lookup struct {
	K      string
	Near   int
	Lo, Hi int // 0, 0: any year
	Cap    int
	Plain  bool // see Pass.Plain
	// Also, when set, keeps only the records also stored under this key
	// (the query's village), reading at most Scan records of K for them:
	// a query without a birth year (see villageLookups).
	Also string
	Scan int
}

// A query without a birth year cannot read the records of a name nearest
// its year: each lookup reads its block in index order, the oldest
// first, and a common name's block is longer than any cap (the
// independent check's registry of 100,000 holds 126 women named
// Mwanaisha Hamisi; the desk offered none of them to a query without a
// date, not even the one of the query's village). With a village, the
// names' block (n:) is also read for the records of that village alone:
// the one thing left that tells namesakes apart. At most villageScan
// records of the block are read for them, villageCap kept. The records of
// unknown sex and the name words' blocks (t:) are not: at a million
// patients those reads took the slowest queries from 9 to 15 ms, for one
// returning patient in 1,000 on the independent check.
const (
	villageScan = 2000
	villageCap  = 20
)

// villageLookups are the extra lookups of a query without a birth year
// (see villageScan): its n: key (primary) within its village.
func villageLookups(q *Record, primary string) []Lookup {
	if q.Y != 0 || q.Village == "" || primary == "" {
		return nil
	}
	sex := primary[len(primary)-1:]
	return []Lookup{{K: primary, Cap: villageCap, Also: "v:" + q.Village + "|" + sex, Scan: villageScan}}
}

// QueryLookups are the lookups for a query record. year is the current
// year (for the tolerance of estimated ages).
func QueryLookups(q *Record, year int) []Lookup {
	tol := 1
	if q.Y != 0 {
		tol = max(1, Tolerance(year-q.Y))
	}
	keys := IndexKeys(q)
	var primary string // the query's n: key (its further pairs are m:)
	for _, k := range keys {
		if strings.HasPrefix(k, "n:") {
			primary = k
		}
	}
	if primary != "" {
		// The query's further pairs are read as records' n: pairs, and
		// its n: pair as records' further pairs (m:).
		for i, k := range keys {
			if strings.HasPrefix(k, "m:") {
				keys[i] = "n:" + k[2:]
			}
		}
		keys = append(keys, "m:"+primary[2:])
	}
	var out []Lookup
	for _, k := range dedupe(keys) {
		p := passOf(k)
		if p.Prefix == "n:" && k != primary {
			p = passOf("m:") // a further pair: read as m: is
		}
		if p.ScanOnly {
			continue
		}
		l := Lookup{K: k, Near: q.Y, Cap: p.Cap, Plain: p.Plain}
		if !p.AnyYear && q.Y != 0 {
			l.Lo, l.Hi = q.Y-tol, q.Y+tol
			if p.Far {
				// An estimated age may miss the true one by both ages'
				// tolerances (BirthEstFar): the older record's is the
				// wider. The query's date may be written and the
				// record's the estimate: an age estimated years ago at
				// another desk misses a birth certificate as often.
				l.Lo, l.Hi = q.Y-tol-max(1, Tolerance(year-q.Y+tol)), q.Y+2*tol
			}
		}
		out = append(out, l)
	}
	out = append(out, villageLookups(q, primary)...)
	// The swapped birth date, and the same date under an unknown sex for
	// sexed keys is not needed: sex is part of t:, i:, v: only.
	if q.Y != 0 && q.M != 0 && q.D != 0 && q.M != q.D && q.D <= 12 && !q.Est {
		sw := *q
		sw.M, sw.D = q.D, q.M
		sex := "u"
		if q.Sex != 0 {
			sex = string(q.Sex)
		}
		out = append(out, Lookup{K: "d:" + birthValue(&sw) + "|" + sex, Near: q.Y, Cap: passOf("d:").Cap})
	}
	// Sex is part of every key but the phone's: a query of unknown sex
	// also reads the F and M keys, and any query the keys of records of
	// unknown sex.
	base := len(out)
	for _, l := range out[:base] {
		n := len(l.K)
		if n < 2 || l.K[n-2] != '|' {
			continue
		}
		var others []string
		switch l.K[n-1] {
		case 'u':
			others = []string{"F", "M"}
		case 'F', 'M', 'O':
			others = []string{"u"}
		}
		for _, s := range others {
			if (l.Plain || l.Also != "") && s == "u" {
				continue
			}
			m := l
			m.K = l.K[:n-1] + s
			if m.Also != "" {
				m.Also = m.Also[:len(m.Also)-1] + s
			}
			if s == "u" {
				m.Cap = max(1, l.Cap/3) // few records lack a sex
			}
			out = append(out, m)
		}
		// A sex recorded wrong (a clerk's slip, one record in a hundred
		// or two) would otherwise share no key but the phone's: the names'
		// and the exact date's blocks of the other sex are read too, a few
		// records nearest the query's year.
		if o := otherSex(l.K[n-1]); o != 0 && l.Also == "" && (strings.HasPrefix(l.K, "n:") || strings.HasPrefix(l.K, "d:")) {
			m := l
			m.K = l.K[:n-1] + string(o)
			m.Cap = wrongSexCap
			out = append(out, m)
		}
	}
	return out
}

// wrongSexCap is how many records of the other sex a names' or exact
// date's lookup reads, each way.
const wrongSexCap = 4

func otherSex(c byte) byte {
	switch c {
	case 'F':
		return 'M'
	case 'M':
		return 'F'
	}
	return 0
}

func passOf(k string) Pass {
	for _, p := range Passes {
		if len(k) >= 2 && k[:2] == p.Prefix {
			return p
		}
	}
	return Pass{Prefix: k[:2], Cap: 10}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// editPrefix is how many leading letters of the given name the e: pass
// compares.
const editPrefix = 4

// deletions is the first n letters of w and each string made by deleting
// one of them (duplicates removed): two words within one edit in those
// letters share one (the deletion neighbourhood of SymSpell).
func deletions(w string, n int) []string {
	r := []rune(w)
	if len(r) > n {
		r = r[:n]
	}
	if len(r) < 2 {
		return nil // an initial: the i: pass
	}
	out := []string{string(r)}
	for i := range r {
		d := string(r[:i]) + string(r[i+1:])
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

func initial(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

func initialOld(s string) string {
	if s == "" {
		return ""
	}
	return s[:1]
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
