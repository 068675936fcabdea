package privatelink

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// Kinds of resource a private endpoint connection leads to.
const (
	KindServer  = "server"
	KindStorage = "storage"
)

// ARM types of the connections, as the SQL and Storage APIs name them.
const (
	TypeServerConnection  = "Microsoft.Sql/servers/privateEndpointConnections"
	TypeStorageConnection = "Microsoft.Storage/storageAccounts/privateEndpointConnections"
)

// Connection is one private endpoint connection the service created for an
// isolated operation: on its server or on its storage account.
type Connection struct {
	ID           string `json:"id"` // ARM id: {resource}/privateEndpointConnections/{name}
	Name         string `json:"name"`
	Kind         string `json:"kind"`       // KindServer or KindStorage
	ResourceID   string `json:"resourceId"` // the server or storage account
	Resource     string `json:"resource"`   // "server srv1", for messages
	OperationID  string `json:"operationId"`
	Subscription string `json:"subscription"`
	EndpointID   string `json:"privateEndpointId"` // the managed private endpoint
	Status       Status `json:"status"`
	Description  string `json:"description"`
	DecidedBy    string `json:"decidedBy,omitempty"` // who approved, rejected or deleted it
	// Target is where the gateway forwards: host:port, or "file:DIR" for
	// the embedded SQLite engine.
	Target  string     `json:"target"`
	Created time.Time  `json:"created"`
	Updated time.Time  `json:"updated"`
	Deleted *time.Time `json:"deleted,omitempty"`
	// Traffic is what went through the endpoint, recorded when it is
	// deleted.
	Traffic *Stats `json:"traffic,omitempty"`
}

// connectionName is the name of an operation's connections; the server's
// and the storage account's carry the same one.
func connectionName(opID string) string { return "importexport-" + opID }

// armState is privateLinkServiceConnectionState. SQL spells the last
// field actionsRequired, Storage actionRequired.
type armState struct {
	Status          Status `json:"status"`
	Description     string `json:"description"`
	ActionsRequired string `json:"actionsRequired,omitempty"`
	ActionRequired  string `json:"actionRequired,omitempty"`
}

type armRef struct {
	ID string `json:"id"`
}

type armProps struct {
	GroupIDs          []string `json:"groupIds,omitempty"`
	PrivateEndpoint   armRef   `json:"privateEndpoint"`
	State             armState `json:"privateLinkServiceConnectionState"`
	ProvisioningState string   `json:"provisioningState"`
	// OperationID is bacport's: the import/export operation the
	// connection was created for.
	OperationID string `json:"operationId"`
}

// ARMDoc is a connection as the SQL or Storage privateEndpointConnections
// API shows it.
type ARMDoc struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Properties armProps `json:"properties"`
}

// ARM renders the connection for a client of apiVersion. SQL clients
// before 2026-08-01-preview know the provisioning state Ready; later ones
// and Storage use Succeeded.
func (c *Connection) ARM(apiVersion string) ARMDoc {
	d := ARMDoc{ID: c.ID, Name: c.Name, Properties: armProps{
		PrivateEndpoint:   armRef{c.EndpointID},
		State:             armState{Status: c.Status, Description: c.Description},
		ProvisioningState: "Succeeded",
		OperationID:       c.OperationID,
	}}
	if c.Kind == KindServer {
		d.Type = TypeServerConnection
		d.Properties.GroupIDs = []string{"sqlServer"}
		d.Properties.State.ActionsRequired = "None"
		if apiVersion != "" && apiVersion < "2026-08-01" {
			d.Properties.ProvisioningState = "Ready"
		}
	} else {
		d.Type = TypeStorageConnection
		d.Properties.State.ActionRequired = "None"
	}
	return d
}

// embedded is the entry a server or storage account document lists in
// properties.privateEndpointConnections.
func (c *Connection) embedded() json.RawMessage {
	data, _ := json.Marshal(c.ARM(""))
	return data
}

func sameID(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/"))
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
