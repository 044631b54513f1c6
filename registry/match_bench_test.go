package registry_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/match"
	"github.com/idcards/idcards/registry"
)

// matchQuality measures duplicate detection on the seeded generator: a
// registry of n synthetic patients (3 % registered twice already,
// households with twins and parent/child pairs), then 2,000 queries, half
// returning patients re-entered with desk errors, half new people (a
// tenth of them relatives of someone registered). Run:
//
//	go test ./registry -run XXX -bench MatchQuality100k -benchtime 1x -timeout 30m
//
// MATCH_BENCH_DB=path keeps (and reuses) the registry file;
// MATCH_BENCH_CPUPROFILE=path writes a CPU profile of the queries alone;
// MATCH_BENCH_REPEAT=k times each query k times and keeps its fastest run
// (a lower bound: the repeats read SQLite's cache);
// MATCH_BENCH_QUERIES=path writes the queries as a `patients match --file`
// CSV (to time the whole command on the same registry).
func matchQuality(b *testing.B, n int) {
	ctx := operator(context.Background())
	path := os.Getenv("MATCH_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "r.db")
	}
	cfg := match.DefaultSynth(1, n)
	cfg.DupRate = 0.03
	recs, idOf := benchRecords(cfg)
	var s *registry.Store
	var err error
	if _, statErr := os.Stat(path); statErr == nil {
		s, err = registry.Open(ctx, path)
	} else {
		s, err = registry.Create(ctx, path, testFormat)
		if err == nil {
			t0 := time.Now()
			i := 0
			next := func() (registry.ImportRow, error) {
				if i >= len(recs) {
					return registry.ImportRow{}, io.EOF
				}
				i++
				return registry.ImportRow{Line: i, Patient: newPatient(recs[i-1].Person)}, nil
			}
			if _, err = s.Import(ctx, next, registry.ImportOptions{NoDuplicateCheck: true}, nil); err == nil { // NoDuplicateCheck: the benchmark measures the check itself
				b.Logf("imported %d patients in %v", len(recs), time.Since(t0).Round(time.Millisecond))
			}
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.Now = func() time.Time { return time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC) }
	t0 := time.Now()
	if _, err := s.SyncMatchIndex(ctx, nil); err != nil {
		b.Fatal(err)
	}
	if err := s.RefreshUForTest(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("index in %v", time.Since(t0).Round(time.Millisecond))
	person := func(i int) int {
		if recs[i].Of >= 0 {
			return recs[i].Of
		}
		return i
	}
	if os.Getenv("MATCH_BENCH_SWEEP") != "" { // figures below are then for possible = 0.001
		if err := s.SetSetting(ctx, "match_possible", "0.001"); err != nil {
			b.Fatal(err)
		}
		defer s.SetSetting(ctx, "match_possible", "")
	}
	for env, key := range map[string]string{"MATCH_BENCH_PROBABLE": "match_probable", "MATCH_BENCH_POSSIBLE": "match_possible"} {
		if v := os.Getenv(env); v != "" {
			if err := s.SetSetting(ctx, key, v); err != nil {
				b.Fatal(err)
			}
			defer s.SetSetting(ctx, key, "")
		}
	}
	qs, want := match.Queries(2, recs, 2000)
	if path := os.Getenv("MATCH_BENCH_QUERIES"); path != "" { // for timing `patients match --file` itself
		writeQueriesCSV(b, path, qs)
	}
	var st matchStats
	var lat []time.Duration
	type sweepRow struct {
		returning    bool
		right, wrong float64
	}
	var sweep []sweepRow
	// Calibration: of the candidates shown with probability in a band,
	// the share that is the right record.
	type calibRow struct {
		p     float64
		right bool
	}
	var calib []calibRow
	// CPU time of the querying thread as well as wall time: on a shared
	// machine the wall-clock p99 measures the neighbours.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu []time.Duration
	// CLOCK_THREAD_CPUTIME_ID, not getrusage(RUSAGE_THREAD): the latter
	// counts in scheduler ticks (4 ms here), too coarse for one query.
	threadCPU := func() time.Duration {
		var ts syscall.Timespec
		syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3 /* CLOCK_THREAD_CPUTIME_ID */, uintptr(unsafe.Pointer(&ts)), 0)
		return time.Duration(ts.Nano())
	}
	if path := os.Getenv("MATCH_BENCH_CPUPROFILE"); path != "" { // the queries only, not the set-up
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	// MATCH_BENCH_REPEAT=k runs each query k times and keeps its fastest
	// run: a lower bound of its cost, for the repeats find the pages the
	// first run read in SQLite's own cache (the gap to a single run is
	// the page reads through the operating system, and the neighbours).
	repeat := 1
	if k, err := strconv.Atoi(os.Getenv("MATCH_BENCH_REPEAT")); err == nil && k > 1 {
		repeat = k
	}
	// The timed loop keeps only what it needs to judge an answer: the
	// generated records (a quarter of a gigabyte at a million patients)
	// would otherwise stay live, every garbage collection during the loop
	// would mark them, and the queries it overlaps (one in twenty or so,
	// in runs of a few every second) would measure the harness, not the
	// registry. A desk's process holds no such heap. They are generated
	// again for the figures after the loop.
	personOfRec := make([]int32, len(recs))
	for j := range recs {
		personOfRec[j] = int32(person(j))
	}
	personOfIDs := make([]int32, len(idOf)+1)
	for id, j := range idOf {
		personOfIDs[id] = personOfRec[j]
	}
	personOfID := func(id int64) int32 {
		switch {
		case id > 0 && id < int64(len(personOfIDs)):
			return personOfIDs[id]
		case id > 0 && id <= int64(len(personOfRec)):
			return personOfRec[id-1]
		}
		return -2
	}
	wantPerson := make([]int32, len(want))
	for i, w := range want {
		wantPerson[i] = -1
		if w >= 0 {
			wantPerson[i] = personOfRec[w]
		}
	}
	debug := os.Getenv("MATCH_BENCH_DEBUG")
	if debug == "" {
		recs, idOf = nil, nil
		runtime.GC()
	}
	b.ResetTimer()
	for b.Loop() {
		st = matchStats{}
		lat = lat[:0]
		cpu = cpu[:0]
		for i, q := range qs {
			t := time.Now()
			c0 := threadCPU()
			cs, err := s.Candidates(ctx, newPatient(q), benchLimit())
			wall, own := time.Since(t), threadCPU()-c0
			if err != nil {
				b.Fatal(err)
			}
			for range repeat - 1 { // the query's own cost: the fastest of its runs
				t, c0 = time.Now(), threadCPU()
				if _, err := s.Candidates(ctx, newPatient(q), benchLimit()); err != nil {
					b.Fatal(err)
				}
				wall, own = min(wall, time.Since(t)), min(own, threadCPU()-c0)
			}
			lat = append(lat, wall)
			cpu = append(cpu, own)
			ok := func(c idcards.Candidate) bool {
				return wantPerson[i] >= 0 && personOfID(c.Patient.ID) == wantPerson[i]
			}
			st.add(want[i] >= 0, cs, ok)
			// For the threshold sweep: the probability of the right
			// record (returning) and of the best wrong one.
			right, wrong := -1.0, -1.0
			for _, c := range cs {
				if ok(c) {
					right = max(right, c.Score)
				} else {
					wrong = max(wrong, c.Score)
				}
			}
			sweep = append(sweep, sweepRow{want[i] >= 0, right, wrong})
			for _, c := range cs {
				calib = append(calib, calibRow{c.Score, ok(c)})
			}
			if debug != "" {
				dumpCase(q, want[i], recs, cs, ok, debug)
			}
		}
	}
	b.StopTimer()
	pprof.StopCPUProfile()
	if recs == nil {
		recs, idOf = benchRecords(cfg)
	}
	if n, err := strconv.Atoi(os.Getenv("MATCH_BENCH_SLOWEST")); err == nil && n > 0 {
		slowestQueries(b, s, qs, lat, cpu, n)
	}
	if os.Getenv("MATCH_BENCH_CAUSES") != "" {
		diagnoseMisses(b, s, qs, want, recs, idOf, person)
	}
	// Pairs completeness: the share of returning queries whose record
	// survives blocking at all, and how many records blocking offers.
	kept, blockedTotal, returning := 0, 0, 0
	for i, q := range qs {
		got, err := s.Blocked(ctx, newPatient(q))
		if err != nil {
			b.Fatal(err)
		}
		blockedTotal += len(got)
		if want[i] < 0 {
			continue
		}
		returning++
		hit := false
		for _, id := range got {
			if j, ok := idOf[id]; ok && person(j) == person(want[i]) {
				kept++
				hit = true
				break
			}
		}
		if !hit && os.Getenv("MATCH_BENCH_DEBUG") == "blockmiss" {
			p := recs[want[i]].Person
			fmt.Printf("BLOCKMISS q: %+v\n      want: %+v\n", q, p)
		}
	}
	if os.Getenv("MATCH_BENCH_SLIPS") != "" {
		slipFigures(b, s, recs, idOf, person)
	}
	if os.Getenv("MATCH_BENCH_AGES") != "" {
		ageFigures(b, s, recs, idOf, person)
	}
	if os.Getenv("MATCH_BENCH_PASSES") != "" {
		passFigures(b, s, qs, want, idOf, person)
	}
	b.ReportMetric(pct(kept, returning), "pairs-completeness-%")
	b.ReportMetric(float64(blockedTotal)/float64(len(qs)), "blocked/query")
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	st.report(b)
	for _, th := range []float64{0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99} {
		rec, ret, warned, nw, fa := 0, 0, 0, 0, 0
		for _, r := range sweep {
			if r.returning {
				ret++
				if r.right >= th {
					rec++
				}
				if r.wrong >= th {
					fa++
				}
			} else {
				nw++
				if r.wrong >= th {
					warned++
				}
			}
		}
		fmt.Printf("threshold %.3f: returning found %.1f%%, new people warned %.1f%%, precision of top candidates %.1f%%\n", th, pct(rec, ret), pct(warned, nw), pct(rec, rec+fa+warned))
	}
	bands := []float64{0, 0.25, 0.5, 0.8, 0.9, 0.95, 0.99, 1.01}
	for k := 0; k+1 < len(bands); k++ {
		n, right := 0, 0
		for _, c := range calib {
			if c.p >= bands[k] && c.p < bands[k+1] {
				n++
				if c.right {
					right++
				}
			}
		}
		fmt.Printf("calibration: shown with probability in [%.2f, %.2f): %d candidates, %.1f%% the right record\n", bands[k], min(bands[k+1], 1), n, pct(right, n))
	}
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	sort.Slice(cpu, func(i, j int) bool { return cpu[i] < cpu[j] })
	b.ReportMetric(float64(cpu[len(cpu)/2].Microseconds())/1000, "cpu-median-ms")
	b.ReportMetric(float64(cpu[len(cpu)*99/100].Microseconds())/1000, "cpu-p99-ms")
}

type matchStats struct {
	returning, newPeople   int
	probTop, anyFound      int // returning: right record probable at top / anywhere
	probCands, probRight   int
	possCands, possRight   int
	newWarned, newProbable int
	// the desk's namesakes advice (idcards.Namesakes): returning patients
	// not probable at top who get it with their record among the crowd;
	// new people who get it
	crowdFound, crowdNew int
	missed               map[string]int
}

func (st *matchStats) add(returning bool, cs []idcards.Candidate, ok func(idcards.Candidate) bool) {
	found, probTop := false, false
	for i, c := range cs {
		right := ok(c)
		found = found || right
		if c.Level == idcards.MatchProbable {
			st.probCands++
			if right {
				st.probRight++
				if i == 0 {
					probTop = true
				}
			}
		} else {
			st.possCands++
			if right {
				st.possRight++
			}
		}
	}
	_, crowd := idcards.Namesakes(cs)
	if returning {
		st.returning++
		if found {
			st.anyFound++
		}
		if probTop {
			st.probTop++
		}
		if crowd && found {
			st.crowdFound++
		}
		return
	}
	st.newPeople++
	if crowd {
		st.crowdNew++
	}
	if len(cs) > 0 {
		st.newWarned++
		if cs[0].Level == idcards.MatchProbable {
			st.newProbable++
		}
	}
}

func pct(a, b int) float64 { return 100 * float64(a) / float64(max(b, 1)) }

func (st *matchStats) report(b *testing.B) {
	b.ReportMetric(pct(st.probTop, st.returning), "probable-recall-%")
	b.ReportMetric(pct(st.probRight, st.probCands), "probable-precision-%")
	b.ReportMetric(pct(st.anyFound, st.returning), "any-recall-%")
	b.ReportMetric(pct(st.possRight, st.possCands), "possible-precision-%")
	b.ReportMetric(pct(st.newWarned, st.newPeople), "new-warned-%")
	b.ReportMetric(pct(st.newProbable, st.newPeople), "new-probable-%")
	b.ReportMetric(pct(st.crowdFound, st.returning), "namesakes-returning-%")
	b.ReportMetric(pct(st.crowdNew, st.newPeople), "namesakes-new-%")
	b.Log(fmt.Sprintf("returning %d: probable at top %d, found %d; new %d: warned %d, probable %d; probable cands %d right %d; possible cands %d right %d",
		st.returning, st.probTop, st.anyFound, st.newPeople, st.newWarned, st.newProbable, st.probCands, st.probRight, st.possCands, st.possRight))
}

func BenchmarkMatchQuality20k(b *testing.B)  { matchQuality(b, 20_000) }
func BenchmarkMatchQuality100k(b *testing.B) { matchQuality(b, 100_000) }
func BenchmarkMatchQuality1M(b *testing.B)   { matchQuality(b, 1_000_000) }

func dumpCase(q match.Person, want int, recs []match.SynthRecord, cs []idcards.Candidate, ok func(idcards.Candidate) bool, mode string) {
	show := func(p match.Person) string {
		return fmt.Sprintf("%s | %s | %s %s est=%v | %s | %s", p.Given, p.Family, p.Sex, p.BirthDate, p.BirthDateEstimated, p.Phone, p.Village)
	}
	found := false
	for _, c := range cs {
		found = found || ok(c)
	}
	switch {
	case want >= 0 && !found && mode == "miss":
		fmt.Printf("MISS q: %s\n   want: %s\n", show(q), show(recs[want].Person))
		for _, c := range cs {
			fmt.Printf("   got %s %.3f %v\n", c.Level, c.Score, c.Reasons)
		}
	case want >= 0 && found && (len(cs) == 0 || cs[0].Level != idcards.MatchProbable || !ok(cs[0])) && mode == "notprob":
		fmt.Printf("NOTPROB q: %s\n   want: %s\n", show(q), show(recs[want].Person))
		for _, c := range cs {
			fmt.Printf("   got ok=%v %s %.3f w=%.1f %v\n", ok(c), c.Level, c.Score, c.Weight, c.Reasons)
		}
	case mode == "newwarn" && want < 0 && len(cs) > 0:
		fmt.Printf("NEWWARN q: %s\n", show(q))
		for _, c := range cs {
			fmt.Printf("   got %s %.3f w=%.1f %s | %s | %s | %s | %s  %v\n", c.Level, c.Score, c.Weight, c.Patient.GivenName, c.Patient.FamilyName, c.Patient.BirthDate, c.Patient.Phone, c.Patient.Village, c.Reasons)
		}
	case mode == "band": // wrong candidates shown at 0.8 or more, the calibration's weak spot
		for _, c := range cs {
			if c.Score >= 0.8 && !ok(c) {
				kind := "new"
				if want >= 0 {
					kind = "returning: " + show(recs[want].Person)
				}
				fmt.Printf("BAND q: %s (%s)\n   got: %s %.3f w=%.1f %v\n", show(q), kind, c.Patient.GivenName+" | "+c.Patient.FamilyName+" | "+c.Patient.BirthDate+" | "+c.Patient.Phone+" | "+c.Patient.Village, c.Score, c.Weight, c.Reasons)
			}
		}
	case mode == "falseprob":
		for _, c := range cs {
			if c.Level == idcards.MatchProbable && !ok(c) {
				fmt.Printf("FALSEPROB q: %s (want %d)\n   got: %s %.3f w=%.1f %v\n", show(q), want, c.Patient.GivenName+" | "+c.Patient.FamilyName+" | "+c.Patient.BirthDate+" | "+c.Patient.Phone+" | "+c.Patient.Village, c.Score, c.Weight, c.Reasons)
			}
		}
	}
}

// slipFigures runs match.SlipQueries (1,000 returning patients with a slip
// in both names, an estimated age, no phone; MATCH_BENCH_SLIPS=1) and
// prints how many survive blocking, are found at any level and probable
// on top.
func slipFigures(b *testing.B, s *registry.Store, recs []match.SynthRecord, idOf map[int64]int, person func(int) int) {
	qs, want := match.SlipQueries(3, recs, 1000)
	returningFigures(b, s, "slips in both names", qs, want, idOf, person)
	if os.Getenv("MATCH_BENCH_PASSES") != "" {
		fmt.Println("the passes for the slips in both names:")
		passFigures(b, s, qs, want, idOf, person)
	}
}

// ageFigures: returning patients whose age is estimated afresh, with
// realistic errors (match.AgeQueries; MATCH_BENCH_AGES=1).
func ageFigures(b *testing.B, s *registry.Store, recs []match.SynthRecord, idOf map[int64]int, person func(int) int) {
	qs, want := match.AgeQueries(4, recs, 1000)
	returningFigures(b, s, "ages estimated afresh", qs, want, idOf, person)
}

// returningFigures prints, for queries of returning patients (want: their
// record), how many of their records survive blocking, are found at any
// level and are probable on top.
func returningFigures(b *testing.B, s *registry.Store, name string, qs []match.Person, want []int, idOf map[int64]int, person func(int) int) {
	ctx := operator(context.Background())
	blocked, found, top := 0, 0, 0
	for i, q := range qs {
		ids, err := s.Blocked(ctx, newPatient(q))
		if err != nil {
			b.Fatal(err)
		}
		for _, id := range ids {
			if r, ok := idOf[id]; ok && person(r) == person(want[i]) {
				blocked++
				break
			}
		}
		cs, err := s.Candidates(ctx, newPatient(q), benchLimit())
		if err != nil {
			b.Fatal(err)
		}
		for k, c := range cs {
			if r, ok := idOf[c.Patient.ID]; ok && person(r) == person(want[i]) {
				found++
				if k == 0 && c.Level == idcards.MatchProbable {
					top++
				}
				break
			}
		}
	}
	fmt.Printf("%s (%d returning): blocked %.1f%%, found at any level %.1f%%, probable on top %.1f%%\n", name, len(qs), pct(blocked, len(qs)), pct(found, len(qs)), pct(top, len(qs)))
}

// passFigures prints, per blocking pass, the records its lookups offer per
// query, and for how many returning patients the right record is offered
// by that pass at all and by that pass alone (MATCH_BENCH_PASSES=1): what
// a pass's cap costs and what it buys.
func passFigures(b *testing.B, s *registry.Store, qs []match.Person, want []int, idOf map[int64]int, person func(int) int) {
	ctx := operator(context.Background())
	type fig struct{ rows, found, alone int }
	figs := map[string]*fig{}
	dropSets := strings.Fields(os.Getenv("MATCH_BENCH_PASSES")) // e.g. "t: i: t:i:"
	kept := map[string]int{}
	for i, q := range qs {
		keys, ids, err := s.LookupIDsForTest(ctx, newPatient(q))
		if err != nil {
			b.Fatal(err)
		}
		var by []string // passes offering the right record
		for j, k := range keys {
			p := k[:2]
			if figs[p] == nil {
				figs[p] = &fig{}
			}
			figs[p].rows += len(ids[j])
			if want[i] < 0 {
				continue
			}
			for _, id := range ids[j] {
				if r, ok := idOf[id]; ok && person(r) == person(want[i]) {
					by = append(by, p)
					break
				}
			}
		}
		slices.Sort(by)
		by = slices.Compact(by)
		if want[i] >= 0 {
			for _, drop := range dropSets {
				left := false
				for _, p := range by {
					left = left || !strings.Contains(drop, p)
				}
				if left {
					kept[drop]++
				}
			}
		}
		for _, p := range by {
			figs[p].found++
			if len(by) == 1 {
				figs[p].alone++
			}
		}
	}
	for _, p := range match.Passes {
		if f := figs[p.Prefix]; f != nil {
			fmt.Printf("pass %s cap %d: %.0f records offered per query; right record offered for %d returning patients, by this pass alone for %d\n", p.Prefix, p.Cap, float64(f.rows)/float64(len(qs)), f.found, f.alone)
		}
	}
	for _, d := range dropSets {
		fmt.Printf("without %s: right record offered for %d returning patients\n", d, kept[d])
	}
}

// writeQueriesCSV writes the benchmark's queries as a `patients match
// --file` CSV.
func writeQueriesCSV(b *testing.B, path string, qs []match.Person) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"id", "given_name", "family_name", "sex", "birth_date", "birth_date_estimated", "phone", "village"})
	for i, q := range qs {
		w.Write([]string{strconv.Itoa(i), q.Given, q.Family, string(q.Sex), q.BirthDate, strconv.FormatBool(q.BirthDateEstimated), q.Phone, q.Village})
	}
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		b.Fatal(err)
	}
}

// benchLimit is the candidates per query (MATCH_BENCH_LIMIT, default 5 as the desk shows).
func benchLimit() int {
	if n, err := strconv.Atoi(os.Getenv("MATCH_BENCH_LIMIT")); err == nil && n > 0 {
		return n
	}
	return 5
}

// diagnoseMisses sorts every returning query whose record is not the
// probable top candidate by cause, and every wrong probable candidate by
// what it is (MATCH_BENCH_CAUSES=1; MATCH_BENCH_CAUSES=v also prints them).
func diagnoseMisses(b *testing.B, s *registry.Store, qs []match.Person, want []int, recs []match.SynthRecord, idOf map[int64]int, person func(int) int) {
	ctx := operator(context.Background())
	verbose := os.Getenv("MATCH_BENCH_CAUSES") == "v"
	idsOf := map[int][]int64{}
	for id, j := range idOf {
		idsOf[person(j)] = append(idsOf[person(j)], id)
	}
	causes := map[string]int{}
	detail := map[string]int{}
	lv := func(r match.Result) string {
		var parts []string
		for f := range match.NumFields {
			l := "-"
			if r.L[f] != match.Null {
				l = match.LevelNames[f][r.L[f]]
			}
			parts = append(parts, fmt.Sprintf("%s=%s(%+.1f)", match.Field(f), l, r.W[f]))
		}
		return strings.Join(parts, " ")
	}
	short := func(r match.Result) string {
		var parts []string
		for _, f := range []match.Field{match.FGiven, match.FFamily, match.FBirth, match.FPhone} {
			l := "-"
			if r.L[f] != match.Null {
				l = match.LevelNames[f][r.L[f]]
			}
			parts = append(parts, match.Field(f).String()+"="+l)
		}
		return strings.Join(parts, " ")
	}
	for i, q := range qs {
		np := newPatient(q)
		cs, err := s.Candidates(ctx, np, 5)
		if err != nil {
			b.Fatal(err)
		}
		isRight := func(id int64) bool {
			j, known := idOf[id]
			if !known {
				j = int(id - 1)
			}
			return want[i] >= 0 && person(j) == person(want[i])
		}
		for k, c := range cs {
			if c.Level == idcards.MatchProbable && !isRight(c.Patient.ID) {
				kind := "namesake"
				if want[i] >= 0 {
					kind = "returning query: another record"
				}
				j := idOf[c.Patient.ID]
				if recs[j].Relative != "" || (j+1 < len(recs) && recs[j+1].Relative != "" && recs[j+1].Of < 0) {
					kind += " (household with a relative)"
				}
				causes[fmt.Sprintf("false probable #%d: %s", k+1, kind)]++
				if verbose {
					fmt.Printf("FALSEPROB %+v\n   got %s %.3f w=%.1f %v\n", q, c.Patient.GivenName+" | "+c.Patient.FamilyName+" | "+c.Patient.BirthDate+" | "+c.Patient.Phone+" | "+c.Patient.Village, c.Score, c.Weight, c.Reasons)
				}
			}
		}
		if want[i] < 0 {
			continue
		}
		if len(cs) > 0 && cs[0].Level == idcards.MatchProbable && isRight(cs[0].Patient.ID) {
			causes["ok: probable at top"]++
			continue
		}
		blocked, err := s.Blocked(ctx, np)
		if err != nil {
			b.Fatal(err)
		}
		var best match.Result
		bestID := int64(-1)
		for _, id := range idsOf[person(want[i])] {
			r, err := s.ScoreForTest(ctx, np, id)
			if err != nil {
				b.Fatal(err)
			}
			if bestID < 0 || r.Weight > best.Weight {
				best, bestID = r, id
			}
		}
		inBlock := false
		for _, id := range blocked {
			if isRight(id) {
				inBlock = true
			}
		}
		rank := -1
		for k, c := range cs {
			if isRight(c.Patient.ID) {
				rank = k
				break
			}
		}
		var cause string
		switch {
		case !inBlock:
			cause = "blocked out"
		case rank > 0 || (rank < 0 && len(cs) > 0 && cs[0].Weight > best.Weight):
			cause = "outranked by another record"
			if rank > 0 && cs[rank].Level == idcards.MatchProbable {
				cause += " (itself probable)"
			}
		case best.Level == "":
			cause = "not listed (below possible)"
		case best.Guard != "":
			cause = "guard: " + best.Guard
		default:
			cause = "possible: below the probable threshold"
		}
		causes[cause]++
		if cause != "blocked out" {
			detail[cause+" | "+short(best)]++
		}
		if verbose {
			fmt.Printf("MISS[%s] p=%.3f w=%.1f q: %+v\n   want: %+v\n   %s\n", cause, best.Probability, best.Weight, q, recs[want[i]].Person, lv(best))
			for _, c := range cs {
				fmt.Printf("   got ok=%v %s %.3f w=%.1f %s | %s | %s | %s | %s\n", isRight(c.Patient.ID), c.Level, c.Score, c.Weight, c.Patient.GivenName, c.Patient.FamilyName, c.Patient.BirthDate, c.Patient.Phone, c.Patient.Village)
			}
		}
	}
	keys := make([]string, 0, len(causes))
	for k := range causes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("CAUSE %5d  %s\n", causes[k], k)
	}
	keys = keys[:0]
	for k := range detail {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, c int) bool { return detail[keys[a]] > detail[keys[c]] })
	for _, k := range keys {
		if detail[k] >= 2 {
			fmt.Printf("DETAIL %4d  %s\n", detail[k], k)
		}
	}
}

// slowestQueries prints the n queries slowest by wall clock, with their
// CPU time, lookups and the records blocking offered them
// (MATCH_BENCH_SLOWEST=n): what the tail of the latency is made of.
func slowestQueries(b *testing.B, s *registry.Store, qs []match.Person, lat, cpu []time.Duration, n int) {
	ctx := operator(context.Background())
	idx := make([]int, len(lat))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, c int) bool { return lat[idx[a]] > lat[idx[c]] })
	lookups, records := make([]int, len(qs)), make([]int, len(qs))
	for i, q := range qs {
		keys, ids, err := s.LookupIDsForTest(ctx, newPatient(q))
		if err != nil {
			b.Fatal(err)
		}
		seen := map[int64]bool{}
		for _, l := range ids {
			for _, id := range l {
				seen[id] = true
			}
		}
		lookups[i], records[i] = len(keys), len(seen)
	}
	quantiles := func(name string, v []int) {
		w := slices.Clone(v)
		slices.Sort(w)
		fmt.Printf("SLOW all queries: %s median %d, p90 %d, p99 %d, max %d\n", name, w[len(w)/2], w[len(w)*9/10], w[len(w)*99/100], w[len(w)-1])
	}
	quantiles("lookups", lookups)
	quantiles("records", records)
	for _, i := range idx[:min(n, len(idx))] {
		fmt.Printf("SLOW #%-4d %6.2f ms (cpu %6.2f) lookups %3d records %4d  %+v\n", i, lat[i].Seconds()*1000, cpu[i].Seconds()*1000, lookups[i], records[i], qs[i])
	}
}

// benchRecords generates the benchmark's registry and maps each patient
// id to its record: import numbers rows in order, except that a row
// identical to an earlier one is the same patient.
func benchRecords(cfg match.SynthConfig) ([]match.SynthRecord, map[int64]int) {
	recs := match.Synthesize(cfg)
	idOf := map[int64]int{}
	seen := map[match.Person]bool{}
	var id int64
	for i, r := range recs {
		np := newPatient(r.Person)
		np.Validate(time.Now())
		if np.Sex == "" {
			np.Sex = idcards.SexUnknown
		}
		k := match.Person{Given: np.GivenName, Family: np.FamilyName, Sex: np.Sex, BirthDate: np.BirthDate, Phone: np.Phone, Village: np.Village}
		if seen[k] {
			continue
		}
		seen[k] = true
		id++
		idOf[id] = i
	}
	return recs, idOf
}
