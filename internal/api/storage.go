package api

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/bacport/bacport/internal/auth"
	"github.com/bacport/bacport/internal/store"
)

type accountDoc struct {
	armHead
	Kind       string       `json:"kind"`
	Sku        skuDoc       `json:"sku"`
	Properties accountProps `json:"properties"`
}

type accountProps struct {
	ProvisioningState          string            `json:"provisioningState"`
	PrimaryEndpoints           map[string]string `json:"primaryEndpoints"`
	PrimaryLocation            string            `json:"primaryLocation"`
	StatusOfPrimary            string            `json:"statusOfPrimary"`
	CreationTime               string            `json:"creationTime"`
	NetworkACLs                networkACLs       `json:"networkAcls"`
	PublicNetworkAccess        string            `json:"publicNetworkAccess"`
	AllowBlobPublicAccess      bool              `json:"allowBlobPublicAccess"`
	MinimumTLSVersion          string            `json:"minimumTlsVersion"`
	SupportsHTTPSTrafficOnly   bool              `json:"supportsHttpsTrafficOnly"`
	PrivateEndpointConnections []json.RawMessage `json:"privateEndpointConnections"`
	// Mode is bacport's: "embedded" (served by bacport) or "external"
	// (registered by endpoint and credential).
	Mode  string `json:"mode"`
	Cloud string `json:"cloud"`
}

type networkACLs struct {
	DefaultAction       string            `json:"defaultAction"`
	Bypass              string            `json:"bypass"`
	IPRules             []json.RawMessage `json:"ipRules"`
	VirtualNetworkRules []json.RawMessage `json:"virtualNetworkRules"`
	ResourceAccessRules []json.RawMessage `json:"resourceAccessRules,omitempty"`
}

// accountSecret is the sealed part of a storage account.
type accountSecret struct {
	Key1        string    `json:"key1,omitempty"`
	Key2        string    `json:"key2,omitempty"`
	Key1Created time.Time `json:"key1Created"`
	Key2Created time.Time `json:"key2Created"`
	SASToken    string    `json:"sasToken,omitempty"`
}

type accountBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Kind       string            `json:"kind"`
	Sku        *skuDoc           `json:"sku"`
	Properties struct {
		NetworkACLs              *networkACLs `json:"networkAcls"`
		PublicNetworkAccess      *string      `json:"publicNetworkAccess"`
		AllowBlobPublicAccess    *bool        `json:"allowBlobPublicAccess"`
		MinimumTLSVersion        *string      `json:"minimumTlsVersion"`
		SupportsHTTPSTrafficOnly *bool        `json:"supportsHttpsTrafficOnly"`
		Cloud                    *string      `json:"cloud"`
		External                 *struct {
			BlobEndpoint string `json:"blobEndpoint"`
			AccountKey   string `json:"accountKey"`
			SASToken     string `json:"sasToken"`
		} `json:"external"`
	} `json:"properties"`
}

var accountNameRE = regexp.MustCompile(`^[a-z0-9]{3,24}$`)

func (s *Server) listAccountsInSub(c *call) {
	c.listUnder(subID(c.params[0]), typeStorageAccount)
}

func (s *Server) listAccounts(c *call) { c.listInGroup(typeStorageAccount) }

func (s *Server) getAccount(c *call) {
	c.getDoc(accountID(c.params), "ResourceNotFound", "storage account")
}

func (s *Server) putAccount(c *call) { s.writeAccount(c, false) }

func (s *Server) patchAccount(c *call) { s.writeAccount(c, true) }

// writeAccount creates an embedded account (served by bacport's blob
// server) or registers an external one (properties.external), or updates
// an account's settings.
func (s *Server) writeAccount(c *call, patch bool) {
	id := accountID(c.params)
	if !c.authorize(id, auth.Contributor) {
		return
	}
	var body accountBody
	if err := c.decode(&body); err != nil {
		c.writeError(err)
		return
	}
	name := c.params[2]
	old, ok := c.existing(id, patch, "ResourceNotFound", "storage account")
	if !ok {
		return
	}
	var doc accountDoc
	var sec accountSecret
	p := body.Properties
	if old != nil {
		json.Unmarshal(old.Doc, &doc)
		json.Unmarshal(old.Secret, &sec)
		if p.External != nil {
			c.writeError(badRequest("InvalidParameterValue", "an account's endpoint and mode cannot change; "+
				"delete and register it again"))
			return
		}
	} else {
		if !accountNameRE.MatchString(name) {
			c.writeError(badRequest("AccountNameInvalid", "storage account names are 3-24 lower-case "+
				"letters and digits"))
			return
		}
		doc = accountDoc{
			armHead: armHead{ID: id, Name: name, Type: typeStorageAccount, Location: s.location(body.Location)},
			Kind:    "StorageV2", Sku: skuDoc{Name: "Standard_LRS", Tier: "Standard"},
			Properties: accountProps{
				ProvisioningState: "Succeeded", StatusOfPrimary: "available",
				PrimaryLocation: s.location(body.Location), CreationTime: time.Now().UTC().Format(time.RFC3339Nano),
				NetworkACLs: networkACLs{DefaultAction: "Allow", Bypass: "AzureServices",
					IPRules: []json.RawMessage{}, VirtualNetworkRules: []json.RawMessage{}},
				PublicNetworkAccess: "Enabled", MinimumTLSVersion: "TLS1_2", SupportsHTTPSTrafficOnly: true,
				PrivateEndpointConnections: []json.RawMessage{}, Cloud: "AzureCloud",
			},
		}
		if err := s.newAccount(c, &doc, &sec, body); err != nil {
			c.writeError(err)
			return
		}
	}
	if body.Kind != "" {
		doc.Kind = body.Kind
	}
	if body.Sku != nil && body.Sku.Name != "" {
		doc.Sku = skuDoc{Name: body.Sku.Name, Tier: body.Sku.Tier}
		if doc.Sku.Tier == "" {
			doc.Sku.Tier = "Standard"
			if strings.HasPrefix(strings.ToLower(body.Sku.Name), "premium") {
				doc.Sku.Tier = "Premium"
			}
		}
	}
	if body.Tags != nil || !patch {
		doc.Tags = body.Tags
	}
	if n := p.NetworkACLs; n != nil {
		if n.DefaultAction != "" && !oneOf(n.DefaultAction, "Allow", "Deny") {
			c.writeError(badRequest("InvalidParameterValue", "networkAcls.defaultAction must be Allow or Deny"))
			return
		}
		acl := *n
		acl.DefaultAction = canonical(acl.DefaultAction, "Allow", "Deny")
		if acl.DefaultAction == "" {
			acl.DefaultAction = "Allow"
		}
		if acl.IPRules == nil {
			acl.IPRules = []json.RawMessage{}
		}
		if acl.VirtualNetworkRules == nil {
			acl.VirtualNetworkRules = []json.RawMessage{}
		}
		doc.Properties.NetworkACLs = acl
	}
	if v := p.PublicNetworkAccess; v != nil {
		doc.Properties.PublicNetworkAccess = canonical(*v, "Enabled", "Disabled")
	}
	if v := p.AllowBlobPublicAccess; v != nil {
		doc.Properties.AllowBlobPublicAccess = *v
	}
	if v := p.MinimumTLSVersion; v != nil {
		doc.Properties.MinimumTLSVersion = *v
	}
	if v := p.SupportsHTTPSTrafficOnly; v != nil {
		doc.Properties.SupportsHTTPSTrafficOnly = *v
	}
	if v := p.Cloud; v != nil && old == nil {
		doc.Properties.Cloud = *v
	}

	err := s.cfg.Store.InTx(c.ctx(), func(tx *sql.Tx) error {
		if err := s.ensureGroup(c.ctx(), tx, c.params[0], c.params[1], doc.Location); err != nil {
			return err
		}
		_, err := s.putDoc(c.ctx(), tx, id, rgID(c.params[0], c.params[1]), &doc, &sec)
		return err
	})
	if err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(http.StatusOK, &doc)
}

func (s *Server) newAccount(c *call, doc *accountDoc, sec *accountSecret, body accountBody) error {
	name := doc.Name
	others, err := s.cfg.Store.ListUnder(c.ctx(), "/", typeStorageAccount)
	if err != nil {
		return err
	}
	for _, o := range others {
		var h armHead
		json.Unmarshal(o.Doc, &h)
		if strings.EqualFold(h.Name, name) {
			return errorf(http.StatusConflict, "StorageAccountAlreadyTaken",
				"the storage account name "+name+" is already taken by "+o.ID+"; choose another")
		}
	}
	now := time.Now().UTC()
	if ext := body.Properties.External; ext != nil {
		u, err := url.Parse(ext.BlobEndpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return badRequest("InvalidParameterValue", "properties.external.blobEndpoint must be an "+
				"http(s) URL such as https://account.blob.core.windows.net/")
		}
		if ext.AccountKey == "" && ext.SASToken == "" {
			return badRequest("InvalidParameterValue", "properties.external needs accountKey or sasToken")
		}
		if ext.AccountKey != "" {
			if _, err := base64.StdEncoding.DecodeString(ext.AccountKey); err != nil {
				return badRequest("InvalidParameterValue", "properties.external.accountKey must be base64")
			}
		}
		sec.Key1, sec.Key1Created, sec.SASToken = ext.AccountKey, now, ext.SASToken
		doc.Properties.Mode = "external"
		doc.Properties.PrimaryEndpoints = map[string]string{"blob": strings.TrimSuffix(ext.BlobEndpoint, "/") + "/"}
		return nil
	}
	if s.cfg.Accounts == nil {
		return badRequest("EmbeddedStorageUnavailable", "this bacport serves no embedded storage; "+
			"register an external account with properties.external")
	}
	k1, k2 := newAccountKey(), newAccountKey()
	if err := s.cfg.Accounts.SetAccount(name, k1, k2); err != nil {
		return err
	}
	sec.Key1, sec.Key2 = base64.StdEncoding.EncodeToString(k1), base64.StdEncoding.EncodeToString(k2)
	sec.Key1Created, sec.Key2Created = now, now
	doc.Properties.Mode = "embedded"
	doc.Properties.PrimaryEndpoints = map[string]string{"blob": strings.TrimSuffix(s.cfg.Accounts.AccountURL(name), "/") + "/"}
	return nil
}

func newAccountKey() []byte {
	b := make([]byte, 64)
	rand.Read(b)
	return b
}

func (s *Server) deleteAccount(c *call) {
	id := accountID(c.params)
	if !c.authorize(id, auth.Contributor) {
		return
	}
	r, err := s.cfg.Store.GetResource(c.ctx(), id)
	if errors.Is(err, store.ErrNotFound) {
		c.noContent()
		return
	}
	if err != nil {
		c.writeError(err)
		return
	}
	var doc accountDoc
	json.Unmarshal(r.Doc, &doc)
	if doc.Properties.Mode == "embedded" && s.cfg.Accounts != nil {
		if err := s.cfg.Accounts.RemoveAccount(doc.Name); err != nil {
			c.writeError(err)
			return
		}
	}
	if err := s.cfg.Store.DeleteResource(c.ctx(), s.cfg.Store.Writer(), id); err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(http.StatusOK, struct{}{})
}

type keyDoc struct {
	KeyName      string `json:"keyName"`
	Value        string `json:"value"`
	Permissions  string `json:"permissions"`
	CreationTime string `json:"creationTime"`
}

func keysOf(sec accountSecret) map[string][]keyDoc {
	keys := []keyDoc{}
	if sec.Key1 != "" {
		keys = append(keys, keyDoc{"key1", sec.Key1, "Full", sec.Key1Created.Format(time.RFC3339Nano)})
	}
	if sec.Key2 != "" {
		keys = append(keys, keyDoc{"key2", sec.Key2, "Full", sec.Key2Created.Format(time.RFC3339Nano)})
	}
	return map[string][]keyDoc{"keys": keys}
}

// listKeys is the one call that returns secrets, to Contributors, as Azure
// does.
func (s *Server) listKeys(c *call) {
	id := accountID(c.params)
	if !c.authorize(id, auth.Contributor) {
		return
	}
	r, err := c.getResource(id, "ResourceNotFound", "storage account")
	if err != nil {
		c.writeError(err)
		return
	}
	var sec accountSecret
	json.Unmarshal(r.Secret, &sec)
	c.writeJSON(http.StatusOK, keysOf(sec))
}

func (s *Server) regenerateKey(c *call) {
	id := accountID(c.params)
	if !c.authorize(id, auth.Contributor) {
		return
	}
	var body struct {
		KeyName string `json:"keyName"`
	}
	if err := c.decode(&body); err != nil {
		c.writeError(err)
		return
	}
	r, err := c.getResource(id, "ResourceNotFound", "storage account")
	if err != nil {
		c.writeError(err)
		return
	}
	var doc accountDoc
	var sec accountSecret
	json.Unmarshal(r.Doc, &doc)
	json.Unmarshal(r.Secret, &sec)
	if doc.Properties.Mode != "embedded" || s.cfg.Accounts == nil {
		c.writeError(badRequest("OperationNotSupported", "keys of an external account are regenerated "+
			"at its provider; register the account again with the new key"))
		return
	}
	now := time.Now().UTC()
	switch strings.ToLower(body.KeyName) {
	case "key1":
		sec.Key1, sec.Key1Created = base64.StdEncoding.EncodeToString(newAccountKey()), now
	case "key2":
		sec.Key2, sec.Key2Created = base64.StdEncoding.EncodeToString(newAccountKey()), now
	default:
		c.writeError(badRequest("InvalidParameterValue", "keyName must be key1 or key2"))
		return
	}
	k1, _ := base64.StdEncoding.DecodeString(sec.Key1)
	k2, _ := base64.StdEncoding.DecodeString(sec.Key2)
	if err := s.cfg.Accounts.SetAccount(doc.Name, k1, k2); err != nil {
		c.writeError(err)
		return
	}
	if _, err := s.putDoc(c.ctx(), s.cfg.Store.Writer(), id, r.Parent, &doc, &sec); err != nil {
		c.writeError(err)
		return
	}
	c.writeJSON(http.StatusOK, keysOf(sec))
}

// RestoreAccounts registers every embedded account of the store with the
// blob server, so accounts and keys (kept sealed in the store) survive
// restarts.
func (s *Server) RestoreAccounts(ctx context.Context) error {
	if s.cfg.Accounts == nil {
		return nil
	}
	list, err := s.cfg.Store.ListUnder(ctx, "/", typeStorageAccount)
	if err != nil {
		return err
	}
	for _, r := range list {
		var doc accountDoc
		var sec accountSecret
		json.Unmarshal(r.Doc, &doc)
		json.Unmarshal(r.Secret, &sec)
		if doc.Properties.Mode != "embedded" {
			continue
		}
		k1, _ := base64.StdEncoding.DecodeString(sec.Key1)
		k2, _ := base64.StdEncoding.DecodeString(sec.Key2)
		if err := s.cfg.Accounts.SetAccount(doc.Name, k1, k2); err != nil {
			return err
		}
	}
	return nil
}

// StorageCredential returns how to reach the storage account that serves
// a blob URL, when bacport knows the account, for components (like
// private link) that must map storage URIs to accounts.
func (s *Server) StorageAccountFor(ctx context.Context, blobURL string) (*store.Resource, error) {
	list, err := s.cfg.Store.ListUnder(ctx, "/", typeStorageAccount)
	if err != nil {
		return nil, err
	}
	for _, r := range list {
		var doc accountDoc
		json.Unmarshal(r.Doc, &doc)
		ep := doc.Properties.PrimaryEndpoints["blob"]
		if ep != "" && strings.HasPrefix(strings.ToLower(blobURL), strings.ToLower(ep)) {
			return r, nil
		}
	}
	return nil, store.ErrNotFound
}
