package engine

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

var registry struct {
	sync.RWMutex
	drivers map[string]Driver
}

// Register makes a driver available to Lookup under its Name and under any
// extra schemes it lists by implementing Schemes() []string (for example
// "postgresql" beside "postgres"). Drivers call it from an init function.
// Registering a scheme twice panics, as it is a programming error.
func Register(d Driver) {
	registry.Lock()
	defer registry.Unlock()
	if registry.drivers == nil {
		registry.drivers = make(map[string]Driver)
	}
	names := []string{d.Name()}
	if s, ok := d.(interface{ Schemes() []string }); ok {
		names = append(names, s.Schemes()...)
	}
	for _, n := range names {
		if _, dup := registry.drivers[n]; dup {
			panic("engine: driver for scheme " + n + " registered twice")
		}
		registry.drivers[n] = d
	}
}

// Lookup returns the driver for a DSN's scheme ("sqlite:///…" → sqlite).
// It fails with ErrNotSupported naming the scheme when no driver is
// registered for it. The DSN itself never appears in the error, since it
// may carry a password.
func Lookup(dsn string) (Driver, error) {
	scheme, _, ok := strings.Cut(dsn, ":")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("look up driver: DSN has no scheme (want e.g. %s)",
			strings.Join(schemeExamples(), ", "))
	}
	scheme = strings.ToLower(scheme)
	registry.RLock()
	d := registry.drivers[scheme]
	registry.RUnlock()
	if d == nil {
		return nil, fmt.Errorf("look up driver for scheme %q: %w (registered: %s)",
			scheme, ErrNotSupported, strings.Join(Schemes(), ", "))
	}
	return d, nil
}

// Schemes lists the registered DSN schemes in order.
func Schemes() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.drivers))
	for n := range registry.drivers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func schemeExamples() []string {
	out := []string{}
	for _, s := range Schemes() {
		out = append(out, s+"://…")
	}
	return out
}
