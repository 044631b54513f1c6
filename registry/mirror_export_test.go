package registry

// TrimMirrorForTest runs a mirror's feed trim now (it runs once a minute).
func TrimMirrorForTest(m *Mirror) { m.trim() }

// MirrorRecordHitsForTest is how many VerifyRecord answers came from memory.
func MirrorRecordHitsForTest(m *Mirror) int64 { return m.recordHits.Load() }
