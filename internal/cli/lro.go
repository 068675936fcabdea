package cli

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// asyncStatus is the Azure-AsyncOperation status document.
type asyncStatus struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// putAndWait sends a PUT, PATCH or DELETE that may be a long-running
// operation, waits for it and, except after a DELETE, returns the resource
// as the server then holds it.
func (c *apiClient) putAndWait(ctx context.Context, method, path string, body any, out any) error {
	h, code, err := c.do(ctx, method, path, body, out)
	if err != nil {
		return err
	}
	if code != http.StatusAccepted && code != http.StatusCreated {
		return nil
	}
	async := h.Get("Azure-AsyncOperation")
	if async == "" {
		if code == http.StatusCreated {
			return nil
		}
		return fmt.Errorf("the server accepted %s %s without a status link", method, path)
	}
	if err := c.waitAsync(ctx, async, retryAfter(h)); err != nil {
		return err
	}
	if method == "DELETE" {
		return nil
	}
	_, _, err = c.do(ctx, "GET", path, nil, out)
	return err
}

// waitAsync polls an Azure-AsyncOperation link until it is terminal.
func (c *apiClient) waitAsync(ctx context.Context, link string, wait time.Duration) error {
	for {
		var st asyncStatus
		h, _, err := c.do(ctx, "GET", link, nil, &st)
		if err != nil {
			return err
		}
		switch strings.ToLower(st.Status) {
		case "succeeded", "completed":
			return nil
		case "failed", "canceled", "cancelled":
			if st.Error != nil {
				return &apiError{Code: st.Error.Code, Message: st.Error.Message}
			}
			return fmt.Errorf("the operation ended %s", st.Status)
		}
		if d := retryAfter(h); d > 0 {
			wait = d
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// retryAfter reads Retry-After-Ms or Retry-After, capped so a client never
// sleeps long on a local server.
func retryAfter(h http.Header) time.Duration {
	d := time.Second
	if ms, err := strconv.Atoi(h.Get("Retry-After-Ms")); err == nil {
		d = time.Duration(ms) * time.Millisecond
	} else if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil {
		d = time.Duration(s) * time.Second
	}
	return min(max(d, 200*time.Millisecond), 5*time.Second)
}
