package privatelink

import (
	"errors"
	"fmt"
	"strings"
)

// Status is the connection state of a private endpoint connection, with the
// values the SQL and Storage privateEndpointConnections APIs use.
type Status string

// Connection states.
const (
	Pending      Status = "Pending"
	Approved     Status = "Approved"
	Rejected     Status = "Rejected"
	Disconnected Status = "Disconnected"
)

// ParseStatus accepts the states a client may ask for, case-insensitively.
func ParseStatus(s string) (Status, error) {
	for _, st := range []Status{Pending, Approved, Rejected, Disconnected} {
		if strings.EqualFold(s, string(st)) {
			return st, nil
		}
	}
	return "", fmt.Errorf("parse connection status %q: want Approved or Rejected", s)
}

// ErrNoRoute is returned when a job dials a resource that has no approved
// private endpoint for it.
var ErrNoRoute = errors.New("no private endpoint route")

// ErrTransition is returned for a state change the lifecycle forbids, such
// as approving an endpoint that was already rejected.
var ErrTransition = errors.New("connection state cannot change")

// CanChange reports whether an owner may move a connection from one state to
// another. Pending may become Approved or Rejected; Approved may become
// Rejected (which cuts the route); Rejected and Disconnected are final.
func CanChange(from, to Status) bool {
	switch from {
	case Pending:
		return to == Approved || to == Rejected || to == Pending
	case Approved:
		return to == Rejected || to == Approved || to == Disconnected
	}
	return from == to
}
