package registry

// MirrorNotifiedForTest is how many change notifications a mirror received.
func MirrorNotifiedForTest(m *Mirror) int64 { return m.notified.Load() }
