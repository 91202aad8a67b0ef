package commands

import (
	"sync"
)

// cache keeps recently used aggregates so that a command does not reload
// one from the log each time. It is bounded: past its size it forgets an
// arbitrary half, which costs only reloads.
type cache struct {
	mu   sync.Mutex
	max  int
	data map[string]any
}

func newCache(max int) *cache { return &cache{max: max, data: make(map[string]any)} }

func (c *cache) get(k string) (any, bool) {
	c.mu.Lock()
	v, ok := c.data[k]
	c.mu.Unlock()
	return v, ok
}

func (c *cache) put(k string, v any) {
	c.mu.Lock()
	if len(c.data) >= c.max {
		n := 0
		for k := range c.data {
			delete(c.data, k)
			if n++; n >= c.max/2 {
				break
			}
		}
	}
	c.data[k] = v
	c.mu.Unlock()
}

func (c *cache) drop(k string) {
	c.mu.Lock()
	delete(c.data, k)
	c.mu.Unlock()
}

// keyedMutex serializes commands on the same aggregate within this process,
// so they queue instead of racing to a conflict and a reload.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu      sync.Mutex
	waiters int
}

func newKeyedMutex() *keyedMutex { return &keyedMutex{locks: make(map[string]*keyedLock)} }

func (m *keyedMutex) lock(k string) (unlock func()) {
	m.mu.Lock()
	l, ok := m.locks[k]
	if !ok {
		l = &keyedLock{}
		m.locks[k] = l
	}
	l.waiters++
	m.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		m.mu.Lock()
		if l.waiters--; l.waiters == 0 {
			delete(m.locks, k)
		}
		m.mu.Unlock()
	}
}
