package privatelink

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/bacport/bacport/internal/store"
)

// ARM types of the resources connections lead to.
const (
	typeServer       = "Microsoft.Sql/servers"
	typeFirewallRule = "Microsoft.Sql/servers/firewallRules"
	typeAccount      = "Microsoft.Storage/storageAccounts"
)

// server is what private link reads of a SQL server resource.
type server struct {
	ID, Name string
	Cloud    string
	Access   ServerAccess
	Target   string // gateway target of its engine
}

// account is what private link reads of a storage account resource.
type account struct {
	ID, Name string
	Cloud    string
	Endpoint string // primary blob endpoint
	Access   StorageAccess
}

func (s *Service) server(ctx context.Context, id string) (*server, error) {
	r, err := s.store.GetResource(ctx, id)
	if err != nil {
		return nil, err
	}
	var doc struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Properties struct {
			PublicNetworkAccess string `json:"publicNetworkAccess"`
			Cloud               string `json:"cloud"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(r.Doc, &doc); err != nil {
		return nil, fmt.Errorf("read server %s: %w", id, err)
	}
	_, sec, err := store.ServerEngine(r)
	if err != nil {
		return nil, err
	}
	target, err := engineTarget(sec.EngineDSN)
	if err != nil {
		return nil, fmt.Errorf("read server %s: %w", id, err)
	}
	srv := &server{ID: doc.ID, Name: doc.Name, Cloud: doc.Properties.Cloud, Target: target,
		Access: ServerAccess{Name: doc.Name, PublicNetworkAccess: doc.Properties.PublicNetworkAccess}}
	rules, err := s.store.ListChildren(ctx, doc.ID, typeFirewallRule)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		var fw struct {
			Properties struct {
				Start string `json:"startIpAddress"`
				End   string `json:"endIpAddress"`
			} `json:"properties"`
		}
		if json.Unmarshal(r.Doc, &fw) == nil &&
			fw.Properties.Start == "0.0.0.0" && fw.Properties.End == "0.0.0.0" {
			srv.Access.AllowAzureServices = true
		}
	}
	return srv, nil
}

// engineTarget is the gateway target of an engine DSN: host:port for
// network engines, "file:DIR" for the SQLite directory.
func engineTarget(dsn string) (string, error) {
	if rest, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		dir, err := url.PathUnescape(strings.TrimPrefix(rest, "//"))
		if err != nil || dir == "" {
			return "", fmt.Errorf("parse engine address: want sqlite:///path")
		}
		return "file:" + strings.TrimSuffix(dir, "/"), nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("parse engine address: malformed URL")
	}
	host, port := u.Hostname(), u.Port()
	switch u.Scheme {
	case "postgres", "postgresql":
		host, port = or(host, "localhost"), or(port, "5432")
	case "mysql", "mariadb":
		host, port = or(host, "127.0.0.1"), or(port, "3306")
	default:
		return "", fmt.Errorf("parse engine address: engine %q has no network address", u.Scheme)
	}
	return net.JoinHostPort(host, port), nil
}

// blobTarget is the host:port a blob URL is reached at.
func blobTarget(blobURL string) (string, error) {
	u, err := url.Parse(blobURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("parse storage address: %q is not a URL", blobURL)
	}
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func parseAccount(r *store.Resource) (*account, error) {
	var doc struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Properties struct {
			PrimaryEndpoints    map[string]string `json:"primaryEndpoints"`
			PublicNetworkAccess string            `json:"publicNetworkAccess"`
			Mode                string            `json:"mode"`
			Cloud               string            `json:"cloud"`
			NetworkACLs         struct {
				DefaultAction string `json:"defaultAction"`
				Bypass        string `json:"bypass"`
			} `json:"networkAcls"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(r.Doc, &doc); err != nil {
		return nil, fmt.Errorf("read storage account %s: %w", r.ID, err)
	}
	p := doc.Properties
	a := &account{ID: doc.ID, Name: doc.Name, Cloud: p.Cloud, Endpoint: p.PrimaryEndpoints["blob"],
		Access: StorageAccess{Name: doc.Name, DefaultAction: p.NetworkACLs.DefaultAction,
			Bypass: p.NetworkACLs.Bypass, PublicNetworkAccess: p.PublicNetworkAccess}}
	if p.Mode == "external" {
		// An external account's cloud is the one its endpoint names;
		// an endpoint that names none (Azurite) keeps the declared one.
		if c := CloudOfEndpoint(a.Endpoint); c != DefaultCloud || a.Cloud == "" {
			a.Cloud = c
		}
	}
	return a, nil
}

func (s *Service) account(ctx context.Context, id string) (*account, error) {
	r, err := s.store.GetResource(ctx, id)
	if err != nil {
		return nil, err
	}
	return parseAccount(r)
}

// accountOf finds the registered storage account that serves a blob URL,
// or nil when bacport knows none.
func (s *Service) accountOf(ctx context.Context, blobURL string) (*account, error) {
	list, err := s.store.ListUnder(ctx, "/", typeAccount)
	if err != nil {
		return nil, err
	}
	for _, r := range list {
		a, err := parseAccount(r)
		if err != nil {
			return nil, err
		}
		if a.serves(blobURL) {
			return a, nil
		}
	}
	return nil, nil
}

func (a *account) serves(blobURL string) bool {
	ep := strings.ToLower(strings.TrimSuffix(a.Endpoint, "/") + "/")
	return a.Endpoint != "" && strings.HasPrefix(strings.ToLower(blobURL), ep)
}

// refreshEmbedded rewrites properties.privateEndpointConnections of a
// server or storage account document from its live connections, inside
// the caller's transaction. The rest of the document is kept as it is.
func refreshEmbedded(ctx context.Context, st *store.Store, tx *sql.Tx, resourceID string) error {
	r, err := st.GetResourceTx(ctx, tx, resourceID)
	if store.IsNotFound(err) {
		return nil // the resource was deleted; nothing embeds the list
	}
	if err != nil {
		return err
	}
	conns, err := connsOfResource(ctx, tx, resourceID)
	if err != nil {
		return err
	}
	list := make([]json.RawMessage, 0, len(conns))
	for _, c := range conns {
		list = append(list, c.embedded())
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.Doc))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("read %s: %w", resourceID, err)
	}
	props, _ := doc["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		doc["properties"] = props
	}
	props["privateEndpointConnections"] = list
	data, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	r.Doc = data
	_, err = st.PutResource(ctx, tx, r)
	return err
}
