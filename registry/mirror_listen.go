package registry

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// On PostgreSQL a Mirror does not need to poll the feed every MirrorLag:
// the verify_changes trigger NOTIFYs at each commit that feeds it
// (migrations/postgres/0010_verify_changes.sql), and the mirror LISTENs on
// a connection of its own and reads the feed at once. The poll stays, every
// pgFallbackPoll, for notifications lost while that connection was down
// (they are not queued for a listener that is not connected).
const pgFallbackPoll = time.Second

func (m *Mirror) pollEvery() time.Duration {
	if m.s.dialect.postgres() && m.lag == MirrorLag {
		return pgFallbackPoll
	}
	return m.lag
}

// listen returns a channel that receives after other processes' commits to
// the feed (nil — never ready — on SQLite), and a function that stops
// listening.
func (m *Mirror) listen() (<-chan struct{}, func()) {
	if !m.s.dialect.postgres() || m.s.pgCfg == nil {
		return nil, func() {}
	}
	kick := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			err := m.listenOnce(ctx, kick)
			if ctx.Err() != nil {
				return
			}
			if m.logf != nil {
				m.logf("mirror: listening for changes: %v (polling every %s until it reconnects)", err, pgFallbackPoll)
			}
			select {
			case <-ctx.Done():
			case <-time.After(pgFallbackPoll):
			}
		}
	}()
	return kick, func() { cancel(); wg.Wait() }
}

// listenOnce connects, LISTENs and forwards notifications until an error.
func (m *Mirror) listenOnce(ctx context.Context, kick chan<- struct{}) error {
	conn, err := pgx.ConnectConfig(ctx, m.s.pgCfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `LISTEN `+pgNotifyChannel); err != nil {
		return err
	}
	// Changes made while not listening are caught by this first read.
	select {
	case kick <- struct{}{}:
	default:
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		m.notified.Add(1)
		select {
		case kick <- struct{}{}:
		default: // a refresh is already due; it reads everything fed so far
		}
	}
}
