package openmrstest

import (
	"sort"
	"strings"
	"time"
)

// patientRec is a stored patient plus what only the wire format needs.
type patientRec struct {
	Patient
	seq      int
	nameUUID string
	address  map[string]string // first address as posted, or nil
	addrUUID string
	updated  time.Time // FHIR meta.lastUpdated: when the patient was created
}

func (r *patientRec) copy() Patient {
	p := r.Patient
	p.Identifiers = append([]Identifier(nil), r.Identifiers...)
	return p
}

// activeIdentifiers lists the non-voided identifiers, preferred first (as
// Patient.getActiveIdentifiers does).
func (r *patientRec) activeIdentifiers() []*Identifier {
	var out []*Identifier
	for i := range r.Identifiers {
		id := &r.Identifiers[i]
		if id.Voided {
			continue
		}
		if id.Preferred {
			out = append([]*Identifier{id}, out...)
		} else {
			out = append(out, id)
		}
	}
	return out
}

type idxEntry struct {
	value string
	rec   *patientRec
}

// store is the in-memory patient table with its identifier indexes.
// Guarded by Server.mu.
type store struct {
	now      func() time.Time
	patients []*patientRec
	byUUID   map[string]*patientRec
	byValue  map[string][]*patientRec // identifier value → patients holding it (any state)

	// sorted is every non-voided identifier of every non-voided patient,
	// ordered by value then patient, rebuilt lazily when dirty.
	sorted []idxEntry
	dirty  bool
	// startCache memoises the last prefix search (distinct patients in
	// order), so paging through a prefix costs O(page) per request.
	startCache struct {
		valid  bool
		prefix string
		recs   []*patientRec
	}
}

func (st *store) init() {
	st.byUUID = map[string]*patientRec{}
	st.byValue = map[string][]*patientRec{}
}

func (st *store) touch() {
	st.dirty = true
	st.startCache.valid = false
}

func (st *store) add(p Patient, nameUUID string) *patientRec {
	r := &patientRec{Patient: p, seq: len(st.patients), nameUUID: nameUUID, updated: st.now().UTC().Truncate(time.Millisecond)}
	st.patients = append(st.patients, r)
	st.byUUID[p.UUID] = r
	for _, id := range p.Identifiers {
		st.index(id.Identifier, r)
	}
	st.touch()
	return r
}

func (st *store) index(value string, r *patientRec) {
	for _, o := range st.byValue[value] {
		if o == r {
			return
		}
	}
	st.byValue[value] = append(st.byValue[value], r)
}

// unindex drops r from value's list unless r still holds value.
func (st *store) unindex(value string, r *patientRec) {
	for _, id := range r.Identifiers {
		if id.Identifier == value {
			return
		}
	}
	l := st.byValue[value]
	for i, o := range l {
		if o == r {
			st.byValue[value] = append(l[:i:i], l[i+1:]...)
			break
		}
	}
	if len(st.byValue[value]) == 0 {
		delete(st.byValue, value)
	}
}

func holds(r *patientRec, value string) bool {
	for _, id := range r.Identifiers {
		if !id.Voided && id.Identifier == value {
			return true
		}
	}
	return false
}

// exact lists the non-voided patients holding a non-voided identifier with
// this value, in creation order.
func (st *store) exact(value string) []*patientRec {
	var out []*patientRec
	for _, r := range st.byValue[value] {
		if !r.Voided && holds(r, value) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// startingWith lists the distinct non-voided patients holding a non-voided
// identifier starting with prefix, ordered by their smallest such value,
// then creation order.
func (st *store) startingWith(prefix string) []*patientRec {
	if st.startCache.valid && st.startCache.prefix == prefix {
		return st.startCache.recs
	}
	if st.dirty {
		st.sorted = st.sorted[:0]
		for _, r := range st.patients {
			if r.Voided {
				continue
			}
			for _, id := range r.Identifiers {
				if !id.Voided {
					st.sorted = append(st.sorted, idxEntry{id.Identifier, r})
				}
			}
		}
		sort.Slice(st.sorted, func(i, j int) bool {
			a, b := st.sorted[i], st.sorted[j]
			if a.value != b.value {
				return a.value < b.value
			}
			return a.rec.seq < b.rec.seq
		})
		st.dirty = false
	}
	i := sort.Search(len(st.sorted), func(i int) bool { return st.sorted[i].value >= prefix })
	seen := map[*patientRec]bool{}
	var out []*patientRec
	for ; i < len(st.sorted) && strings.HasPrefix(st.sorted[i].value, prefix); i++ {
		r := st.sorted[i].rec
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	st.startCache.valid, st.startCache.prefix, st.startCache.recs = true, prefix, out
	return out
}

// byQuery is the simple name-or-identifier search of GET /patient?q=: an
// exact identifier match, or every word of q a case-insensitive prefix of
// one of the names (patientSearch.matchMode START).
func (st *store) byQuery(q string) []*patientRec {
	words := strings.Fields(strings.ToLower(q))
	var out []*patientRec
	for _, r := range st.patients {
		if r.Voided {
			continue
		}
		if holds(r, strings.TrimSpace(q)) {
			out = append(out, r)
			continue
		}
		names := []string{strings.ToLower(r.GivenName), strings.ToLower(r.MiddleName), strings.ToLower(r.FamilyName)}
		all := len(words) > 0
		for _, w := range words {
			found := false
			for _, n := range names {
				if n != "" && strings.HasPrefix(n, w) {
					found = true
					break
				}
			}
			if !found {
				all = false
				break
			}
		}
		if all {
			out = append(out, r)
		}
	}
	return out
}
