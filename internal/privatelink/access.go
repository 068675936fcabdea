package privatelink

import (
	"fmt"
	"net/url"
	"strings"
)

// ServerAccess is what a SQL server's settings say about letting the
// import/export service in over the public path.
type ServerAccess struct {
	// Name is the server's name, for messages.
	Name string
	// PublicNetworkAccess is "Enabled" or "Disabled" (empty means Enabled).
	PublicNetworkAccess string
	// AllowAzureServices is true when the server has the 0.0.0.0–0.0.0.0
	// firewall rule.
	AllowAzureServices bool
}

// StorageAccess is what a storage account's network rules say.
type StorageAccess struct {
	Name string
	// DefaultAction is "Allow" or "Deny" (empty means Allow).
	DefaultAction string
	// Bypass lists the network-rule bypasses, e.g. "AzureServices".
	Bypass string
	// PublicNetworkAccess "Disabled" keeps out everything but private
	// endpoints, trusted services included.
	PublicNetworkAccess string
}

// CodeBlockedByNetworkRules is the stable error code for a job without
// network isolation that the server's or storage account's settings keep out.
const CodeBlockedByNetworkRules = "BlockedByNetworkRules"

// AccessError names the resource that keeps a job out and the setting to
// change.
type AccessError struct {
	Resource string // "server srv1" or "storage account acct"
	Setting  string
	Fix      string
}

func (e *AccessError) Error() string {
	return fmt.Sprintf("%s does not let the import/export service in: %s; %s",
		e.Resource, e.Setting, e.Fix)
}

// CheckAccess decides whether a job without network isolation may reach the
// server and the storage account. It returns nil or an *AccessError.
func CheckAccess(s ServerAccess, a StorageAccess) error {
	if strings.EqualFold(s.PublicNetworkAccess, "Disabled") {
		return &AccessError{
			Resource: "server " + s.Name,
			Setting:  "publicNetworkAccess is Disabled",
			Fix:      "enable public network access on the server, or run the job with network isolation (Private Link)",
		}
	}
	if !s.AllowAzureServices {
		return &AccessError{
			Resource: "server " + s.Name,
			Setting:  "allow Azure services is off (no 0.0.0.0-0.0.0.0 firewall rule)",
			Fix:      "add the firewall rule AllowAllWindowsAzureIps with start and end 0.0.0.0, or run the job with network isolation (Private Link)",
		}
	}
	if strings.EqualFold(a.PublicNetworkAccess, "Disabled") {
		return &AccessError{
			Resource: "storage account " + a.Name,
			Setting:  "publicNetworkAccess is Disabled",
			Fix:      "enable public network access on the storage account, or run the job with network isolation (Private Link)",
		}
	}
	if strings.EqualFold(a.DefaultAction, "Deny") && !hasBypass(a.Bypass, "AzureServices") {
		return &AccessError{
			Resource: "storage account " + a.Name,
			Setting:  "network rules deny by default and do not bypass trusted Azure services",
			Fix:      "add AzureServices to the account's network rule bypass, set its default action to Allow, or run the job with network isolation (Private Link)",
		}
	}
	return nil
}

func hasBypass(list, want string) bool {
	for _, part := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
		if strings.EqualFold(part, want) {
			return true
		}
	}
	return false
}

// Clouds bacport knows, with the blob endpoint suffix of each.
var cloudSuffixes = []struct{ cloud, suffix string }{
	{"AzureUSGovernment", ".blob.core.usgovcloudapi.net"},
	{"AzureChinaCloud", ".blob.core.chinacloudapi.cn"},
	{"AzureCloud", ".blob.core.windows.net"},
}

// DefaultCloud is the cloud of embedded resources and of endpoints whose
// host names no Azure cloud (Azurite, a local address).
const DefaultCloud = "AzureCloud"

// CloudOfEndpoint returns the cloud an external blob endpoint belongs to,
// from its host name suffix.
func CloudOfEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return DefaultCloud
	}
	host := strings.ToLower(u.Hostname())
	for _, c := range cloudSuffixes {
		if strings.HasSuffix(host, c.suffix) {
			return c.cloud
		}
	}
	return DefaultCloud
}

// CheckSameCloud refuses a job whose server and storage account live in
// different clouds, as the original service does.
func CheckSameCloud(serverCloud, storageCloud string) error {
	if serverCloud == "" {
		serverCloud = DefaultCloud
	}
	if storageCloud == "" {
		storageCloud = DefaultCloud
	}
	if !strings.EqualFold(serverCloud, storageCloud) {
		return fmt.Errorf("the server is in %s and the storage account in %s: "+
			"private link import/export needs both in the same cloud; "+
			"use a storage account in %s", serverCloud, storageCloud, serverCloud)
	}
	return nil
}
