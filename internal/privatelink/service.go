package privatelink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/bacport/bacport/internal/jobs"
	"github.com/bacport/bacport/internal/store"
)

// Defaults for Config fields left zero.
const (
	DefaultApprovalTimeout = 24 * time.Hour
	DefaultHoldInterval    = time.Second
	DefaultSweepInterval   = 5 * time.Second
)

// Stable error codes of operations that private link refuses or fails.
const (
	CodeIsolationMismatch = "InvalidNetworkIsolationResource"
	CodeCrossCloud        = "NetworkIsolationCrossCloud"
	CodeRejected          = "PrivateEndpointConnectionRejected"
	CodeDeleted           = "PrivateEndpointConnectionDeleted"
	CodeApprovalTimeout   = "PrivateEndpointApprovalTimedOut"
)

// Config configures a Service.
type Config struct {
	Store   *store.Store
	Gateway *Gateway
	// ApprovalTimeout is how long an isolated job waits for both
	// approvals before it fails.
	ApprovalTimeout time.Duration
	// HoldInterval is how often a held job asks again.
	HoldInterval time.Duration
	// SweepInterval is how often Run looks for connections whose
	// operation ended without its job seeing it (a cancel while held).
	SweepInterval time.Duration
	Log           *slog.Logger
}

// Service is Private Link: it admits or refuses operations by the network
// rules of their resources, creates and deletes the connections of
// isolated operations, holds their jobs until both are approved, and
// routes the jobs' connections through the gateway. It implements
// jobs.Gate, jobs.Admitter and jobs.Router.
type Service struct {
	cfg   Config
	store *store.Store
	gw    *Gateway
	log   *slog.Logger

	mu      sync.Mutex
	running map[string]run // operation → its run in this process
}

var (
	_ jobs.Gate     = (*Service)(nil)
	_ jobs.Admitter = (*Service)(nil)
	_ jobs.Router   = (*Service)(nil)
)

// New creates the service's tables and returns it.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.ApprovalTimeout <= 0 {
		cfg.ApprovalTimeout = DefaultApprovalTimeout
	}
	if cfg.HoldInterval <= 0 {
		cfg.HoldInterval = DefaultHoldInterval
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Gateway == nil {
		cfg.Gateway = NewGateway(cfg.Log)
	}
	if err := migrate(ctx, cfg.Store); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, store: cfg.Store, gw: cfg.Gateway, log: cfg.Log,
		running: map[string]run{}}, nil
}

// Gateway returns the gateway the service routes through.
func (s *Service) Gateway() *Gateway { return s.gw }

// Admit refuses, before anything is recorded, an operation that can never
// run: without isolation, one that its server or storage account keeps
// out; with it, one whose isolation names the wrong resources or crosses
// clouds.
func (s *Service) Admit(ctx context.Context, op *store.Operation) error {
	if op.Request.NetworkIsolation == nil {
		return s.checkPublic(ctx, op)
	}
	_, _, err := s.plan(ctx, op)
	return err
}

func (s *Service) checkPublic(ctx context.Context, op *store.Operation) error {
	srv, err := s.server(ctx, op.ServerID)
	if err != nil {
		return fmt.Errorf("check network rules: %w", err)
	}
	acct, err := s.accountOf(ctx, op.Request.StorageURI)
	if err != nil {
		return fmt.Errorf("check network rules: %w", err)
	}
	sa := StorageAccess{}
	if acct != nil {
		sa = acct.Access
	}
	var ae *AccessError
	if err := CheckAccess(srv.Access, sa); errors.As(err, &ae) {
		return jobs.Errorf(CodeBlockedByNetworkRules, nil, "%s", ae.Error())
	}
	return nil
}

// plan checks an isolated operation's networkIsolation against its
// request and returns the two resources its connections lead to.
func (s *Service) plan(ctx context.Context, op *store.Operation) (*server, *account, error) {
	ni := op.Request.NetworkIsolation
	if !sameID(ni.SQLServerResourceID, op.ServerID) {
		return nil, nil, jobs.Errorf(CodeIsolationMismatch, nil,
			"networkIsolation.sqlServerResourceId %s is not the server of this request; give %s",
			ni.SQLServerResourceID, op.ServerID)
	}
	acct, err := s.account(ctx, ni.StorageAccountResourceID)
	if store.IsNotFound(err) {
		return nil, nil, jobs.Errorf(CodeIsolationMismatch, nil,
			"networkIsolation.storageAccountResourceId %s names no storage account bacport knows; "+
				"register the account first", ni.StorageAccountResourceID)
	}
	if err != nil {
		return nil, nil, err
	}
	if !acct.serves(op.Request.StorageURI) {
		return nil, nil, jobs.Errorf(CodeIsolationMismatch, nil,
			"storageUri %s is not in storage account %s (whose blob endpoint is %s); "+
				"give the account that holds the package in storageAccountResourceId",
			op.Request.StorageURI, acct.Name, acct.Endpoint)
	}
	srv, err := s.server(ctx, op.ServerID)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckSameCloud(srv.Cloud, acct.Cloud); err != nil {
		return nil, nil, jobs.Errorf(CodeCrossCloud, nil, "server %s and storage account %s: %s",
			srv.Name, acct.Name, err.Error())
	}
	return srv, acct, nil
}

// Hold keeps an isolated operation's job waiting until both of its
// connections are approved, creating them on the first call. Without
// isolation it checks the network rules again, since they may have
// changed while the job was queued.
func (s *Service) Hold(ctx context.Context, op *store.Operation) (time.Duration, error) {
	if op.Request.NetworkIsolation == nil {
		return 0, s.checkPublic(ctx, op)
	}
	conns, err := s.ensure(ctx, op)
	if err != nil {
		return 0, err
	}
	s.sync(conns)
	if err := s.verdict(op, conns); err != nil {
		s.cleanup(ctx, op.ID)
		return 0, err
	}
	if allApproved(conns) {
		return 0, nil
	}
	left := time.Until(conns[0].Created.Add(s.cfg.ApprovalTimeout))
	return max(min(s.cfg.HoldInterval, left), 10*time.Millisecond), nil
}

func allApproved(conns []*Connection) bool {
	for _, c := range conns {
		if c.Status != Approved || c.Deleted != nil {
			return false
		}
	}
	return len(conns) > 0
}

// verdict fails an operation whose connections were rejected or deleted,
// or which has waited longer than the approval timeout.
func (s *Service) verdict(op *store.Operation, conns []*Connection) error {
	for _, c := range conns {
		switch {
		case c.Deleted != nil:
			return jobs.Errorf(CodeDeleted, nil, "private endpoint connection %s on %s was deleted; "+
				"the job has no route to it; submit the job again", c.Name, c.Resource)
		case c.Status == Rejected:
			return jobs.Errorf(CodeRejected, nil, "private endpoint connection %s on %s was rejected "+
				"(%s); the job cannot run without it; ask the owner of %s to approve the "+
				"connection of a new job", c.Name, c.Resource, c.Description, c.Resource)
		}
	}
	if allApproved(conns) || time.Since(conns[0].Created) < s.cfg.ApprovalTimeout {
		return nil
	}
	var waiting []string
	for _, c := range conns {
		if c.Status != Approved {
			waiting = append(waiting, fmt.Sprintf("%s on %s is %s", c.Name, c.Resource, c.Status))
		}
	}
	return jobs.Errorf(CodeApprovalTimeout, nil, "the private endpoint connections were not approved "+
		"within %s (%v); the job was given up; ask the owners to approve sooner, or submit it again",
		s.cfg.ApprovalTimeout, waiting)
}

// ensure returns an operation's connections, creating them Pending the
// first time.
func (s *Service) ensure(ctx context.Context, op *store.Operation) ([]*Connection, error) {
	conns, err := connsOfOperation(ctx, s.store.Reader(), op.ID)
	if err != nil || len(conns) > 0 {
		return sortConns(conns), err
	}
	srv, acct, err := s.plan(ctx, op)
	if err != nil {
		return nil, err
	}
	storageTarget, err := blobTarget(op.Request.StorageURI)
	if err != nil {
		return nil, jobs.Errorf(jobs.CodeStorageURI, err, "storageUri has no usable address")
	}
	now := time.Now().UTC()
	name := connectionName(op.ID)
	peBase := "/subscriptions/" + op.Subscription + "/resourceGroups/" + op.ResourceGroup +
		"/providers/Microsoft.Network/privateEndpoints/" + name
	desc := fmt.Sprintf("Import/export operation %s (%s of database %s, requested by %s) asks "+
		"to reach this resource; approve to let it run", op.ID, op.Kind, op.DatabaseName, op.PrincipalName)
	conns = []*Connection{
		{ID: srv.ID + "/privateEndpointConnections/" + name, Name: name, Kind: KindServer,
			ResourceID: srv.ID, Resource: "server " + srv.Name, Target: srv.Target,
			EndpointID: peBase + "-sql"},
		{ID: acct.ID + "/privateEndpointConnections/" + name, Name: name, Kind: KindStorage,
			ResourceID: acct.ID, Resource: "storage account " + acct.Name, Target: storageTarget,
			EndpointID: peBase + "-blob"},
	}
	for _, c := range conns {
		c.OperationID, c.Subscription, c.Status, c.Description, c.Created = op.ID, op.Subscription,
			Pending, desc, now
	}
	err = s.store.InTx(ctx, func(tx *sql.Tx) error {
		for _, c := range conns {
			if err := putConn(ctx, tx, c); err != nil {
				return err
			}
			if err := refreshEmbedded(ctx, s.store, tx, c.ResourceID); err != nil {
				return err
			}
		}
		return s.noteOperation(ctx, tx, op.ID, conns, "privateEndpointsCreated", fmt.Sprintf(
			"private endpoint connections %s created Pending on %s and %s; waiting for both approvals",
			name, conns[0].Resource, conns[1].Resource))
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("private endpoint connections created", "operation", op.ID, "name", name)
	return conns, nil
}

func sortConns(conns []*Connection) []*Connection {
	slices.SortFunc(conns, func(a, b *Connection) int {
		if a.Kind == b.Kind {
			return 0
		}
		if a.Kind == KindServer {
			return -1
		}
		return 1
	})
	return conns
}

// noteOperation records the connections' states in the operation and adds
// a history entry, inside tx.
func (s *Service) noteOperation(ctx context.Context, tx *sql.Tx, opID string, conns []*Connection,
	event, msg string) error {
	op, err := s.store.GetOperationTx(ctx, tx, opID)
	if store.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	op.Endpoints = op.Endpoints[:0]
	for _, c := range sortConns(conns) {
		op.Endpoints = append(op.Endpoints, store.EndpointInfo{
			Name: c.Name, PrivateLinkServiceID: c.ResourceID, Status: string(c.Status)})
	}
	if err := s.store.UpdateOperation(ctx, tx, op); err != nil {
		return err
	}
	return s.store.AddHistory(ctx, tx, op, event, msg)
}

// sync makes the gateway's routes match the stored connections.
func (s *Service) sync(conns []*Connection) {
	for _, c := range conns {
		if c.Deleted != nil {
			s.gw.Remove(c.ID)
			continue
		}
		s.gw.Add(Route{ID: c.ID, Job: c.OperationID, Resource: c.Resource, Target: c.Target})
		if err := s.gw.Set(c.ID, c.Status); err != nil {
			s.log.Warn("private endpoint route out of step", "endpoint", c.ID, "err", err)
		}
	}
}
