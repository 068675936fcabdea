package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// apiVersion is the api-version the client sends; bacport accepts any.
const apiVersion = "2026-08-01-preview"

// apiClient calls a bacport server's HTTP API with the profile's token.
type apiClient struct {
	profile Profile
	http    *http.Client
}

func newAPIClient(p Profile) (*apiClient, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if p.CAFile != "" {
		pem, err := os.ReadFile(p.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read the server certificate to trust: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read the server certificate %s: no PEM certificate in it", p.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &apiClient{profile: p, http: &http.Client{Transport: tr, Timeout: 5 * time.Minute}}, nil
}

// apiError is an ARM error envelope turned into one line a user can act on.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("the server answered %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// url builds an absolute URL for a path under the endpoint, adding the
// api-version unless the path already carries a query (as polling links do).
func (c *apiClient) url(path string) string {
	if strings.HasPrefix(path, "https://") || strings.HasPrefix(path, "http://") {
		return path
	}
	u := strings.TrimRight(c.profile.Endpoint, "/") + path
	if !strings.Contains(path, "api-version=") {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		u += sep + "api-version=" + url.QueryEscape(apiVersion)
	}
	return u
}

// newRequest builds an authenticated request for path.
func (c *apiClient) newRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path), rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.profile.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.profile.Token)
	}
	return req, nil
}

// do sends a request and decodes a JSON answer into out (when not nil). It
// returns the response headers and status for callers that poll.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) (http.Header, int, error) {
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, c.reachError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return resp.Header, resp.StatusCode, readAPIError(resp)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.Header, resp.StatusCode, fmt.Errorf("read the answer of %s %s: %w", method, path, err)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			err = fmt.Errorf("decode the answer of %s %s: %w", method, path, err)
			return resp.Header, resp.StatusCode, err
		}
	}
	return resp.Header, resp.StatusCode, nil
}

// reachError explains a request that got no answer, with what to do.
func (c *apiClient) reachError(err error) error {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &hostname),
		errors.As(err, &verify):
		return fmt.Errorf("the certificate of %s is not trusted: log in again with `bacport login "+
			"--data-dir DIR` or `bacport login --endpoint URL --ca-file CERT.pem` (%v)",
			c.profile.Endpoint, err)
	case errors.Is(err, context.Canceled):
		return err
	}
	return fmt.Errorf("cannot reach bacport at %s: start it with `bacport serve`, or point the profile "+
		"at the right endpoint with `bacport login` (%v)", c.profile.Endpoint, unwrapURLError(err))
}

// unwrapURLError drops net/http's "Get URL:" prefix, which repeats the
// endpoint.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// readAPIError reads an error answer.
func readAPIError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return decodeAPIError(resp, data)
}

func decodeAPIError(resp *http.Response, data []byte) error {
	e := &apiError{Status: resp.StatusCode, Code: resp.Header.Get("x-ms-error-code")}
	var env struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &env) == nil {
		switch {
		case env.Error != nil:
			e.Code, e.Message = firstNonEmpty(env.Error.Code, e.Code), env.Error.Message
		default:
			e.Code, e.Message = firstNonEmpty(env.Code, e.Code), env.Message
		}
	}
	if e.Message == "" && !strings.HasPrefix(strings.TrimSpace(string(data)), "<") {
		e.Message = strings.TrimSpace(string(data))
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	e.Message = oneLine(e.Message)
	if hint := hintFor(e); hint != "" {
		e.Message += " (" + hint + ")"
	}
	return e
}

// hintFor adds the CLI command that helps with an API error, where the
// server's message speaks only of the API.
func hintFor(e *apiError) string {
	switch e.Code {
	case "AuthenticationFailed":
		return "log in again with `bacport login --data-dir DIR` or " +
			"`bacport login --endpoint URL --token TOKEN`"
	case "ResourceGroupNotFound":
		return "see the groups with `bacport group list`"
	case "ResourceNotFound":
		switch {
		case strings.Contains(e.Message, "server was not found"):
			return "see the servers with `bacport sql server list`"
		case strings.Contains(e.Message, "storage account was not found"):
			return "see the accounts with `bacport storage account list`"
		}
	case "DatabaseDoesNotExist":
		return "see the databases with `bacport sql db list -g GROUP -s SERVER`"
	case "ImportExportOperationIdNotFound":
		return "see the server's requests with `bacport sql server import-export-history -g GROUP -s SERVER`"
	}
	if e.Status == http.StatusUnauthorized {
		return "log in again with `bacport login`"
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// subscription returns the subscription to use: the flag, else the
// profile's default.
func (c *apiClient) subscription(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if c.profile.Subscription != "" {
		return c.profile.Subscription, nil
	}
	return "", usageError{fmt.Errorf("no subscription: pass --subscription or log in to a server that has a default")}
}
