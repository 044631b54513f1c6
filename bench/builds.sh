# Sourced by the bench scripts that compare this tree with a git revision:
# build_both WORK builds this tree as WORK/idcards-this and, when $BASE is
# set, revision $BASE as WORK/idcards-base, and sets $builds to the names
# to alternate run by run ("this", or "base this").
build_both() {
	builds="this"
	go build -o "$1/idcards-this" ./cmd/idcards
	if [ -n "${BASE:-}" ]; then
		mkdir "$1/src"
		git archive "$BASE" | tar -x -C "$1/src"
		(cd "$1/src" && go build -o "$1/idcards-base" ./cmd/idcards)
		builds="base this"
	fi
}
