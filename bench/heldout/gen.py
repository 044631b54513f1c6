#!/usr/bin/env python3
"""Held-out synthetic registry + labelled queries for idcards' duplicate matcher.

Designed independently of the repository's match/synth.go (not read).

  python3 gen.py --n 100000 --queries 2000 --seed 4242 --out /tmp/heldout/h100k

writes OUT/registry.csv   (idcards patients import; uuid column is our key, no MRN -> --issue-missing)
       OUT/queries_meta.jsonl (one line per query: id, kind, truth uuid, variation tags, true values)
       OUT/stats.txt      (distribution summary, also printed)
Then `label.py` maps uuid -> MRN from `idcards patients export` and writes
       OUT/queries.csv (match --file) and OUT/labelled.csv (match-eval --file).
"""
import argparse, collections, csv, datetime as dt, json, math, os, random, unicodedata

TODAY = dt.date(2026, 12, 1)

# ---------------------------------------------------------------- name stocks
# Curated heads, in rough order of frequency (rank 1 first). Tails are generated.
GANDA_FAM_F = "Nakato Namukasa Nabirye Nalwoga Nansubuga Namutebi Nakimuli Nassozi Nakirya Nabukenya Nantongo Namuli Nakalema Nalubega Nabbosa Namatovu Nakigudde Nampijja Nakiwala Nabatanzi".split()
GANDA_FAM_M = "Ssemakula Mukasa Kato Wasswa Kizza Ssebuliba Lubega Kiggundu Mugerwa Ssentongo Kasozi Lwanga Kawooya Musoke Ssekandi Kyeyune Nsubuga Mutebi Kiwanuka Kaggwa Sserwadda Kasule Kizito Mukiibi Ssenyonga Bbosa Lutaaya Sseguya Mulindwa Kalyango".split()
LUO_FAM = "Okello Ochieng Otieno Odongo Opio Ojok Onyango Omondi Owino Oloo Akello Atim Achieng Adongo Auma Apio Aber Lakot Anena Ocen Okot Obura Oketch Ouma Odhiambo Adhiambo Awino Akinyi Olweny Oryem Acen Ayot Okumu".split()
KE_FAM = "Kamau Mwangi Njoroge Kariuki Wanjiru Wanjiku Njeri Wambui Kimani Maina Gitau Ndungu Waweru Macharia Kiprop Kiptoo Chebet Cherono Jepkosgei Kipchumba Korir Rotich Wafula Wekesa Barasa Simiyu Nafula Nekesa Wanjala Mutua Musyoka Kilonzo".split()
TZ_FAM = "Juma Hamisi Bakari Mrisho Salim Said Athumani Rashidi Hassani Mussa Shabani Ramadhani Omari Mfinanga Massawe Mushi Lyimo Kimaro Swai Mollel Kessy Mwakyusa Mwakalinga Ngowi Temba Mbwambo Mwinyi Kombo".split()
MUS_FAM = ["Mohammed", "Hassan", "Ali", "Abdi", "Omar", "Ahmed", "Ibrahim", "Yusuf", "Hussein", "Warsame",
           "Farah", "Abdullahi", "Nur", "Osman", "Said", "Al Amin", "Bin Salim", "Abdul Kadir", "Mohamud",
           "Abdirahman", "Jama", "Aden", "Hersi", "Al Hassan", "Ben Ali", "Abdul Karim", "Musa", "Issa"]
SA_FAM = "Patel Shah Mehta Desai Kumar Singh Sharma Gupta Nair Pillai Iyer Reddy Joshi Bhatt Chowdhury Khan Madhvani Mukherjee Das Rao Menon Thakkar Parekh Pandya Kapoor Verma".split()
EU_FAM = ["Smith", "Müller", "Kowalski", "Nowak", "Wiśniewski", "Łukaszewicz", "Østergaard", "Sørensen", "Jørgensen",
          "Đorđević", "Strauß", "Weiß", "Groß", "Dubois", "Lefèvre", "García", "Núñez", "Brown", "Johnson",
          "Van der Berg", "De Jong", "O'Brien", "Jansen", "Møller", "Hansen", "Andersson", "Schröder", "Köhler",
          "Petrović", "Jovanović", "MacDonald", "Ødegård", "Błaszczyk", "Süß"]

CHR_M = "John Joseph Peter Paul Moses Emmanuel David Richard Robert Charles Godfrey Ronald Brian Ivan Isaac Samuel Denis Fred Patrick Henry Geoffrey Francis Edward Julius Simon Andrew Stephen George James Daniel Michael Kevin Collins Victor Evans Felix Kennedy Duncan Wilson Bosco Walter Morris Tonny Jimmy Alex Innocent Godwin Trevor Martin Vincent Lawrence Benard Alfred Herbert".split()
CHR_F = "Mary Grace Sarah Florence Agnes Rose Esther Ruth Betty Harriet Juliet Prossy Annet Sylvia Winnie Christine Catherine Jennifer Immaculate Josephine Margaret Janet Doreen Brenda Gloria Patience Mercy Joan Irene Lydia Scovia Resty Olivia Jane Faith Lucy Ann Caroline Purity Beatrice Eunice Nancy Joyce Susan Sharon Cynthia Diana Maureen Lilian Evelyn Pamela Jacqueline Millicent Rebecca Teddy Sandra Peace Precious Blessing".split()
TZ_M = "Juma Hamisi Baraka Amani Emmanuel Godfrey Joseph Salum Abdallah Rajabu Issa Musa Hussein Ally Elia Frank Goodluck Erasto Athuman".split()
TZ_F = "Mwanaisha Zawadi Rehema Neema Imani Mwajuma Halima Mariamu Zuhura Upendo Amina Fatuma Subira Saida Happiness Anna Esther Grace Witness".split()
MUS_M = ["Mohammed", "Ahmed", "Abdul Rahman", "Abdullah", "Hassan", "Hussein", "Ibrahim", "Ismail", "Yusuf", "Ali",
         "Omar", "Abdul Karim", "Swaleh", "Suleiman", "Hamza", "Idris", "Mustafa", "Yasin", "Bashir", "Abdul",
         "Rashid", "Khalid", "Shafik", "Twaha", "Hakim", "Abubakar", "Sharif", "Abdul Aziz"]
MUS_F = ["Fatuma", "Aisha", "Halima", "Zainab", "Mariam", "Khadija", "Amina", "Rukia", "Asha", "Hawa", "Sumaya",
         "Zuhura", "Safia", "Habiba", "Nasra", "Hamida", "Mwanahawa", "Shamim", "Sharifa", "Zulaika", "Aziza",
         "Jamila", "Rahma", "Salma", "Hadija", "Sauda"]
SA_M = "Rajesh Amit Sanjay Vikram Arjun Rahul Ravi Suresh Anil Deepak Nikhil Karan Mohan Pradeep Hitesh Jayesh Vijay Ashok".split()
SA_F = "Priya Anjali Pooja Neha Sunita Anita Kavita Meera Deepa Shreya Divya Lakshmi Rekha Nisha Asha Sneha Ritu".split()
EU_M = ["Łukasz", "Paweł", "Michał", "Søren", "Jørgen", "Đorđe", "Thomas", "Michael", "James", "Peter", "Jürgen",
        "Stefan", "François", "José", "Björn", "Lars", "Anders", "Jérôme", "Tomasz", "Nikola"]
EU_F = ["Anna", "Małgorzata", "Agnieszka", "Zoë", "Renée", "Chloé", "Hélène", "Ingrid", "Kirsten", "Birgit",
        "Sophie", "Emma", "Maria", "Jelena", "Dragana", "Łucja", "Ana", "Marie", "Søs", "Ewa"]

# Spelling groups: the first entry is the canonical form; registry spellings drawn by weight,
# queries re-spelled within the group.  Mixture of ones a builtin table may know and ones it may not.
SPELL = [
    (["Mohammed", "Muhammad", "Mohamed", "Mohamad", "Muhammed", "Mohammad"], [35, 25, 25, 5, 5, 5]),
    (["Fatuma", "Fatima", "Fatumah"], [55, 35, 10]),
    (["Aisha", "Ayesha", "Aishah", "Aysha"], [60, 15, 15, 10]),
    (["Abdul", "Abdoul", "Abdool"], [85, 10, 5]),
    (["Christine", "Kristine", "Christin"], [85, 10, 5]),
    (["Catherine", "Katherine", "Kathrine", "Catherin"], [60, 25, 10, 5]),
    (["Jennifer", "Jeniffer", "Jenifer"], [50, 35, 15]),
    (["Hussein", "Husein", "Hussain", "Husain"], [55, 20, 15, 10]),
    (["Yusuf", "Yusuph", "Yousef", "Yusufu"], [55, 20, 15, 10]),
    (["Ibrahim", "Ibrahimu", "Ebrahim"], [75, 15, 10]),
    (["Ismail", "Ismael", "Ismaili"], [65, 25, 10]),
    (["Suleiman", "Sulaiman", "Sulayman"], [50, 40, 10]),
    (["Zainab", "Zaynab", "Zeinab"], [70, 15, 15]),
    (["Khadija", "Hadija", "Khadijah"], [50, 40, 10]),
    (["Mariam", "Maryam", "Mariamu"], [55, 25, 20]),
    (["Hassan", "Hasan", "Hassani"], [70, 15, 15]),
    (["Ahmed", "Ahmad", "Ahmedi"], [60, 35, 5]),
    (["Omar", "Umar", "Omari"], [50, 30, 20]),
    (["Abdullah", "Abdallah", "Abdalla"], [50, 35, 15]),
    (["Rukia", "Rukiya", "Ruqayya"], [60, 30, 10]),
    (["Halima", "Halimah"], [80, 20]),
    (["Amina", "Aminah"], [80, 20]),
    (["Esther", "Ester"], [85, 15]),
    (["Stephen", "Steven", "Stephano"], [70, 20, 10]),
    (["Brian", "Bryan"], [85, 15]),
    (["Denis", "Dennis"], [55, 45]),
    (["Isaac", "Isaak", "Isaka"], [80, 10, 10]),
    (["Prossy", "Proscovia"], [70, 30]),
    (["Betty", "Elizabeth"], [60, 40]),
    (["Geoffrey", "Jeffrey", "Geofrey"], [70, 15, 15]),
    (["Benard", "Bernard"], [60, 40]),
    (["Swaleh", "Salih", "Saleh"], [50, 25, 25]),
    (["Twaha", "Taha"], [70, 30]),
    (["Chowdhury", "Choudhury", "Chaudhry"], [50, 30, 20]),
    (["Abubakar", "Abubakari", "Aboubakar"], [70, 20, 10]),
    (["Juma", "Djuma"], [95, 5]),
    (["Rashid", "Rashidi", "Rachid"], [60, 30, 10]),
    (["Shamim", "Shamimu"], [85, 15]),
]
SPELL_OF = {}
for _forms, _w in SPELL:
    for _f in _forms:
        SPELL_OF[_f] = (_forms, _w)

# ---------------------------------------------------------------- tail generators
def _mk(prefixes, sylls, endv="aeiou", minn=1, maxn=3):
    def gen(r):
        s = r.choice(prefixes) + "".join(r.choice(sylls) for _ in range(r.randint(minn, maxn)))
        if endv and s[-1] not in endv:
            s += r.choice(endv)
        return s[0].upper() + s[1:]
    return gen

BANTU_S = "ba bi bu ga gi go gu ka ki ku la le lu ma mu na nyi sa se si so su ta te to tu wa we ya yi za zi ggwa kya mbe nde nge mpi nsu bye ddu kko tte bbo lwa nda gwe".split()
TAIL = {
    "ganda_f": _mk(["Na", "Nna", "Nab", "Nam", "Nan", "Nak"], BANTU_S),
    "ganda_m": _mk(["Sse", "Ka", "Mu", "Ki", "Lu", "Se", "Bu", "Kya"], BANTU_S),
    "luo": _mk(["O", "A", "Od", "Ok", "Ach", "Ow", "Ot", "Ap"], "ke llo chi eng ti no do ngo pi jo ko nya ma ra wi ri lu ga bu dhi ambo uma ol wen yo cen".split(), endv="aeiou"),
    "ke": _mk(["Ki", "Wa", "Nj", "Che", "Jep", "Kip", "Mu", "Ng", "Ka", "We", "Si", "Na"], "ma ri ngi ku ru ka ge to ro no bet ptoo chu mbo ta ti nga ka ya kwa".split(), endv=""),
    "tz": _mk(["Mwa", "Mba", "Ki", "Ma", "Nga", "Msu", "Lya", "Sha"], "ka li ma ngo ra se mbi tu za nda ye we ko ta".split()),
    "mus": _mk(["Ab", "Ha", "Sa", "Mu", "Ra", "Fa", "Na", "Ja", "Kh", "Wa"], "di ra hman sha kir war sa me far nur ow ha li ma ho ga yo sir dow".split(), endv=""),
    "sa": _mk(["Ra", "Ja", "Pra", "Vi", "Shi", "Ka", "Ma", "Su", "De", "Ha", "Bha", "Chan"], "je sh an ka vi ta na mi la ku ma de va su ni ha ri ga ja ya shi th ndr"
              .split(), endv="aeiu"),
    "eu": _mk(["Kr", "Wo", "Ba", "Ho", "Le", "Ma", "Pe", "Sch", "Ja", "Mi", "Br", "St", "Ko", "Ni"],
              "ra lo ne ber ko sta wi man ha ge li ro".split(), endv=""),
}
EU_ENDS = ["son", "sen", "ski", "wicz", "er", "mann", "ić", "ová", "ez", "gaard", "øe", "ström", "eau", "ß", ""]
VIRTUE = ["Blessing", "Precious", "Innocent", "Patience", "Mercy", "Peace", "Gift", "Favour", "Success", "Praise",
          "Miracle", "Godsgift", "Loveness", "Shadrack", "Wisdom", "Trust", "Hope", "Joy", "Comfort"]


class PY:
    """Pitman-Yor draws over a name stock: curated head with Zipf pseudo-counts, new tail names keep appearing."""

    def __init__(self, r, head, tail, alpha, theta, head_mass, s=1.05):
        self.r, self.tail, self.alpha, self.theta = r, tail, alpha, theta
        self.names, self.counts = [], []
        z = sum(1 / (i + 1) ** s for i in range(len(head)))
        for i, n in enumerate(head):
            self.names.append(n)
            self.counts.append(max(1, round(head_mass * (1 / (i + 1) ** s) / z)))
        self.tokens = [i for i, c in enumerate(self.counts) for _ in range(c)]
        self.total = sum(self.counts)

    def draw(self):
        r = self.r
        K = len(self.names)
        pnew = (self.theta + self.alpha * K) / (self.total + self.theta)
        if r.random() < pnew:
            n = self.tail(r)
            self.names.append(n)
            self.counts.append(1)
            self.tokens.append(K)
            self.total += 1
            return n
        # existing name with weight (count - alpha): a uniform earlier token, kept with prob (c - alpha)/c
        while True:
            i = self.tokens[int(r.random() * len(self.tokens))]
            c = self.counts[i]
            if r.random() * c < c - self.alpha:
                break
        self.counts[i] += 1
        self.tokens.append(i)
        self.total += 1
        return self.names[i]


# ---------------------------------------------------------------- villages
REAL_VILLAGES = "Kireka Nansana Kawempe Mukono Bweyogerere Ntinda Kisenyi Mengo Namugongo Kasangati Gayaza Wakiso Kajjansi Entebbe Seeta Kyaliwajjala Bukoto Kamwokya Najjera Kira Matugga Bombo Luwero Wobulenzi Mpigi Buloba Nsangi Kyengera Masaka Jinja Lugazi Njeru Iganga Kayunga Busia Tororo Mbale Soroti Lira Gulu".split()


def make_villages(r, n=420):
    vs = list(REAL_VILLAGES)
    seen = set(vs)
    g = _mk(["Ka", "Na", "Bu", "Ki", "Lu", "Mu", "Nsa", "Kya", "Bwe", "Nda", "Ma", "Ny"], BANTU_S, minn=1, maxn=2)
    while len(vs) < n:
        v = g(r)
        if v not in seen and len(v) >= 5:
            seen.add(v)
            vs.append(v)
    r.shuffle(vs)
    w = [1 / (i + 1) ** 0.75 for i in range(len(vs))]
    return vs, w


# ---------------------------------------------------------------- origins
ORIGINS = [  # name, share
    ("ganda", 0.36), ("luo", 0.15), ("ke", 0.14), ("tz", 0.08), ("mus", 0.15), ("sa", 0.07), ("eu", 0.05)]


class Stocks:
    def __init__(self, r):
        self.r = r
        A = 0.7    # discount: distinct names grow about as n**0.7 beyond the head
        self.fam = {
            "ganda_f": PY(r, GANDA_FAM_F, TAIL["ganda_f"], A, 300, 600, s=0.8),
            "ganda_m": PY(r, GANDA_FAM_M, TAIL["ganda_m"], A, 300, 700, s=0.8),
            "luo": PY(r, LUO_FAM, TAIL["luo"], A, 250, 600, s=0.8),
            "ke": PY(r, KE_FAM, TAIL["ke"], A, 250, 600, s=0.8),
            "tz": PY(r, TZ_FAM, TAIL["tz"], A, 80, 400),
            "mus": PY(r, MUS_FAM, TAIL["mus"], A, 60, 600),
            "sa": PY(r, SA_FAM, TAIL["sa"], 0.45, 40, 500),
            "eu": PY(r, EU_FAM, self._eu_tail, 0.6, 60, 150),
        }
        G = 0.35   # given names: heavier head, slower growing tail
        native = lambda key: (lambda rr: TAIL[key](rr) if rr.random() < 0.85 else rr.choice(VIRTUE))
        self.given = {
            ("chr", "M"): PY(r, CHR_M, native("ganda_m"), G, 40, 3000, s=0.9),
            ("chr", "F"): PY(r, CHR_F, native("ganda_f"), G, 40, 3000, s=0.9),
            ("tz", "M"): PY(r, TZ_M, native("tz"), G, 20, 400),
            ("tz", "F"): PY(r, TZ_F, native("tz"), G, 20, 400),
            ("mus", "M"): PY(r, MUS_M, TAIL["mus"], G, 15, 1000, s=1.2),
            ("mus", "F"): PY(r, MUS_F, TAIL["mus"], G, 15, 1000, s=1.0),
            ("sa", "M"): PY(r, SA_M, TAIL["sa"], 0.4, 15, 300),
            ("sa", "F"): PY(r, SA_F, TAIL["sa"], 0.4, 15, 300),
            ("eu", "M"): PY(r, EU_M, TAIL["eu"], 0.4, 15, 120),
            ("eu", "F"): PY(r, EU_F, TAIL["eu"], 0.4, 15, 120),
        }

    def _eu_tail(self, r):
        base = TAIL["eu"](r)
        return base + r.choice(EU_ENDS)

    def family(self, origin, sex):
        r = self.r
        if origin == "ganda":
            return self.fam["ganda_f" if sex == "F" else "ganda_m"].draw()
        if origin == "mus" and r.random() < 0.35:   # Ugandan Muslims often carry Ganda names
            return self.fam["ganda_f" if sex == "F" else "ganda_m"].draw()
        f = self.fam[origin].draw()
        if origin == "eu" and r.random() < 0.06:
            f = f + "-" + self.fam["eu"].draw()
        return f

    def given1(self, origin, sex):
        s = sex if sex in "MF" else self.r.choice("MF")
        key = {"ganda": "chr", "luo": "chr", "ke": "chr"}.get(origin, origin)
        return self.given[(key, s)].draw()

    def given_name(self, origin, sex):
        r = self.r
        g = self.given1(origin, sex)
        if r.random() < 0.22:  # a second given name (Christian + native, John Bosco, Mohammed Ali, Anna Maria)
            if origin in ("ganda", "luo", "ke") and r.random() < 0.5:
                second = self.family(origin, sex) if origin != "ganda" else self.fam["ganda_f" if sex == "F" else "ganda_m"].draw()
            else:
                second = self.given1(origin, sex)
            if second != g:
                g = g + " " + second
        return g


def spell(r, name):
    """Pick a registry spelling of each word that belongs to a spelling group."""
    out = []
    for w in name.split(" "):
        if w in SPELL_OF:
            forms, wt = SPELL_OF[w]
            w = r.choices(forms, wt)[0]
        out.append(w)
    return " ".join(out)


# ---------------------------------------------------------------- people
def age_to_dob(r, age_years):
    days = int(age_years * 365.25) + r.randint(0, 364)
    d = TODAY - dt.timedelta(days=days)
    return d


AGE_NOISE = 1.0   # scale of age-estimate errors (--age-noise; sensitivity runs only)
HEAPING = 0.4     # share of adult estimates rounded to a multiple of 5 (--heaping)


def est_sd(age):
    return AGE_NOISE * (0.4 if age < 5 else 1.3 if age < 18 else 2.5 if age < 45 else 3.5 if age < 65 else 4.5)


def estimate_age(r, true_dob):
    """A clerk's / patient's estimate of age in whole years (with heaping at multiples of 5)."""
    age = (TODAY - true_dob).days / 365.25
    if age < 2:
        return max(0, int(age))
    e = age + r.gauss(0, est_sd(age))
    if age >= 18 and r.random() < HEAPING:
        e = 5 * round(e / 5)
    return max(0, int(round(e)))


def age_years(d):
    return (TODAY - d).days / 365.25


def est_date(r, true_dob):
    """How a registry stores an estimate: 1 July (idcards' --age) or 1 January (older systems)."""
    a = estimate_age(r, true_dob)
    y = TODAY.year - a
    if TODAY < dt.date(TODAY.year, 7, 1):
        y -= 1
    day = "07-01" if r.random() < 0.7 else "01-01"
    return f"{y}-{day}"


def uuid4(r):
    h = "%032x" % r.getrandbits(128)
    h = h[:12] + "4" + h[13:16] + r.choice("89ab") + h[17:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_phone(r):
    cc = r.choices(["256", "254", "255"], [85, 10, 5])[0]
    pre = {"256": ["772", "782", "701", "752", "756", "703", "774", "789", "705"],
           "254": ["722", "712", "733", "701", "790"], "255": ["754", "713", "765", "682"]}[cc]
    return cc, r.choice(pre) + "".join(str(r.randint(0, 9)) for _ in range(6))


def fmt_phone(r, ph, style=None):
    cc, nat = ph
    style = style or r.choices(["0", "+", "0sp", "cc", "+sp"], [50, 20, 15, 5, 10])[0]
    if style == "0":
        return "0" + nat
    if style == "+":
        return "+" + cc + nat
    if style == "0sp":
        return "0" + nat[:3] + " " + nat[3:6] + " " + nat[6:]
    if style == "cc":
        return cc + nat
    return "+" + cc + " " + nat[:3] + " " + nat[3:]


class Pop:
    def __init__(self, r):
        self.r = r
        self.st = Stocks(r)
        self.villages, self.vw = make_villages(r)
        self.people = []
        self.hh = 0
        self.stats = collections.Counter()

    def person(self, hh, origin, sex, given, family, dob, village, phone):
        p = dict(uuid=uuid4(self.r), hh=hh, origin=origin, sex=sex, given=given, family=family, dob=dob,
                 village=village, phone=phone)
        self.people.append(p)
        return p

    def household(self):
        r, st = self.r, self.st
        self.hh += 1
        hh = self.hh
        origin = r.choices([o for o, _ in ORIGINS], [w for _, w in ORIGINS])[0]
        village = r.choices(self.villages, self.vw)[0] if r.random() < 0.97 else r.choice(self.villages)
        size = r.choices([1, 2, 3, 4, 5, 6, 7], [30, 18, 16, 14, 10, 7, 5])[0]
        out = []
        if size == 1:
            age = r.choices([r.uniform(0, 15), r.uniform(15, 50), r.uniform(50, 92)], [20, 55, 25])[0]
            sex = r.choices("MFU", [44, 55, 1])[0]
            fam = st.family(origin, sex)
            ph = new_phone(r) if (age >= 16 and r.random() < 0.7) or (age < 16 and r.random() < 0.5) else None
            out.append(self.person(hh, origin, sex, spell(r, st.given_name(origin, sex)), spell(r, fam), age_to_dob(r, age), village, ph))
            return out
        # parents
        father_present = r.random() < 0.7
        mum_age = r.uniform(18, 70)
        hfam = spell(r, st.family(origin, "M"))   # household family name, as the household spells it
        fam_phone = new_phone(r) if r.random() < 0.8 else None
        mum = None
        father = None
        if father_present:
            fa = mum_age + r.uniform(-2, 12)
            father = self.person(hh, origin, "M", spell(r, st.given_name(origin, "M")), hfam, age_to_dob(r, fa), village,
                                 fam_phone if r.random() < 0.8 else (new_phone(r) if r.random() < 0.5 else None))
            out.append(father)
        # mother: shares the household family name (married) 70%, otherwise her own
        mfam = hfam if (father_present and r.random() < 0.7) or not father_present else spell(r, st.family(origin, "F"))
        if origin == "ganda" and r.random() < 0.5:
            mfam = spell(r, st.family(origin, "F"))
        mum = self.person(hh, origin, "F", spell(r, st.given_name(origin, "F")), mfam, age_to_dob(r, mum_age), village,
                          (new_phone(r) if r.random() < 0.5 else fam_phone) if r.random() < 0.85 else None)
        out.append(mum)
        nkids = size - len(out)
        k = 0
        junior_done = False
        kage = mum_age - r.uniform(16, min(30, max(16.5, mum_age - 1)))   # the eldest child
        while k < nkids:
            if kage < 0:
                break
            sex = r.choice("MF")
            cfam = hfam
            if origin == "ganda" and r.random() < 0.4:   # Baganda children often carry their own clan name
                cfam = spell(r, st.family(origin, sex))
            kphone = mum["phone"] if r.random() < 0.6 else (new_phone(r) if kage > 15 and r.random() < 0.6 else None)
            kdob = age_to_dob(r, kage)
            if father is not None and sex == "M" and not junior_done and r.random() < 0.06:
                junior_done = True
                # junior: father's given name (and family name), a different birth date
                g = father["given"]
                cfam = father["family"]
                self.stats["junior"] += 1
            else:
                g = spell(r, st.given_name(origin, sex))
            out.append(self.person(hh, origin, sex, g, cfam, kdob, village, kphone))
            k += 1
            if k < nkids + 1 and r.random() < 0.03:
                # twins: same birth date and family name, different given names
                sex2 = r.choice("MF")
                if origin == "ganda" and r.random() < 0.6:
                    tw = {"M": ["Wasswa", "Kato"], "F": ["Babirye", "Nakato"]}
                    out[-1]["given"] = tw[sex][0] if r.random() < 0.6 else tw[sex][0] + " " + out[-1]["given"].split(" ")[0]
                    g2 = tw[sex2][1]
                else:
                    g2 = spell(r, st.given_name(origin, sex2))
                    while g2 == out[-1]["given"]:
                        g2 = spell(r, st.given_name(origin, sex2))
                twin = self.person(hh, origin, sex2, g2, out[-1]["family"], kdob, village, kphone)
                twin["twin_of"] = out[-1]["uuid"]
                out[-1]["twin_of"] = twin["uuid"]
                out.append(twin)
                self.stats["twin_pairs"] += 1
                k += 1
            kage -= r.uniform(1.3, 4.5)   # birth spacing of siblings
        return out


# ---------------------------------------------------------------- registry record (how the desk stored it)
def stored(r, p):
    """The registry's view of a person: estimated date for about half, phone/village on a subset."""
    age = age_years(p["dob"])
    pest = 0.25 if age < 5 else 0.45 if age < 18 else 0.55 if age < 60 else 0.8
    rec = dict(uuid=p["uuid"], given=p["given"], family=p["family"], sex=p["sex"])
    if r.random() < 0.01:
        rec["dob"], rec["est"] = "", 0         # an old paper register without a date
    elif r.random() < pest:
        rec["dob"], rec["est"] = est_date(r, p["dob"]), 1
    else:
        rec["dob"], rec["est"] = p["dob"].isoformat(), 0
    rec["phone"] = fmt_phone(r, p["phone"]) if p["phone"] and r.random() < 0.85 else ""
    rec["village"] = p["village"] if r.random() < 0.88 else ""
    if p["sex"] != "U" and r.random() < 0.005:
        rec["sex"] = "U"
    return rec


# ---------------------------------------------------------------- clerk variation
KB = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
NEIGH = {}
for _ri, _row in enumerate(KB):
    for _ci, _ch in enumerate(_row):
        nb = set()
        for dr in (-1, 0, 1):
            rr = _ri + dr
            if 0 <= rr < 3:
                for dc in (-1, 0, 1):
                    cc = _ci + dc + (0 if dr == 0 else (0 if dr < 0 else -0))
                    if 0 <= cc < len(KB[rr]) and not (dr == 0 and dc == 0):
                        nb.add(KB[rr][cc])
        NEIGH[_ch] = "".join(sorted(nb))
VOW = "aeiou"


def typo_word(r, w):
    """One clerical slip in a word: keyboard neighbour, delete, insert/double, transpose, vowel swap."""
    if len(w) < 3:
        return w + r.choice("aeiou"), "insert"
    lo = 0 if r.random() < 0.08 else 1
    i = r.randint(lo, len(w) - 1)
    kind = r.choices(["kbd", "delete", "insert", "transpose", "vowel", "double"], [28, 20, 14, 14, 12, 12])[0]
    c = w[i]
    cl = c.lower()
    def keep_case(new):
        return new.upper() if c.isupper() else new
    if kind == "kbd" and cl in NEIGH:
        return w[:i] + keep_case(r.choice(NEIGH[cl])) + w[i + 1:], kind
    if kind == "delete":
        return w[:i] + w[i + 1:], kind
    if kind == "insert":
        ins = r.choice(NEIGH.get(cl, "aeiou") + cl)
        return w[:i + 1] + ins + w[i + 1:], kind
    if kind == "transpose" and i < len(w) - 1 and w[i] != w[i + 1]:
        a, b = w[i], w[i + 1]
        if i == 0:
            a, b = a.lower(), b.upper()
        return w[:i] + b + a + w[i + 2:], kind
    if kind == "vowel" and cl in VOW:
        return w[:i] + keep_case(r.choice([v for v in VOW if v != cl])) + w[i + 1:], kind
    if kind == "double":
        # double a single letter or undouble a doubled one (Nakato/Nakatto, Ssemakula/Semakula)
        for j in range(1, len(w) - 1):
            if w[j] == w[j + 1] and w[j].isalpha():
                return w[:j] + w[j + 1:], "undouble"
        j = r.randint(1, len(w) - 1)
        return w[:j] + w[j] + w[j:], "double"
    return w[:i] + keep_case(r.choice("abcdefghijklmnoprstuwyz")) + w[i + 1:], "subst"


ORTHO = [("ph", "f"), ("ck", "k"), ("c", "k"), ("ie", "y"), ("ou", "u"), ("ee", "i"), ("l", "r"), ("r", "l"),
         ("th", "t"), ("sh", "s"), ("y", "i"), ("w", "u"), ("j", "dj"), ("ch", "c"), ("ss", "s"), ("tt", "t"),
         ("gg", "g"), ("bb", "b"), ("kk", "k")]


def ortho_word(r, w):
    """A spelling the clerk hears differently (l/r, doubled letters, ph/f, ie/y ...)."""
    low = w.lower()
    opts = [(a, b) for a, b in ORTHO if a in low[1:]]
    if not opts:
        return None
    a, b = r.choice(opts)
    i = low.index(a, 1)
    return w[:i] + b + w[i + len(a):]


def translit(r, s):
    """ASCII form as a clerk types it; German/Nordic letters sometimes written as digraphs."""
    m = {"ß": ["ss"], "Ł": ["L"], "ł": ["l"], "Ø": ["O", "Oe"], "ø": ["o", "oe"], "Đ": ["D", "Dj"], "đ": ["d", "dj"],
         "ü": ["u", "ue"], "ö": ["o", "oe"], "ä": ["a", "ae"], "å": ["a", "aa"], "æ": ["ae"], "Æ": ["Ae"]}
    out = []
    for ch in s:
        if ch in m:
            out.append(r.choice(m[ch]))
        else:
            d = unicodedata.normalize("NFD", ch)
            out.append("".join(x for x in d if not unicodedata.combining(x)))
    return "".join(out)


def is_ascii(s):
    return all(ord(c) < 128 for c in s)


JOINABLE = ("Abdul ", "Al ", "Bin ", "Ben ", "Van der ", "De ", "Mac", "O'")


def split_join(r, name):
    """Compound names written split or joined: Abdul Rahman / Abdulrahman, Van der Berg / Vanderberg, Smith-Jones / Smith Jones."""
    if "-" in name:
        a, b = name.split("-", 1)
        u = r.random()
        return a + " " + b if u < 0.5 else a + b.lower() if u < 0.75 else a
    if " " in name:
        for p in JOINABLE:
            if name.startswith(p) and " " in p:
                rest = name[len(p):]
                return p.replace(" ", "") + rest.lower()
        return None
    for pre in ("Abdul", "Abdi", "Abu", "Mac"):   # only true compounds: Abdulrahman, Abdirahman, Abubakar, MacDonald
        if name.startswith(pre) and len(name) >= len(pre) + 4 and name[len(pre)].lower() in "rkamhsbd":
            return pre + " " + name[len(pre)].upper() + name[len(pre) + 1:]
    return None


def vary_name(r, name, tags, slot, st, origin, sex):
    # spelling group
    words = name.split(" ")
    if any(w in SPELL_OF for w in words) and r.random() < 0.35:
        nw = []
        for w in words:
            if w in SPELL_OF:
                forms = [f for f in SPELL_OF[w][0] if f != w]
                w = r.choice(forms)
            nw.append(w)
        name = " ".join(nw)
        tags.append(slot + ":variant")
    # diacritics typed in ASCII
    if not is_ascii(name) and r.random() < 0.6:
        name = translit(r, name)
        tags.append(slot + ":ascii")
    # compound split/join
    sj = split_join(r, name)
    if sj and r.random() < 0.4:
        name = sj
        tags.append(slot + ":splitjoin")
    # heard/written differently (orthographic)
    if r.random() < 0.06:
        words = name.split(" ")
        i = r.randrange(len(words))
        o = ortho_word(r, words[i])
        if o:
            words[i] = o
            name = " ".join(words)
            tags.append(slot + ":ortho")
    # typo
    if r.random() < 0.11:
        words = name.split(" ")
        i = r.randrange(len(words))
        words[i], k = typo_word(r, words[i])
        name = " ".join(words)
        tags.append(slot + ":typo")
        if r.random() < 0.12:   # a second slip in the same name
            words = name.split(" ")
            i = r.randrange(len(words))
            words[i], k = typo_word(r, words[i])
            name = " ".join(words)
            tags.append(slot + ":typo2")
    # middle name added / dropped (given names only)
    if slot == "given" and r.random() < 0.08:
        words = name.split(" ")
        if len(words) > 1:
            words.pop(r.randrange(len(words)))
            tags.append("given:drop_middle")
        else:
            extra = st.given1(origin, sex) if r.random() < 0.6 else st.family(origin, sex)
            if extra != words[0]:
                words.insert(r.randint(0, 1), extra)
                tags.append("given:add_middle")
        name = " ".join(words)
    return name


def query_dob(r, rec, p, tags):
    """Returns (birth_date, estimated, age) as typed at the desk."""
    true = p["dob"]
    if rec["dob"] == "":
        u = r.random()
        if u < 0.3:
            tags.append("dob:missing_both")
            return "", "", ""
        tags.append("dob:reg_missing")
        return _estimate_or_exact(r, true, tags, exact_p=0.5)
    if rec["est"] == 0:
        u = r.random()
        if u < 0.58:
            tags.append("dob:exact")
            return rec["dob"], "0", ""
        d = dt.date.fromisoformat(rec["dob"])
        if u < 0.63 and d.day <= 12 and d.day != d.month:
            tags.append("dob:daymonth_swap")
            return dt.date(d.year, d.day, d.month).isoformat(), "0", ""
        if u < 0.68:
            tags.append("dob:year_pm1")
            y = d.year + r.choice([-1, 1])
            try:
                return d.replace(year=y).isoformat(), "0", ""
            except ValueError:
                return dt.date(y, 2, 28).isoformat(), "0", ""
        if u < 0.71:
            tags.append("dob:day_slip")
            nd = max(1, min(28, d.day + r.choice([-1, 1, -10, 10])))
            return d.replace(day=nd).isoformat(), "0", ""
        if u < 0.92:
            tags.append("dob:exact_reg_est_query")
            return _estimate(r, true, tags)
        tags.append("dob:missing")
        return "", "", ""
    # registry holds an estimate
    u = r.random()
    if u < 0.3:
        tags.append("dob:same_estimate")
        return rec["dob"], "1", ""
    if u < 0.68:
        tags.append("dob:est_reg_fresh_estimate")
        return _estimate(r, true, tags)
    if u < 0.9:
        tags.append("dob:est_reg_exact_query")
        return true.isoformat(), "0", ""
    tags.append("dob:missing")
    return "", "", ""


def _estimate_or_exact(r, true, tags, exact_p):
    if r.random() < exact_p:
        return true.isoformat(), "0", ""
    return _estimate(r, true, tags)


def _estimate(r, true, tags):
    a = estimate_age(r, true)
    u = r.random()
    if u < 0.5:
        tags.append("dobfmt:age")
        return "", "", str(a)
    y = TODAY.year - a - (1 if TODAY < dt.date(TODAY.year, 7, 1) else 0)
    day = "07-01" if r.random() < 0.6 else "01-01"
    if u < 0.9:
        tags.append("dobfmt:est_date")
        return f"{y}-{day}", "1", ""
    tags.append("dobfmt:est_date_noflag")
    return f"{y}-{day}", "0", ""


def returning_query(r, rec, p, st, villages, vw):
    tags = []
    g = vary_name(r, rec["given"], tags, "given", st, p["origin"], p["sex"])
    f = vary_name(r, rec["family"], tags, "family", st, p["origin"], p["sex"])
    if r.random() < 0.06:
        g, f = f, g
        tags.append("swap")
    sex = rec["sex"] if rec["sex"] != "U" else p["sex"]
    u = r.random()
    if u < 0.03:
        sex = "U"
        tags.append("sex:unknown")
    elif u < 0.04 and sex in "MF":
        sex = "F" if sex == "M" else "M"
        tags.append("sex:wrong")
    bd, est, age = query_dob(r, rec, p, tags)
    if bd and dt.date.fromisoformat(bd) > TODAY:   # a slip into the future is refused at the desk: typed again right
        bd, est, age = rec["dob"], str(rec["est"]), ""
        tags[:] = [t for t in tags if not t.startswith("dob")] + ["dob:exact" if rec["est"] == 0 else "dob:same_estimate"]
    # phone
    ph = ""
    if rec["phone"]:
        u = r.random()
        if u < 0.40:
            ph = rec["phone"]; tags.append("phone:same")
        elif u < 0.65:
            for _ in range(5):
                ph = fmt_phone(r, p["phone"])
                if ph != rec["phone"]:
                    break
            tags.append("phone:reformatted")
        elif u < 0.88:
            tags.append("phone:missing")
        else:
            ph = fmt_phone(r, new_phone(r)); tags.append("phone:changed")
    else:
        if r.random() < 0.3:
            ph = fmt_phone(r, p["phone"] or new_phone(r)); tags.append("phone:new_vs_none")
        else:
            tags.append("phone:none")
    # village
    v = ""
    if rec["village"]:
        u = r.random()
        if u < 0.65:
            v = rec["village"]; tags.append("village:same")
        elif u < 0.83:
            tags.append("village:missing")
        elif u < 0.95:
            w = ortho_word(r, rec["village"]) if r.random() < 0.4 else None
            v = w or typo_word(r, rec["village"])[0]; tags.append("village:misspelled")
        else:
            v = r.choices(villages, vw)[0]; tags.append("village:moved")
    else:
        if r.random() < 0.4:
            v = p["village"]; tags.append("village:new_vs_none")
        else:
            tags.append("village:none")
    return dict(given=g, family=f, sex=sex, birth_date=bd, birth_date_estimated=est, age=age, phone=ph, village=v), tags


def new_query(r, p):
    """A new person at the desk, typed as the desk types anyone."""
    tags = []
    age = age_years(p["dob"])
    pest = 0.25 if age < 5 else 0.45 if age < 18 else 0.55 if age < 60 else 0.8
    if r.random() < pest:
        bd, est, ag = _estimate(r, p["dob"], tags)
    else:
        bd, est, ag = p["dob"].isoformat(), "0", ""
    ph = fmt_phone(r, p["phone"]) if p["phone"] and r.random() < 0.8 else ""
    v = p["village"] if r.random() < 0.85 else ""
    return dict(given=p["given"], family=p["family"], sex=p["sex"] if p["sex"] != "U" else "U", birth_date=bd,
                birth_date_estimated=est, age=ag, phone=ph, village=v), tags


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--out", required=True)
    ap.add_argument("--age-noise", type=float, default=1.0, help="scale of age-estimate errors (sensitivity runs)")
    ap.add_argument("--heaping", type=float, default=0.4, help="share of adult age estimates rounded to a multiple of 5")
    a = ap.parse_args()
    global AGE_NOISE, HEAPING
    AGE_NOISE, HEAPING = a.age_noise, a.heaping
    os.makedirs(a.out, exist_ok=True)
    r = random.Random(a.seed)
    pop = Pop(r)
    # households until the registry is full; 4 % of people are not (yet) registered: relatives who come later
    registry, held_rel = [], []
    while len(registry) < a.n:
        for p in pop.household():
            if r.random() < 0.04:
                held_rel.append(p)
            else:
                registry.append(p)
    registry = registry[:a.n]
    reg_uuids = set(p["uuid"] for p in registry)
    # fresh strangers from the same distributions (the stocks keep growing a little, as a registry's do)
    strangers = []
    while len(strangers) < a.queries:
        strangers.extend(pop.household())
    recs = [stored(r, p) for p in registry]
    rec_by_uuid = {x["uuid"]: x for x in recs}
    person_by_uuid = {p["uuid"]: p for p in registry}

    with open(os.path.join(a.out, "registry.csv"), "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["uuid", "given_name", "family_name", "sex", "birth_date", "birth_date_estimated", "phone", "village"])
        for x in recs:
            w.writerow([x["uuid"], x["given"], x["family"], x["sex"], x["dob"], x["est"] if x["dob"] else "", x["phone"], x["village"]])

    with open(os.path.join(a.out, "people.csv"), "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)   # the hidden truth about registry patients: household, origin, true birth date, twin
        w.writerow(["uuid", "hh", "origin", "true_dob", "twin_of"])
        for p in registry:
            w.writerow([p["uuid"], p["hh"], p["origin"], p["dob"].isoformat(), p.get("twin_of", "")])

    nret = a.queries // 2
    nnew = a.queries - nret
    ret_people = r.sample(registry, nret)
    n_rel = min(len(held_rel), int(nnew * 0.35))
    new_people = r.sample(held_rel, n_rel) + r.sample(strangers, nnew - n_rel)
    items = [("ret", p) for p in ret_people] + [("new", p) for p in new_people]
    r.shuffle(items)
    with open(os.path.join(a.out, "queries_meta.jsonl"), "w", encoding="utf-8") as fh:
        for i, (kind, p) in enumerate(items):
            qid = f"q{i + 1:05d}"
            if kind == "ret":
                rec = rec_by_uuid[p["uuid"]]
                q, tags = returning_query(r, rec, p, pop.st, pop.villages, pop.vw)
                truth = p["uuid"]
                reg = rec
            else:
                q, tags = new_query(r, p)
                truth = ""
                reg = None
                tags.append("new:relative_of_registered" if p in held_rel else "new:stranger")
            rel = dict(twin_in_registry=bool(p.get("twin_of") and p["twin_of"] in reg_uuids))
            fh.write(json.dumps(dict(id=qid, kind=kind, truth_uuid=truth, tags=tags, query=q, registry=reg,
                                     origin=p["origin"], true_dob=p["dob"].isoformat(), hh=p["hh"],
                                     twin_in_registry=rel["twin_in_registry"]), ensure_ascii=False) + "\n")

    # ------------------------------------------------------------ stats
    gw = collections.Counter()
    gfull = collections.Counter()
    fam = collections.Counter()
    for x in recs:
        gfull[x["given"]] += 1
        for wd in x["given"].split(" "):
            gw[wd] += 1
        fam[x["family"]] += 1
    n = len(recs)
    lines = []
    lines.append(f"registry patients: {n}  households: {len(set(person_by_uuid[x['uuid']]['hh'] for x in recs))}  seed {a.seed}")
    lines.append(f"distinct given names (full): {len(gfull)}  distinct given words: {len(gw)}  distinct family names: {len(fam)}")
    lines.append(f"family names held by one patient only: {sum(1 for c in fam.values() if c == 1)} ({100*sum(1 for c in fam.values() if c == 1)/n:.2f} % of patients)")
    lines.append(f"given words held by one patient only: {sum(1 for c in gw.values() if c == 1)}")
    lines.append("top 10 family names: " + ", ".join(f"{k} {c} ({100*c/n:.2f}%)" for k, c in fam.most_common(10)))
    lines.append("top 10 given words: " + ", ".join(f"{k} {c} ({100*c/n:.2f}%)" for k, c in gw.most_common(10)))
    lines.append("top 10 full names: " + ", ".join(f"{k} {c}" for k, c in collections.Counter((x['given'], x['family']) for x in recs).most_common(10)))
    lines.append(f"two-word given names: {100*sum(1 for x in recs if ' ' in x['given'])/n:.1f} %; multi-part family names: {100*sum(1 for x in recs if ' ' in x['family'] or '-' in x['family'])/n:.1f} %; non-ASCII names: {100*sum(1 for x in recs if not is_ascii(x['given']+x['family']))/n:.2f} %")
    lines.append(f"estimated birth dates: {100*sum(1 for x in recs if x['est'] == 1)/n:.1f} %; no birth date: {100*sum(1 for x in recs if not x['dob'])/n:.1f} %; phone: {100*sum(1 for x in recs if x['phone'])/n:.1f} %; village: {100*sum(1 for x in recs if x['village'])/n:.1f} %")
    vc = collections.Counter(x["village"] for x in recs if x["village"])
    lines.append(f"villages used: {len(vc)}; top 5: " + ", ".join(f"{k} {100*c/n:.1f}%" for k, c in vc.most_common(5)))
    phc = collections.Counter(person_by_uuid[x["uuid"]]["phone"] for x in recs if x["phone"])
    lines.append(f"phones shared by 2+ registry records: {sum(1 for c in phc.values() if c > 1)} numbers, {sum(c for c in phc.values() if c > 1)} records")
    tw = sum(1 for p in registry if p.get("twin_of") in reg_uuids) // 2
    lines.append(f"twin pairs both registered: {tw}; juniors generated (son named after father): {pop.stats['junior']}")
    oc = collections.Counter(p["origin"] for p in registry)
    lines.append("origins: " + ", ".join(f"{k} {100*c/n:.1f}%" for k, c in oc.most_common()))
    lines.append(f"queries: {a.queries} ({nret} returning, {nnew} new: {n_rel} unregistered relatives of registered households, {nnew-n_rel} strangers)")
    txt = "\n".join(lines)
    print(txt)
    with open(os.path.join(a.out, "stats.txt"), "w") as fh:
        fh.write(txt + "\n")


if __name__ == "__main__":
    main()
