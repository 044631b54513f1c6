# Sourced by bench/print.sh and bench/print-rss.sh: builds, with the
# idcards binary $1, a registry of $2 imported patients in $work/base.db
# (the names mix Unicode letters; every patient gets an MRN) and exports
# them to $work/export.csv, where the print scripts take their IDs from.
# The per-run copies of base.db use the original's audit key: the key is
# looked for next to the registry file, and a copy has none.
print_registry() {
	local bin=$1 n=$2
	export IDCARDS_DB="$work/base.db" IDCARDS_AUDIT_KEY="$work/base.db.auditkey" IDCARDS_LOG="$work/log"
	echo "== building a registry of $n patients" >&2
	"$bin" init --site KLA --scheme luhn-mod-30 >/dev/null 2>&1
	"$bin" cards setup --facility "Kisugu Health Centre III" >/dev/null
	awk -v n="$n" 'BEGIN {
	split("Nakato Amina Ngũgĩ Zoë Mukasa Birungi Kato Achieng Wanjiru Nsɛkɛ Okello Namata", g, " ")
	split("Ssebunya Namukwaya Kiwanuka Nabukenya Diallo Otieno Mugisha Atuhaire Nansubuga Ochieng", f, " ")
	srand(1); print "given_name,family_name,sex,birth_date,village"
	for (i = 0; i < n; i++) printf "%s %s,%s,%s,%d-%02d-%02d,Zone %d\n", g[int(rand()*12)+1], g[int(rand()*12)+1], f[int(rand()*10)+1], (rand() < 0.5 ? "F" : "M"), 1940+int(rand()*80), 1+int(rand()*12), 1+int(rand()*28), i
}' > "$work/patients.csv"
	"$bin" patients import "$work/patients.csv" --issue-missing >/dev/null
	rm -f "$work/export.csv"
	"$bin" patients export --out "$work/export.csv" >/dev/null
}
