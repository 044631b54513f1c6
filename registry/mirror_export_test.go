package registry

// TrimMirrorForTest runs a mirror's feed trim now (it runs once a minute).
func TrimMirrorForTest(m *Mirror) { m.trim() }
